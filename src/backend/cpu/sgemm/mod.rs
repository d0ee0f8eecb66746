//! Single-precision GEMM on packed operands with a fused output stage: `C = A·B (+ bias)
//! (+ residual)`, clamped. Convolutions hold their weights as a pre-packed `A` (packed when the
//! engine is compiled) and pack their im2col matrix straight into `B` panels; matrix products
//! with constant weights hold a pre-packed `B`.
//!
//! ```text
//!  tasks over (row panels × column panels) in parallel
//!    for each chunk of column panels (its B block ≤ B_BLOCK bytes per k block)
//!      for each k block (≤ KC steps)        ─ C accumulates across blocks
//!        [pack the chunk's B block]; for each row panel p: for each column panel q:
//!        kernel::tile(A panel p, B panel q) ─► C tile (bias, residual, clamp on the last block)
//! ```

mod kernel;
mod pack;

pub use kernel::{MR, NR};
pub use pack::{PackedA, PackedB};

use std::cell::RefCell;

use crate::error::{Error, Result};
use kernel::{Post, Store};
use rayon::prelude::*;

/// Most k steps per block: an A micro-panel of `MR · KC` floats (12 KiB) stays in L1 while it
/// meets every B panel of a chunk. (256 to 1024 measured on ResNet-50: 512 and up are equal and
/// 5 % faster than 128.)
const KC: usize = 512;
/// Bytes of packed B one task keeps hot per k block (half of a 1 MiB L2; the rest holds A).
const B_BLOCK: usize = 256 << 10;
/// Below this many multiply-adds the product runs on the calling thread.
const PAR_MIN_FLOPS: usize = 1 << 17;

/// The bias of a product: one value per row of `C` (a convolution's output channel) or per
/// column (a dense layer's output feature).
#[derive(Clone, Copy)]
pub enum Bias<'a> {
    None,
    PerRow(&'a [f32]),
    PerCol(&'a [f32]),
}

/// Row filler of a `B` given row by row: `fill(k, n0, dst)` writes columns `n0 .. n0 + dst.len()`
/// of row `k`.
pub type FillRows<'a> = &'a (dyn Fn(usize, usize, &mut [f32]) + Sync);

/// The right-hand operand.
#[derive(Clone, Copy)]
pub enum Rhs<'a> {
    /// Packed once (constant weights).
    Packed(&'a PackedB),
    /// Given row by row and packed one column panel at a time, right before the tiles that use
    /// it, so the packed copy never leaves the cache (activations, im2col matrices).
    Rows {
        k: usize,
        n: usize,
        fill: FillRows<'a>,
    },
}

impl Rhs<'_> {
    fn dims(&self) -> (usize, usize) {
        match self {
            Rhs::Packed(b) => (b.k, b.n),
            Rhs::Rows { k, n, .. } => (*k, *n),
        }
    }
}

thread_local! {
    /// The column panel a task packs, reused across calls (a fresh one would be page-faulted in).
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The output stage applied as `C` is written.
#[derive(Clone, Copy)]
pub struct Output<'a> {
    pub bias: Bias<'a>,
    /// Added elementwise; laid out as `C` (same row stride).
    pub residual: Option<&'a [f32]>,
    /// Clamp bounds (`-inf, inf` for none).
    pub lo: f32,
    pub hi: f32,
}

impl Output<'_> {
    /// No bias, no residual, no clamp.
    pub fn plain() -> Output<'static> {
        Output {
            bias: Bias::None,
            residual: None,
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
        }
    }
}

