//! One direction of an LSTM, GRU or RNN over the whole sequence. The input projection `X·Wᵀ` of
//! every timestep is a single GEMM up front; each step then does the recurrent `H·Rᵀ` as one GEMM
//! over the batch and applies the gate equations elementwise.
//! <https://onnx.ai/onnx/operators/onnx__LSTM.html>, <https://onnx.ai/onnx/operators/onnx__GRU.html>,
//! <https://onnx.ai/onnx/operators/onnx__RNN.html>

use super::super::gemm::MatRef;
use super::activation::{apply, Real};
use crate::error::Result;
use crate::ir::{Activation, RnnKind};

/// Sizes shared by every direction.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub seq: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
}

/// What the gate equations depend on besides the weights.
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    pub kind: RnnKind,
    /// This direction's activations (LSTM f, g, h; GRU f, g; RNN f).
    pub acts: &'a [Activation],
    pub clip: Option<f32>,
    pub linear_before_reset: bool,
    pub input_forget: bool,
}

/// One direction's weights, each already sliced to that direction.
pub struct Weights<'a, T> {
    /// `[gates·hidden, input]`.
    pub w: &'a [T],
    /// `[gates·hidden, hidden]`.
    pub r: &'a [T],
    /// `Wb` and `Rb`, `[gates·hidden]` each.
    pub wb: Option<&'a [T]>,
    pub rb: Option<&'a [T]>,
    /// LSTM peepholes `[3·hidden]` in the order i, o, f.
    pub p: Option<&'a [T]>,
}

/// Number of gate blocks in W and R.
pub fn gates(kind: RnnKind) -> usize {
    match kind {
        RnnKind::Lstm => 4,
        RnnKind::Gru => 3,
        RnnKind::Rnn => 1,
    }
}

