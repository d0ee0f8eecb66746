//! Inference rules for layers: Conv/ConvTranspose/pooling (spatial arithmetic on fixed dims, batch
//! passes through symbolically), Gemm, MatMul (numpy batch broadcasting), the fused Attention and
//! the RNN family.

use super::dims::{broadcast, conv_output_dim};
use super::{Ctx, Fact, Out};
use crate::ir::{AutoPad, Conv, ConvTranspose, Dim, Gemm, Pool, Rnn, RnnDirection, RnnKind};
use crate::tensor::DType;

/// The `i`-th entry of an attribute list, or `default` when the list is empty/short.
fn at(v: &[usize], i: usize, default: usize) -> usize {
    v.get(i).copied().unwrap_or(default)
}

/// Spatial output dims of a sliding window (Conv, pooling) over `input` (the spatial dims).
#[allow(clippy::too_many_arguments)]
fn window_dims(
    input: &[Dim],
    kernel: &[usize],
    strides: &[usize],
    pads: &[usize],
    dilations: &[usize],
    auto_pad: AutoPad,
    ceil: bool,
) -> Vec<Dim> {
    let n = input.len();
    (0..n)
        .map(|i| {
            let (Dim::Fixed(x), Some(&k)) = (&input[i], kernel.get(i)) else {
                return Dim::Unknown;
            };
            let s = at(strides, i, 1);
            let d = at(dilations, i, 1);
            let out = match auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower if s > 0 => Some(x.div_ceil(s)),
                AutoPad::Valid => conv_output_dim(*x, k, s, 0, d, ceil),
                _ => {
                    let (pb, pe) = (at(pads, i, 0), at(pads, i + n, 0));
                    conv_output_dim(*x, k, s, pb + pe, d, ceil).map(|o| {
                        // With ceil_mode a last window that starts in the end padding is dropped.
                        if ceil && o > 1 && (o - 1) * s >= x + pb {
                            o - 1
                        } else {
                            o
                        }
                    })
                }
            };
            out.map_or(Dim::Unknown, Dim::Fixed)
        })
        .collect()
}

pub fn conv(p: &Conv, cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let x = cx.shape(0)?;
        let w = cx.shape(1)?;
        if x.len() < 3 || w.len() != x.len() {
            return None;
        }
        let kernel: Vec<usize> = if p.kernel_shape.is_empty() {
            w[2..]
                .iter()
                .map(|d| {
                    if let Dim::Fixed(k) = d {
                        Some(*k)
                    } else {
                        None
                    }
                })
                .collect::<Option<_>>()
                .unwrap_or_default()
        } else {
            p.kernel_shape.clone()
        };
        let mut out = vec![x[0].clone(), w[0].clone()];
        out.extend(window_dims(
            &x[2..],
            &kernel,
            &p.strides,
            &p.pads,
            &p.dilations,
            p.auto_pad,
            false,
        ));
        Some(out)
    })();
    vec![Fact::new(cx.dtype(0), shape).into()]
}

pub fn conv_transpose(p: &ConvTranspose, cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let x = cx.shape(0)?;
        let w = cx.shape(1)?;
        if x.len() < 3 || w.len() != x.len() {
            return None;
        }
        let c = &p.conv;
        let n = x.len() - 2;
        let out_ch = match &w[1] {
            Dim::Fixed(m) => Dim::Fixed(m * c.group.max(1)),
            _ => Dim::Unknown,
        };
        let mut out = vec![x[0].clone(), out_ch];
        for i in 0..n {
            if let Some(&o) = p.output_shape.get(i) {
                out.push(Dim::Fixed(o));
                continue;
            }
            let k = c.kernel_shape.get(i).copied().or(match &w[2 + i] {
                Dim::Fixed(k) => Some(*k),
                _ => None,
            });
            let (Dim::Fixed(xi), Some(k)) = (&x[2 + i], k) else {
                out.push(Dim::Unknown);
                continue;
            };
            let s = at(&c.strides, i, 1);
            let d = match c.auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower => Some(xi * s),
                _ => {
                    let full = s * xi.saturating_sub(1)
                        + at(&p.output_padding, i, 0)
                        + (k.max(1) - 1) * at(&c.dilations, i, 1)
                        + 1;
                    let pads = if c.auto_pad == AutoPad::Valid {
                        0
                    } else {
                        at(&c.pads, i, 0) + at(&c.pads, i + n, 0)
                    };
                    full.checked_sub(pads)
                }
            };
            out.push(d.map_or(Dim::Unknown, Dim::Fixed));
        }
        Some(out)
    })();
    vec![Fact::new(cx.dtype(0), shape).into()]
}