/// A raw pointer the parallel tasks share; each writes a disjoint set of `C` tiles.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint tiles (distinct row-panel × column-panel pairs), and the pointer
// outlives the parallel loop, which `gemm` joins before returning.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// (A method, so closures capture the wrapper rather than its raw-pointer field.)
    fn at(&self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// Whether `rows × cols` with row stride `ld` fits in `len` values.
fn fits(len: usize, rows: usize, cols: usize, ld: usize) -> bool {
    rows == 0
        || cols == 0
        || (ld >= cols
            && (rows - 1)
                .checked_mul(ld)
                .and_then(|x| x.checked_add(cols))
                .is_some_and(|end| end <= len))
}

/// `C (m × n, row stride ldc) = A·B` with `out`'s output stage. Every extent is checked here,
/// before any kernel runs.
pub fn gemm(a: &PackedA, b: Rhs, c: &mut [f32], ldc: usize, out: &Output) -> Result<()> {
    gemm_with(kernel::best(), a, b, c, ldc, out)
}

fn gemm_with(
    kernels: kernel::Kernels,
    a: &PackedA,
    b: Rhs,
    c: &mut [f32],
    ldc: usize,
    out: &Output,
) -> Result<()> {
    let (m, k) = (a.m, a.k);
    let (bk, n) = b.dims();
    if bk != k {
        return Err(Error::Shape(format!(
            "packed product of {m}x{k} and {bk}x{n}"
        )));
    }
    if !fits(c.len(), m, n, ldc) {
        return Err(Error::Shape(format!(
            "output buffer of {} too small for {m}x{n} (ldc {ldc})",
            c.len()
        )));
    }
    match out.bias {
        Bias::PerRow(v) if v.len() < m => {
            return Err(Error::Shape(format!("{} biases for {m} rows", v.len())))
        }
        Bias::PerCol(v) if v.len() < n => {
            return Err(Error::Shape(format!("{} biases for {n} columns", v.len())))
        }
        _ => {}
    }
    if let Some(r) = out.residual {
        if !fits(r.len(), m, n, ldc) {
            return Err(Error::Shape(format!(
                "residual of {} values for a {m}x{n} output",
                r.len()
            )));
        }
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let (np, nq) = (a.panels(), n.div_ceil(NR));
    let blocks = k.div_ceil(KC).max(1);
    let kc = k.div_ceil(blocks);
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && m * n * k >= PAR_MIN_FLOPS;
    // Column panels split first (each B panel is packed, or read, by one task); row panels split
    // as well when there are too few column panels to keep every thread busy.
    let tasks = if parallel { 4 * threads } else { 1 };
    let q_split = nq.min(tasks);
    let p_split = tasks.div_ceil(q_split).min(np);
    let (q_step, p_step) = (nq.div_ceil(q_split), np.div_ceil(p_split));
    let shared = SharedOut(c.as_mut_ptr());
    // Each task runs every k block of its own tiles, so one fork-join covers the whole product.
    // Per task: column panels in chunks of `chunk`; per chunk and k block, the B block
    // (kc × chunk panels, ≤ B_BLOCK bytes) stays in L2 while each A micro-panel (MR × kc, in L1)
    // meets every panel of the chunk. A is read from memory once per chunk, not once per panel.
    let chunk = (B_BLOCK / (kc.max(1) * NR * 4)).max(1);
    let run = |t: usize, scratch: &mut Vec<f32>| {
        let (qi, pi) = (t % q_split, t / q_split);
        let qs = qi * q_step..((qi + 1) * q_step).min(nq);
        let ps = pi * p_step..((pi + 1) * p_step).min(np);
        for q0 in qs.clone().step_by(chunk) {
            let chunk = q0..(q0 + chunk).min(qs.end);
            for blk in 0..blocks {
                let k0 = blk * kc;
                let kn = kc.min(k - k0);
                let last = blk + 1 == blocks;
                // Panel q of the block starts at bp[q - q0], each k step NR values on.
                let block: &[f32] = match b {
                    Rhs::Packed(_) => &[],
                    Rhs::Rows { fill, .. } => {
                        let dst = pack::aligned(scratch, chunk.len() * kn * NR);
                        for (i, q) in chunk.clone().enumerate() {
                            let panel = &mut dst[i * kn * NR..(i + 1) * kn * NR];
                            pack::pack_panel(k0..k0 + kn, n, q, fill, panel);
                        }
                        dst
                    }
                };
                for p in ps.clone() {
                    let ap = a.panel_from(p, k0).as_ptr();
                    for q in chunk.clone() {
                        let bp = match b {
                            Rhs::Packed(b) => b.panel_from(q, k0).as_ptr(),
                            Rhs::Rows { .. } => block[(q - q0) * kn * NR..].as_ptr(),
                        };
                        let (r0, c0) = (p * MR, q * NR);
                        let post = last.then(|| Post {
                            bias_row: match out.bias {
                                Bias::PerRow(v) => v[r0..].as_ptr(),
                                _ => std::ptr::null(),
                            },
                            bias_col: match out.bias {
                                Bias::PerCol(v) => v[c0..].as_ptr(),
                                _ => std::ptr::null(),
                            },
                            residual: out
                                .residual
                                .map_or(std::ptr::null(), |r| r[r0 * ldc + c0..].as_ptr()),
                            ldr: ldc,
                            lo: out.lo,
                            hi: out.hi,
                        });
                        let s = Store {
                            c: shared.at(r0 * ldc + c0),
                            ldc,
                            rows: MR.min(m - r0),
                            cols: NR.min(n - c0),
                            accumulate: blk > 0,
                            post,
                        };
                        let kernel = kernels[s.cols.div_ceil(16) - 1];
                        // SAFETY: both panels hold `kn` k steps (k0 + kn ≤ k); the tile at
                        // (r0, c0) of rows × cols lies inside C, the bias and the residual, all
                        // checked above; no other task writes this tile.
                        unsafe { kernel(kn, ap, bp, &s) };
                    }
                }
            }
        }
    };
    let count = q_split * p_split;
    let with_panel = |t: usize| PANEL.with(|p| run(t, &mut p.borrow_mut()));
    if parallel {
        (0..count).into_par_iter().for_each(with_panel);
    } else {
        (0..count).for_each(with_panel);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
