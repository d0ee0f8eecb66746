//! Conv in f32 on the packed GEMM (`backend::cpu::sgemm`): per (image, group),
//! `Y = W · im2col(X)`, with W packed once (when the engine is compiled, for constant weights)
//! and the im2col matrix packed straight into GEMM panels, never materialized. Bias, residual and
//! a Relu/Clip activation are applied as each output tile is written.

use super::epilogue::{activate, split_for_gemm};
use super::gemm::MatRef;
use super::im2col::im2col_span;
use super::real::real_vec;
use crate::backend::cpu::buffers;
use crate::backend::cpu::prepack::is_f32_storage;
use crate::backend::cpu::sgemm::{self, Bias, FillRows, Output, PackedA, Rhs};
use crate::error::{Error, Result};
use crate::ir::geometry::{ConvChannels, Window};
use crate::ir::Epilogue;
use crate::tensor::Tensor;

/// A convolution's filters as packed GEMM `A` operands, one per group (`M/g × C/g·k`).
pub struct ConvWeights {
    groups: Vec<PackedA>,
}

impl ConvWeights {
    /// Packs `w` (`M × C/g × k…`) for `group` groups. `None` where the convolution does not run
    /// as GEMMs (depthwise: one input channel per group) or `w` is not f32 (or narrower: f16 and bf16 widen).
    pub fn pack(w: &Tensor, group: usize) -> Result<Option<ConvWeights>> {
        let ws = w.shape();
        if !is_f32_storage(w.dtype()) || ws.len() < 3 || group == 0 || ws[0] % group != 0 {
            return Ok(None);
        }
        if ws[1] == 1 && group > 1 {
            return Ok(None);
        }
        let k: usize = ws[1..].iter().product();
        Ok(Some(ConvWeights::from_values(
            &real_vec::<f32>(w),
            group,
            ws[0] / group,
            k,
        )))
    }

    fn from_values(w: &[f32], groups: usize, mg: usize, k: usize) -> ConvWeights {
        let groups = (0..groups)
            .map(|g| PackedA::new(MatRef::row_major(&w[g * mg * k..][..mg * k], mg, k, false)))
            .collect();
        ConvWeights { groups }
    }

    /// Checks packed weights against the channels and kernel of this call.
    fn check(&self, ch: &ConvChannels, k: usize) -> Result<()> {
        let fits =
            self.groups.len() == ch.groups && self.groups.iter().all(|a| a.m == ch.mg && a.k == k);
        if fits {
            Ok(())
        } else {
            Err(Error::Shape(format!(
                "pre-packed Conv weights ({} groups of {}x{}) do not fit {} groups of {}x{k}",
                self.groups.len(),
                self.groups.first().map_or(0, |a| a.m),
                self.groups.first().map_or(0, |a| a.k),
                ch.groups,
                ch.mg
            )))
        }
    }

    fn release(self) {
        self.groups.into_iter().for_each(PackedA::release);
    }
}