/// Runs one direction over `x` (`[seq, batch, input]`) from state `h` (and `c` for LSTM), both
/// `[batch, hidden]`, updated in place. Returns Y for this direction, `[seq, batch, hidden]`.
/// Batch entry `b` only advances for timesteps `t < lens[b]`; later rows of Y stay zero.
pub fn run_direction<T: Real>(
    cfg: &Config,
    d: Dims,
    wt: &Weights<T>,
    x: &[T],
    lens: &[usize],
    reverse: bool,
    h: &mut [T],
    c: &mut [T],
) -> Result<Vec<T>> {
    let hs = d.hidden;
    let gh = gates(cfg.kind) * hs;
    let rows = d.seq * d.batch;
    // All timesteps' input projections at once: [seq·batch, gates·hidden].
    let mut xw = vec![T::ZERO; rows * gh];
    T::gemm(
        MatRef::row_major(x, rows, d.input, false),
        MatRef::row_major(wt.w, gh, d.input, true),
        &mut xw,
        gh,
        false,
    )?;
    // GRU with linear_before_reset keeps Rb of the h gate inside the reset product.
    let gru_lbr = cfg.kind == RnnKind::Gru && cfg.linear_before_reset;
    let mut bias = vec![T::ZERO; gh];
    if let Some(wb) = wt.wb {
        bias.iter_mut().zip(wb).for_each(|(b, &v)| *b = *b + v);
    }
    let folded_rb = if gru_lbr { 2 * hs } else { gh };
    if let Some(rb) = wt.rb {
        bias[..folded_rb]
            .iter_mut()
            .zip(rb)
            .for_each(|(b, &v)| *b = *b + v);
    }
    if wt.wb.is_some() || wt.rb.is_some() {
        for row in xw.chunks_exact_mut(gh) {
            row.iter_mut().zip(&bias).for_each(|(v, &b)| *v = *v + b);
        }
    }
    let rb_h: Vec<T> = match (gru_lbr, wt.rb) {
        (true, Some(rb)) => rb[2 * hs..3 * hs].to_vec(),
        _ => vec![T::ZERO; hs],
    };
    let clip = |v: T| match cfg.clip {
        Some(cl) => {
            let cl = T::of(cl);
            if v > cl {
                cl
            } else if v < -cl {
                -cl
            } else {
                v
            }
        }
        None => v,
    };

    let mut y = vec![T::ZERO; rows * hs];
    let mut rec = vec![T::ZERO; d.batch * gh];
    let mut reset_h = vec![
        T::ZERO;
        if cfg.kind == RnnKind::Gru {
            d.batch * hs
        } else {
            0
        }
    ];
    fn h_mat<T>(h: &[T], batch: usize, hs: usize) -> MatRef<'_, T> {
        MatRef::row_major(h, batch, hs, false)
    }
    for step in 0..d.seq {
        let t = if reverse { d.seq - 1 - step } else { step };
        let xt = &xw[t * d.batch * gh..(t + 1) * d.batch * gh];
        let yt = &mut y[t * d.batch * hs..(t + 1) * d.batch * hs];
        let active = |b: usize| t < lens[b];
        match cfg.kind {
            RnnKind::Rnn => {
                T::gemm(
                    h_mat(h, d.batch, hs),
                    MatRef::row_major(wt.r, gh, hs, true),
                    &mut rec,
                    gh,
                    false,
                )?;
                for b in (0..d.batch).filter(|&b| active(b)) {
                    for j in 0..hs {
                        let v = apply(cfg.acts[0], clip(xt[b * gh + j] + rec[b * gh + j]));
                        h[b * hs + j] = v;
                        yt[b * hs + j] = v;
                    }
                }
            }
            RnnKind::Lstm => {
                T::gemm(
                    h_mat(h, d.batch, hs),
                    MatRef::row_major(wt.r, gh, hs, true),
                    &mut rec,
                    gh,
                    false,
                )?;
                let (f, g, hact) = (cfg.acts[0], cfg.acts[1], cfg.acts[2]);
                for b in (0..d.batch).filter(|&b| active(b)) {
                    let pre = |gate: usize, j: usize| {
                        xt[b * gh + gate * hs + j] + rec[b * gh + gate * hs + j]
                    };
                    for j in 0..hs {
                        let peep = |k: usize| wt.p.map_or(T::ZERO, |p| p[k * hs + j]);
                        let c_prev = c[b * hs + j];
                        let i = apply(f, clip(pre(0, j) + peep(0) * c_prev));
                        let fg = if cfg.input_forget {
                            T::ONE - i
                        } else {
                            apply(f, clip(pre(2, j) + peep(2) * c_prev))
                        };
                        let cand = apply(g, clip(pre(3, j)));
                        let c_new = fg * c_prev + i * cand;
                        let o = apply(f, clip(pre(1, j) + peep(1) * c_new));
                        let h_new = o * apply(hact, c_new);
                        c[b * hs + j] = c_new;
                        h[b * hs + j] = h_new;
                        yt[b * hs + j] = h_new;
                    }
                }
            }
            RnnKind::Gru => {
                let (f, g) = (cfg.acts[0], cfg.acts[1]);
                if gru_lbr {
                    T::gemm(
                        h_mat(h, d.batch, hs),
                        MatRef::row_major(wt.r, gh, hs, true),
                        &mut rec,
                        gh,
                        false,
                    )?;
                } else {
                    // z and r first; the h gate needs (r ⊙ H)·Rhᵀ, a second product.
                    let rzr = MatRef::row_major(&wt.r[..2 * hs * hs], 2 * hs, hs, true);
                    T::gemm(h_mat(h, d.batch, hs), rzr, &mut rec, gh, false)?;
                    for b in 0..d.batch {
                        for j in 0..hs {
                            let r = apply(f, clip(xt[b * gh + hs + j] + rec[b * gh + hs + j]));
                            reset_h[b * hs + j] = r * h[b * hs + j];
                        }
                    }
                    let rh = MatRef::row_major(&wt.r[2 * hs * hs..], hs, hs, true);
                    T::gemm(
                        h_mat(&reset_h, d.batch, hs),
                        rh,
                        &mut rec[2 * hs..],
                        gh,
                        false,
                    )?;
                }
                for b in (0..d.batch).filter(|&b| active(b)) {
                    for j in 0..hs {
                        let at = |gate: usize| b * gh + gate * hs + j;
                        let z = apply(f, clip(xt[at(0)] + rec[at(0)]));
                        let hh = if gru_lbr {
                            let r = apply(f, clip(xt[at(1)] + rec[at(1)]));
                            apply(g, clip(xt[at(2)] + r * (rec[at(2)] + rb_h[j])))
                        } else {
                            apply(g, clip(xt[at(2)] + rec[at(2)]))
                        };
                        let h_prev = h[b * hs + j];
                        let h_new = (T::ONE - z) * hh + z * h_prev;
                        h[b * hs + j] = h_new;
                        yt[b * hs + j] = h_new;
                    }
                }
            }
        }
    }
    Ok(y)
}
