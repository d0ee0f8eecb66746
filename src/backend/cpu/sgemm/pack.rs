//! Packed operands: `A` cut into `MR`-row panels and `B` into `NR`-column panels, each panel
//! k-major (the values one k step of the micro-kernel reads are adjacent) and zero-padded to a
//! whole panel, so the kernel never branches on edges while it multiplies. Weights are packed
//! once when the engine is compiled; activations per call, into pooled buffers.

use super::kernel::{MR, NR};
use crate::backend::cpu::buffers;
use crate::backend::cpu::ops::gemm::MatRef;
use rayon::prelude::*;

/// Below this many packed values a pack runs on one thread.
const PAR_MIN: usize = 1 << 15;

/// `A` (`m × k`) as `ceil(m / MR)` panels of `k · MR` values.
pub struct PackedA {
    pub m: usize,
    pub k: usize,
    data: Vec<f32>,
}

/// `B` (`k × n`) as `ceil(n / NR)` panels of `k · NR` values, from `data[start..]` (aligned to a
/// cache line: the kernel's full-width loads of `B` would otherwise each straddle two lines).
pub struct PackedB {
    pub k: usize,
    pub n: usize,
    data: Vec<f32>,
    start: usize,
}

/// Floats per 64-byte cache line.
const LINE: usize = 16;

/// `len` values of `v` starting at a cache-line boundary (`v` grows as needed).
pub fn aligned(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len + LINE {
        v.resize(len + LINE, 0.0);
    }
    let start = v.as_ptr().align_offset(64).min(LINE - 1);
    &mut v[start..start + len]
}

impl PackedA {
    /// Packs any strided view (weights: row-major; activations: as they come).
    pub fn new(a: MatRef<f32>) -> PackedA {
        let (m, k) = (a.rows, a.cols);
        let mut data = buffers::take::<f32>(m.div_ceil(MR) * MR * k);
        let fill = |(p, panel): (usize, &mut [f32])| {
            for (kk, step) in panel.chunks_exact_mut(MR).enumerate() {
                for (r, v) in step.iter_mut().enumerate() {
                    let i = p * MR + r;
                    *v = if i < m {
                        a.data[i * a.rs + kk * a.cs]
                    } else {
                        0.0
                    };
                }
            }
        };
        if k > 0 {
            if data.len() >= PAR_MIN {
                data.par_chunks_mut(k * MR).enumerate().for_each(fill);
            } else {
                data.chunks_mut(k * MR).enumerate().for_each(fill);
            }
        }
        PackedA { m, k, data }
    }

    pub fn panels(&self) -> usize {
        self.m.div_ceil(MR)
    }

    /// Panel `p` from k step `k0` on.
    pub fn panel_from(&self, p: usize, k0: usize) -> &[f32] {
        &self.data[(p * self.k + k0) * MR..(p + 1) * self.k * MR]
    }

    /// Hands the buffer to the activation pool (for operands packed per call).
    pub fn release(self) {
        buffers::give_back(self.data);
    }
}

impl PackedB {
    /// Packs a strided view (constant weights, once, when the engine is compiled).
    pub fn new(b: MatRef<f32>) -> PackedB {
        let (k, n) = (b.rows, b.cols);
        let fill = |kk: usize, n0: usize, dst: &mut [f32]| {
            for (j, v) in dst.iter_mut().enumerate() {
                *v = b.data[kk * b.rs + (n0 + j) * b.cs];
            }
        };
        let len = n.div_ceil(NR) * NR * k;
        let mut data = vec![0f32; len + LINE];
        let panels = aligned(&mut data, len);
        if k > 0 && n > 0 {
            let task = |(q, panel): (usize, &mut [f32])| pack_panel(0..k, n, q, &fill, panel);
            if len >= PAR_MIN {
                panels.par_chunks_mut(k * NR).enumerate().for_each(task);
            } else {
                panels.chunks_mut(k * NR).enumerate().for_each(task);
            }
        }
        let start = data.as_ptr().align_offset(64).min(LINE - 1);
        PackedB { k, n, data, start }
    }

    /// Panel `q` from k step `k0` on.
    pub fn panel_from(&self, q: usize, k0: usize) -> &[f32] {
        &self.data[self.start..][(q * self.k + k0) * NR..(q + 1) * self.k * NR]
    }
}

/// Packs rows `rows` of column panel `q` of a matrix `n` wide, given row by row, into `dst`
/// (`rows.len() · NR` values), zero beyond column `n`.
pub fn pack_panel(
    rows: std::ops::Range<usize>,
    n: usize,
    q: usize,
    fill: &(impl Fn(usize, usize, &mut [f32]) + Sync + ?Sized),
    dst: &mut [f32],
) {
    let n0 = q * NR;
    let width = NR.min(n - n0);
    let len = rows.len() * NR;
    for (kk, row) in rows.zip(dst[..len].chunks_exact_mut(NR)) {
        fill(kk, n0, &mut row[..width]);
        row[width..].fill(0.0);
    }
}
