//! Recurrent layers LSTM, GRU and RNN: input checking, layouts (seq- or batch-major), directions
//! and the optional inputs. The recurrence itself is in [`cell`].
//! <https://onnx.ai/onnx/operators/onnx__LSTM.html>, <https://onnx.ai/onnx/operators/onnx__GRU.html>,
//! <https://onnx.ai/onnx/operators/onnx__RNN.html>

mod activation;
mod cell;

use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{DType, Tensor};
use activation::Real;
use cell::{Config, Dims, Weights};
use std::borrow::Cow;

/// Runs an LSTM (outputs Y, Y_h, Y_c), GRU or RNN (outputs Y, Y_h). Inputs: X, W, R, then the
/// optional B, sequence_lens, initial_h and, for LSTM, initial_c and P.
pub fn rnn(p: &Rnn, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    match x.dtype() {
        DType::F64 => run_typed::<f64>(p, inputs),
        DType::F32 | DType::F16 | DType::BF16 => run_typed::<f32>(p, inputs),
        other => Err(Error::DType(format!(
            "{} input X must be a float tensor, got {other}",
            kind_name(p.kind)
        ))),
    }
}

fn kind_name(k: RnnKind) -> &'static str {
    match k {
        RnnKind::Lstm => "LSTM",
        RnnKind::Gru => "GRU",
        RnnKind::Rnn => "RNN",
    }
}

/// The elements of `t` as `T`, borrowed when the dtype already matches.
fn load<T: Real>(t: &Tensor) -> Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(t.to_vec::<T>()),
    }
}

/// Checks that `t` has exactly `want` as its shape.
fn expect_shape(name: &str, t: &Tensor, want: &[usize]) -> Result<()> {
    if t.shape() != want {
        return Err(Error::Shape(format!(
            "{name} must have shape {want:?}, got {:?}",
            t.shape()
        )));
    }
    Ok(())
}

/// Swaps the first two axes of a rank-3 row-major buffer `[a, b, n]` into `[b, a, n]`.
fn swap01<T: Copy>(v: &[T], a: usize, b: usize, n: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for j in 0..b {
        for i in 0..a {
            out.extend_from_slice(&v[(i * b + j) * n..(i * b + j + 1) * n]);
        }
    }
    out
}