/// The convolution of `x` (any float type, computed in f32) by `w`, or by `packed` when the
/// engine holds the weights pre-packed.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_f32(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    win: &Window,
    ch: &ConvChannels,
    ep: &Epilogue,
    residual: Option<&Tensor>,
    packed: Option<&ConvWeights>,
) -> Result<Vec<f32>> {
    let ConvChannels {
        batch,
        cg,
        mg,
        groups,
    } = *ch;
    let (in_sp, out_sp, ksz) = (win.input_size(), win.output_size(), win.kernel_size());
    let (c, m, k) = (cg * groups, mg * groups, cg * ksz);
    let owned = match packed {
        Some(p) => {
            p.check(ch, k)?;
            None
        }
        None => Some(ConvWeights::from_values(&real_vec::<f32>(w), groups, mg, k)),
    };
    let weights = packed.or(owned.as_ref()).expect("packed or owned");
    let xv = real_vec::<f32>(x);
    let bias = b.map(real_vec::<f32>);
    let rv = residual.map(real_vec::<f32>);
    let ((lo, hi), after) = split_for_gemm(ep.activation);
    // The GEMM writes every element.
    let mut y = buffers::take::<f32>(batch * m * out_sp);
    let pointwise =
        ksz == 1 && win.stride == [1; 3] && win.pad == [0; 3] && win.output == win.input;
    for ni in 0..batch {
        for (gi, wg) in weights.groups.iter().enumerate() {
            let xg = &xv[(ni * c + gi * cg) * in_sp..][..cg * in_sp];
            let plane_rows = |r: usize, n0: usize, dst: &mut [f32]| {
                dst.copy_from_slice(&xg[r * in_sp + n0..][..dst.len()])
            };
            let im2col_rows =
                |r: usize, n0: usize, dst: &mut [f32]| im2col_span(xg, in_sp, win, r, n0, dst);
            let fill: FillRows = if pointwise { &plane_rows } else { &im2col_rows };
            let cols = Rhs::Rows { k, n: out_sp, fill };
            let off = (ni * m + gi * mg) * out_sp;
            let out = Output {
                bias: bias
                    .as_deref()
                    .map_or(Bias::None, |b| Bias::PerRow(&b[gi * mg..(gi + 1) * mg])),
                residual: rv.as_deref().map(|r| &r[off..off + mg * out_sp]),
                lo,
                hi,
            };
            let yg = &mut y[off..off + mg * out_sp];
            sgemm::gemm(wg, cols, yg, out_sp, &out)?;
            if let Some(act) = after {
                activate(act, yg)?;
            }
        }
    }
    if let Some(w) = owned {
        w.release();
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::super::conv::conv;
    use super::*;
    use crate::ir::{AutoPad, Conv, FusedActivation, UnaryKind};

    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2000) as f64 / 1000.0 - 1.0
            })
            .collect()
    }

    /// The f32 packed path (weights packed per call, and pre-packed) against the f64 path, which
    /// runs im2col and the `gemm` crate: two independent implementations of the same convolution.
    #[test]
    fn packed_f32_conv_matches_the_f64_im2col_path() {
        for (group, stride, act) in [
            (1, 1, Some(FusedActivation::Unary(UnaryKind::Relu))),
            (
                2,
                2,
                Some(FusedActivation::Clip {
                    min: Some(-0.5),
                    max: Some(0.5),
                }),
            ),
            (1, 2, Some(FusedActivation::Unary(UnaryKind::Sigmoid))),
            (4, 1, None),
        ] {
            let (n, c, m, h, w) = (2, 8, 12, 9, 11);
            let x = values(n * c * h * w, 1);
            let wt = values(m * (c / group) * 9, 2);
            let b = values(m, 3);
            let oh = (h + 2 - 3) / stride + 1;
            let ow = (w + 2 - 3) / stride + 1;
            let r = values(n * m * oh * ow, 4);
            let p = Conv {
                auto_pad: AutoPad::NotSet,
                dilations: vec![],
                group,
                kernel_shape: vec![],
                pads: vec![1, 1, 1, 1],
                strides: vec![stride, stride],
                epilogue: Epilogue {
                    residual: true,
                    activation: act,
                },
            };
            let shapes = [
                vec![n, c, h, w],
                vec![m, c / group, 3, 3],
                vec![m],
                vec![n, m, oh, ow],
            ];
            let as64: Vec<Tensor> = [&x, &wt, &b, &r]
                .iter()
                .zip(&shapes)
                .map(|(v, s)| Tensor::from_vec(s.clone(), v.to_vec()).unwrap())
                .collect();
            let as32: Vec<Tensor> = as64.iter().map(|t| t.cast(crate::DType::F32)).collect();
            let (r64, r32): (Vec<_>, Vec<_>) = (
                as64.iter().map(Some).collect(),
                as32.iter().map(Some).collect(),
            );
            let want = conv(&p, &r64, None).unwrap().remove(0).to_vec::<f64>();
            let packed = ConvWeights::pack(&as32[1], group).unwrap().unwrap();
            for prepacked in [None, Some(&packed)] {
                let got = conv(&p, &r32, prepacked).unwrap().remove(0);
                assert_eq!(got.shape(), &[n, m, oh, ow]);
                for (g, w) in got.to_vec::<f64>().iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-4,
                        "group {group} stride {stride}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn depthwise_weights_are_not_packed_and_mismatched_packs_are_errors() {
        let w = Tensor::from_vec(vec![4, 1, 3, 3], vec![0f32; 36]).unwrap();
        assert!(ConvWeights::pack(&w, 4).unwrap().is_none());
        let packed = ConvWeights::pack(&w, 1).unwrap().unwrap();
        let ch = ConvChannels {
            batch: 1,
            cg: 1,
            mg: 8,
            groups: 1,
        };
        assert!(packed.check(&ch, 9).is_err());
    }
}