/// MaxPool / AveragePool / LpPool; MaxPool's optional output 1 holds int64 indices.
pub fn pool(p: &Pool, cx: &Ctx, n_out: usize) -> Vec<Out> {
    let shape = cx.shape(0).filter(|x| x.len() >= 3).map(|x| {
        let mut out = x[..2].to_vec();
        out.extend(window_dims(
            &x[2..],
            &p.kernel_shape,
            &p.strides,
            &p.pads,
            &p.dilations,
            p.auto_pad,
            p.ceil_mode,
        ));
        out
    });
    let mut outs = vec![Fact::new(cx.dtype(0), shape.clone()).into()];
    if n_out > 1 {
        outs.push(Fact::new(Some(DType::I64), shape).into());
    }
    outs
}

pub fn global_pool(cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).filter(|x| x.len() >= 2).map(|x| {
        let mut out = x[..2].to_vec();
        out.extend(std::iter::repeat_n(Dim::Fixed(1), x.len() - 2));
        out
    });
    vec![Fact::new(cx.dtype(0), shape).into()]
}

pub fn gemm(p: &Gemm, cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let (a, b) = (cx.shape(0)?, cx.shape(1)?);
        if a.len() != 2 || b.len() != 2 {
            return None;
        }
        let m = if p.trans_a { &a[1] } else { &a[0] };
        let n = if p.trans_b { &b[0] } else { &b[1] };
        Some(vec![m.clone(), n.clone()])
    })();
    vec![Fact::new(cx.dtype(0), shape).into()]
}

/// MatMul with numpy semantics: 1-D operands gain and then lose a unit dim; batch dims broadcast.
pub fn matmul(cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let (a, b) = (cx.shape(0)?, cx.shape(1)?);
        if a.is_empty() || b.is_empty() {
            return None;
        }
        let (a_batch, m) = if a.len() >= 2 {
            (&a[..a.len() - 2], Some(a[a.len() - 2].clone()))
        } else {
            (&a[..0], None)
        };
        let (b_batch, n) = if b.len() >= 2 {
            (&b[..b.len() - 2], Some(b[b.len() - 1].clone()))
        } else {
            (&b[..0], None)
        };
        let mut out = broadcast(&[a_batch, b_batch])?;
        out.extend(m);
        out.extend(n);
        Some(out)
    })();
    vec![Fact::new(cx.dtype(0), shape).into()]
}

/// The optimizer's fused Attention: Q `[.., S, d]`, Kᵀ `[.., d, S_kv]`, V `[.., S_kv, d_v]` give
/// `[broadcast batch.., S, d_v]` in Q's dtype (the mask never widens the scores; the pass checks).
pub fn attention(cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let (q, k, v) = (cx.shape(0)?, cx.shape(1)?, cx.shape(2)?);
        if q.len() < 2 || k.len() < 2 || v.len() < 2 {
            return None;
        }
        let batch = |s: &[Dim]| s[..s.len() - 2].to_vec();
        let mut out = broadcast(&[&batch(q), &batch(k), &batch(v)])?;
        out.push(q[q.len() - 2].clone());
        out.push(v[v.len() - 1].clone());
        Some(out)
    })();
    vec![Fact::new(cx.dtype(0), shape).into()]
}

/// LSTM/GRU/RNN: Y `[seq, dirs, batch, hidden]` (batch-major `[batch, seq, dirs, hidden]`), Y_h
/// and Y_c `[dirs, batch, hidden]` (batch-major `[batch, dirs, hidden]`).
pub fn rnn(p: &Rnn, cx: &Ctx) -> Vec<Out> {
    let dirs = Dim::Fixed(if p.direction == RnnDirection::Bidirectional {
        2
    } else {
        1
    });
    let hidden = Dim::Fixed(p.hidden_size);
    let x = cx.shape(0).filter(|x| x.len() == 3);
    let (seq, batch) = match x {
        Some(x) if p.batch_major => (x[1].clone(), x[0].clone()),
        Some(x) => (x[0].clone(), x[1].clone()),
        None => (Dim::Unknown, Dim::Unknown),
    };
    let (y, state) = if p.batch_major {
        (
            vec![batch.clone(), seq, dirs.clone(), hidden.clone()],
            vec![batch, dirs, hidden],
        )
    } else {
        (
            vec![seq, dirs.clone(), batch.clone(), hidden.clone()],
            vec![dirs, batch, hidden],
        )
    };
    let dt = cx.dtype(0);
    let mut outs: Vec<Out> = vec![
        Fact::new(dt, Some(y)).into(),
        Fact::new(dt, Some(state.clone())).into(),
    ];
    if p.kind == RnnKind::Lstm {
        outs.push(Fact::new(dt, Some(state)).into());
    }
    outs
}