fn run_typed<T: Real>(p: &Rnn, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let name = kind_name(p.kind);
    let (x, w, r) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let dtype = x.dtype();
    for (n, t) in [("W", w), ("R", r)] {
        if t.dtype() != dtype {
            return Err(Error::DType(format!(
                "{name} {n} is {} but X is {dtype}",
                t.dtype()
            )));
        }
    }
    if x.rank() != 3 {
        return Err(Error::Shape(format!(
            "{name} X must be rank 3, got shape {:?}",
            x.shape()
        )));
    }
    let dirs = if p.direction == RnnDirection::Bidirectional {
        2
    } else {
        1
    };
    let hs = p.hidden_size;
    let gh = cell::gates(p.kind) * hs;
    let (seq, batch) = if p.batch_major {
        (x.shape()[1], x.shape()[0])
    } else {
        (x.shape()[0], x.shape()[1])
    };
    let d = Dims {
        seq,
        batch,
        input: x.shape()[2],
        hidden: hs,
    };
    expect_shape("W", w, &[dirs, gh, d.input])?;
    expect_shape("R", r, &[dirs, gh, hs])?;
    let per_dir = p.activations.len() / dirs;
    let needed = match p.kind {
        RnnKind::Lstm => 3,
        RnnKind::Gru => 2,
        RnnKind::Rnn => 1,
    };
    if per_dir < needed || p.activations.len() % dirs != 0 {
        return Err(Error::Input(format!(
            "{name} has {} activations for {dirs} direction(s)",
            p.activations.len()
        )));
    }

    let opt = |i: usize, what: &str, shape: &[usize]| -> Result<Option<Cow<'_, [T]>>> {
        let Some(t) = opt_input(inputs, i) else {
            return Ok(None);
        };
        if t.dtype() != dtype {
            return Err(Error::DType(format!(
                "{name} {what} is {} but X is {dtype}",
                t.dtype()
            )));
        }
        expect_shape(what, t, shape)?;
        Ok(Some(load::<T>(t)))
    };
    let bias = opt(3, "B", &[dirs, 2 * gh])?;
    let state_shape = if p.batch_major {
        [batch, dirs, hs]
    } else {
        [dirs, batch, hs]
    };
    let h0 = opt(5, "initial_h", &state_shape)?;
    let is_lstm = p.kind == RnnKind::Lstm;
    let c0 = if is_lstm {
        opt(6, "initial_c", &state_shape)?
    } else {
        None
    };
    let peep = if is_lstm {
        opt(7, "P", &[dirs, 3 * hs])?
    } else {
        None
    };
    let lens = sequence_lens(opt_input(inputs, 4), batch, seq)?;

    let x_all = load::<T>(x);
    let x_seq: Cow<[T]> = if p.batch_major {
        Cow::Owned(swap01(&x_all, batch, seq, d.input))
    } else {
        x_all
    };
    // States are kept direction-major, [dirs, batch, hidden].
    let state = |s: Option<Cow<[T]>>| -> Vec<T> {
        match s {
            None => vec![T::ZERO; dirs * batch * hs],
            Some(v) if p.batch_major => swap01(&v, batch, dirs, hs),
            Some(v) => v.into_owned(),
        }
    };
    let mut h = state(h0);
    let mut c = state(c0);

    let (w, r) = (load::<T>(w), load::<T>(r));
    let mut ys = Vec::with_capacity(dirs);
    for dir in 0..dirs {
        let acts = &p.activations[dir * per_dir..(dir + 1) * per_dir];
        let cfg = Config {
            kind: p.kind,
            acts,
            clip: p.clip,
            linear_before_reset: p.linear_before_reset,
            input_forget: p.input_forget,
        };
        let b = bias
            .as_deref()
            .map(|b| &b[dir * 2 * gh..(dir + 1) * 2 * gh]);
        let wt = Weights {
            w: &w[dir * gh * d.input..(dir + 1) * gh * d.input],
            r: &r[dir * gh * hs..(dir + 1) * gh * hs],
            wb: b.map(|b| &b[..gh]),
            rb: b.map(|b| &b[gh..]),
            p: peep
                .as_deref()
                .map(|p| &p[dir * 3 * hs..(dir + 1) * 3 * hs]),
        };
        let reverse = p.direction == RnnDirection::Reverse || dir == 1;
        let st = dir * batch * hs..(dir + 1) * batch * hs;
        let y = cell::run_direction(
            &cfg,
            d,
            &wt,
            &x_seq,
            &lens,
            reverse,
            &mut h[st.clone()],
            &mut c[st],
        )?;
        ys.push(y);
    }

    // Y is [seq, dirs, batch, hidden], or [batch, seq, dirs, hidden] batch-major.
    let mut y = Vec::with_capacity(seq * dirs * batch * hs);
    if p.batch_major {
        for b in 0..batch {
            for t in 0..seq {
                for yd in &ys {
                    y.extend_from_slice(&yd[(t * batch + b) * hs..(t * batch + b + 1) * hs]);
                }
            }
        }
    } else {
        for t in 0..seq {
            for yd in &ys {
                y.extend_from_slice(&yd[t * batch * hs..(t + 1) * batch * hs]);
            }
        }
    }
    let finish = |v: Vec<T>, shape: Vec<usize>| -> Result<Tensor> {
        let t = Tensor::from_vec(shape, v)?;
        Ok(if t.dtype() == dtype { t } else { t.cast(dtype) })
    };
    let state_out = |s: Vec<T>| -> Result<Tensor> {
        if p.batch_major {
            finish(swap01(&s, dirs, batch, hs), vec![batch, dirs, hs])
        } else {
            finish(s, vec![dirs, batch, hs])
        }
    };
    let y_shape = if p.batch_major {
        vec![batch, seq, dirs, hs]
    } else {
        vec![seq, dirs, batch, hs]
    };
    let mut outs = vec![finish(y, y_shape)?, state_out(h)?];
    if is_lstm {
        outs.push(state_out(c)?);
    }
    Ok(outs)
}

