//! The micro-kernel: one `MR × NR` tile of `C` from an `MR`-row panel of `A` and an `NR`-column
//! panel of `B` (both packed, k-major), with the output stage folded into the store while the
//! tile is still in registers: `+ C` (when accumulating over k blocks), then on the last k block
//! the bias (per row or per column), `+ residual`, and a clamp (Relu, Relu6, Clip).
//!
//! Written by hand with `std::arch` because no GEMM crate takes pre-packed operands or runs an
//! output stage inside its kernel; the `gemm` crate needs both operands unpacked and a separate
//! pass over `C` for bias and activation, which costs more than the product on the small-K,
//! large-N matrices of pointwise convolutions.

/// Rows of a tile (one broadcast of `A` each per k step).
pub const MR: usize = 6;
/// Columns of a tile: four 16-lane AVX-512 vectors. With six rows that is 24 accumulators, four
/// loads of `B` and six broadcasts of `A` per 24 FMAs: the most work per load that fits the 32
/// vector registers.
pub const NR: usize = 64;

/// What the store does besides writing the product. Pointers are valid for the tile's extent
/// (the driver checks every extent before building one).
#[derive(Clone, Copy)]
pub struct Store {
    pub c: *mut f32,
    pub ldc: usize,
    /// Valid rows (≤ MR) and columns (≤ NR) of this tile.
    pub rows: usize,
    pub cols: usize,
    /// Add the tile to what `c` holds (every k block after the first).
    pub accumulate: bool,
    /// The output stage, on the last k block only.
    pub post: Option<Post>,
}

/// The output stage of one tile, after the product: bias, residual, clamp.
#[derive(Clone, Copy)]
pub struct Post {
    /// One value per row of the tile (`rows` of them), or null.
    pub bias_row: *const f32,
    /// One value per column of the tile (`cols` of them), or null.
    pub bias_col: *const f32,
    /// A tile of the residual laid out as `c` with row stride `ldr`, or null.
    pub residual: *const f32,
    pub ldr: usize,
    /// `min(max(v, lo), hi)`; NaN passes through, as Clip and Relu specify.
    pub lo: f32,
    pub hi: f32,
}

/// A kernel: `kc` k steps over packed panels `a` (`kc · MR`) and `b` (`kc · NR`).
pub type Kernel = unsafe fn(kc: usize, a: *const f32, b: *const f32, s: &Store);

/// Kernels by tile width: entry `v` computes only the first `16 · (v + 1)` columns, so the last
/// column panel of a matrix whose width is not a multiple of `NR` does not pay for a full tile.
pub type Kernels = [Kernel; NR / 16];

/// The fastest kernels this CPU runs.
pub fn best() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return [
                avx512::tile::<1>,
                avx512::tile::<2>,
                avx512::tile::<3>,
                avx512::tile::<4>,
            ];
        }
    }
    [portable; NR / 16]
}

/// The clamp as written for `max(lo, v)` / `min(hi, v)` so that a NaN `v` comes out as NaN.
#[inline(always)]
fn clamp(v: f32, lo: f32, hi: f32) -> f32 {
    let v = if v < lo { lo } else { v };
    if v > hi {
        hi
    } else {
        v
    }
}

/// Any CPU: a plain-Rust tile the compiler vectorizes for the baseline target.
///
/// # Safety
/// `a` holds `kc · MR` and `b` `kc · NR` readable values; `s` addresses a valid tile.
pub unsafe fn portable(kc: usize, a: *const f32, b: *const f32, s: &Store) {
    let mut acc = [[0f32; NR]; MR];
    for k in 0..kc {
        let av = std::slice::from_raw_parts(a.add(k * MR), MR);
        let bv = std::slice::from_raw_parts(b.add(k * NR), NR);
        for (row, &x) in acc.iter_mut().zip(av) {
            for (c, &y) in row.iter_mut().zip(bv) {
                *c += x * y;
            }
        }
    }
    for (r, row) in acc.iter().enumerate().take(s.rows) {
        let out = std::slice::from_raw_parts_mut(s.c.add(r * s.ldc), s.cols);
        for (j, o) in out.iter_mut().enumerate() {
            let mut v = row[j];
            if s.accumulate {
                v += *o;
            }
            if let Some(p) = &s.post {
                if !p.bias_row.is_null() {
                    v += *p.bias_row.add(r);
                }
                if !p.bias_col.is_null() {
                    v += *p.bias_col.add(j);
                }
                if !p.residual.is_null() {
                    v += *p.residual.add(r * p.ldr + j);
                }
                v = clamp(v, p.lo, p.hi);
            }
            *o = v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Store, MR, NR};
    const _: () = assert!(NR == 64, "the kernel table below has four widths");
    use std::arch::x86_64::*;

    /// Lane masks of the vectors of a tile row with `cols` valid columns.
    #[inline(always)]
    fn masks<const NV: usize>(cols: usize) -> [__mmask16; NV] {
        let mut m = [0 as __mmask16; NV];
        for (v, mask) in m.iter_mut().enumerate() {
            let n = cols.saturating_sub(16 * v);
            *mask = if n >= 16 {
                0xFFFF
            } else {
                ((1u32 << n) - 1) as __mmask16
            };
        }
        m
    }

    /// The first `16 · NV` columns of a tile (`s.cols` must not exceed them).
    ///
    /// # Safety
    /// As [`super::portable`], on a CPU with AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile<const NV: usize>(kc: usize, a: *const f32, b: *const f32, s: &Store) {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for k in 0..kc {
            let bk = b.add(k * NR);
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(bk.add(16 * v));
            }
            let ak = a.add(k * MR);
            for (r, row) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*ak.add(r));
                for (c, &y) in row.iter_mut().zip(&bv) {
                    *c = _mm512_fmadd_ps(x, y, *c);
                }
            }
        }
        let m = masks::<NV>(s.cols);
        for (r, row) in acc.iter().enumerate() {
            if r >= s.rows {
                break;
            }
            let p = s.c.add(r * s.ldc);
            for (v, &mv) in m.iter().enumerate() {
                if mv == 0 {
                    break;
                }
                let mut x = row[v];
                let at = 16 * v;
                if s.accumulate {
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mv, p.wrapping_add(at)));
                }
                if let Some(post) = &s.post {
                    if !post.bias_row.is_null() {
                        x = _mm512_add_ps(x, _mm512_set1_ps(*post.bias_row.add(r)));
                    }
                    if !post.bias_col.is_null() {
                        let q = post.bias_col.wrapping_add(at);
                        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mv, q));
                    }
                    if !post.residual.is_null() {
                        let q = post.residual.wrapping_add(r * post.ldr + at);
                        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mv, q));
                    }
                    // max/min return their second operand when either is NaN: x second keeps NaN.
                    x = _mm512_max_ps(_mm512_set1_ps(post.lo), x);
                    x = _mm512_min_ps(_mm512_set1_ps(post.hi), x);
                }
                _mm512_mask_storeu_ps(p.wrapping_add(at), mv, x);
            }
        }
    }
}