/// Per-batch sequence lengths (all `seq` when the input is absent); each must be in `0..=seq`.
fn sequence_lens(t: Option<&Tensor>, batch: usize, seq: usize) -> Result<Vec<usize>> {
    let Some(t) = t else {
        return Ok(vec![seq; batch]);
    };
    if !t.dtype().is_int() || t.shape() != [batch] {
        return Err(Error::Shape(format!(
            "sequence_lens must be an int32 tensor of shape [{batch}], got {} {:?}",
            t.dtype(),
            t.shape()
        )));
    }
    t.to_i64_vec()
        .into_iter()
        .map(|l| {
            usize::try_from(l)
                .ok()
                .filter(|&l| l <= seq)
                .ok_or_else(|| Error::Input(format!("sequence length {l} is outside 0..={seq}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnn_op(kind: RnnKind, hidden: usize, direction: RnnDirection) -> Rnn {
        let acts = match kind {
            RnnKind::Lstm => vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
            RnnKind::Gru => vec![Activation::Sigmoid, Activation::Tanh],
            RnnKind::Rnn => vec![Activation::Tanh],
        };
        let n = if direction == RnnDirection::Bidirectional {
            2
        } else {
            1
        };
        Rnn {
            kind,
            hidden_size: hidden,
            direction,
            activations: acts.iter().cycle().take(acts.len() * n).copied().collect(),
            clip: None,
            batch_major: false,
            linear_before_reset: false,
            input_forget: false,
        }
    }

    #[test]
    fn simple_rnn_two_steps() {
        // hidden 1, input 1: h1 = tanh(0.5·1) , h2 = tanh(0.5·2 + 2·h1).
        let p = rnn_op(RnnKind::Rnn, 1, RnnDirection::Forward);
        let x = Tensor::from_vec(vec![2, 1, 1], vec![1.0f32, 2.0]).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 1], vec![0.5f32]).unwrap();
        let r = Tensor::from_vec(vec![1, 1, 1], vec![2.0f32]).unwrap();
        let out = rnn(&p, &[Some(&x), Some(&w), Some(&r)]).unwrap();
        let h1 = 0.5f32.tanh();
        let h2 = (1.0 + 2.0 * h1).tanh();
        assert_eq!(out[0].shape(), &[2, 1, 1, 1]);
        let y = out[0].as_slice::<f32>().unwrap();
        assert!(
            (y[0] - h1).abs() < 1e-6 && (y[1] - h2).abs() < 1e-6,
            "{y:?}"
        );
        assert_eq!(out[1].as_slice::<f32>().unwrap(), &[y[1]]);
    }

    #[test]
    fn lstm_one_step_with_bias() {
        // hidden 1, zero weights: every gate is its bias. i=σ(1), o=σ(2), f=σ(3), c̃=tanh(4).
        let p = rnn_op(RnnKind::Lstm, 1, RnnDirection::Forward);
        let x = Tensor::from_vec(vec![1, 1, 1], vec![7.0f32]).unwrap();
        let w = Tensor::zeros(DType::F32, vec![1, 4, 1]).unwrap();
        let r = Tensor::zeros(DType::F32, vec![1, 4, 1]).unwrap();
        let b =
            Tensor::from_vec(vec![1, 8], vec![1.0f32, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        let out = rnn(&p, &[Some(&x), Some(&w), Some(&r), Some(&b)]).unwrap();
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let c = sig(1.0) * 4f32.tanh();
        let h = sig(2.0) * c.tanh();
        assert!((out[2].as_slice::<f32>().unwrap()[0] - c).abs() < 1e-6);
        assert!((out[1].as_slice::<f32>().unwrap()[0] - h).abs() < 1e-6);
    }

    #[test]
    fn sequence_lens_freeze_state_and_zero_output() {
        let p = rnn_op(RnnKind::Rnn, 1, RnnDirection::Forward);
        let x = Tensor::from_vec(vec![2, 2, 1], vec![1.0f32, 1.0, 1.0, 1.0]).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 1], vec![1.0f32]).unwrap();
        let r = Tensor::from_vec(vec![1, 1, 1], vec![0.0f32]).unwrap();
        let lens = Tensor::from_vec(vec![2], vec![2i32, 1]).unwrap();
        let out = rnn(&p, &[Some(&x), Some(&w), Some(&r), None, Some(&lens)]).unwrap();
        let t = 1f32.tanh();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[t, t, t, 0.0]);
        assert_eq!(out[1].as_slice::<f32>().unwrap(), &[t, t]);
    }

    #[test]
    fn rejects_wrong_weight_shape() {
        let p = rnn_op(RnnKind::Gru, 2, RnnDirection::Forward);
        let x = Tensor::zeros(DType::F32, vec![1, 1, 3]).unwrap();
        let w = Tensor::zeros(DType::F32, vec![1, 5, 3]).unwrap();
        let r = Tensor::zeros(DType::F32, vec![1, 6, 2]).unwrap();
        assert!(rnn(&p, &[Some(&x), Some(&w), Some(&r)]).is_err());
    }
}
