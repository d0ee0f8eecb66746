//! LSTM, GRU and RNN on the device (`kernels/rnn.cu`), with the CPU backend's semantics
//! (`cpu/ops/rnn`): both layouts, every direction, the optional B, sequence_lens, initial_h,
//! initial_c and P, `clip`, `input_forget`, `linear_before_reset` and every activation.
//! <https://onnx.ai/onnx/operators/onnx__LSTM.html>,
//! <https://onnx.ai/onnx/operators/onnx__GRU.html>, <https://onnx.ai/onnx/operators/onnx__RNN.html>
//!
//! A program is lowered for one sequence length, so the time loop is unrolled into it: one GEMM
//! X·Wᵀ for every step and direction at once, then per step and direction a GEMM h·Rᵀ and one
//! fused cell launch that applies the gates, updates h (and c) in place and writes the step's row
//! of Y. The state buffers are the Y_h and Y_c outputs themselves, laid out as those outputs are,
//! so nothing is copied in or out. On the first step the cell reads initial_h / initial_c where
//! they are (or zeros, and then the first h·Rᵀ is skipped).

use super::gemm::{plain, push, Mat, RowMajor};
use super::{float_suffix, Lowerer, Value};
use crate::backend::cuda::codes::{self, Act};
use crate::backend::cuda::program::{Arg, Buf, DeviceTensor};
use crate::error::{Error, Result};
use crate::ir::{self, Activation, Node, RnnDirection, RnnKind, UnaryKind};
use crate::tensor::{DType, Tensor};

/// `RNN_KIND_*` of `rnn.cu`.
fn kind_code(k: RnnKind) -> i32 {
    match k {
        RnnKind::Lstm => 0,
        RnnKind::Gru => 1,
        RnnKind::Rnn => 2,
    }
}

/// `RNN_FLAG_*` of `rnn.cu`.
const FLAG_INPUT_FORGET: i32 = 1;
const FLAG_LINEAR_BEFORE_RESET: i32 = 2;
/// `RNN_ACT_*` of `rnn.cu`: the activations `apply_act` has no code for.
const ACT_AFFINE: i32 = 100;
const ACT_SCALED_TANH: i32 = 101;

/// The kernel function of one gate activation.
fn activation(a: Activation) -> Act {
    let unary = |k: UnaryKind| codes::unary(k).expect("every RNN activation is a float function");
    match a {
        Activation::Relu => unary(UnaryKind::Relu),
        Activation::Tanh => unary(UnaryKind::Tanh),
        Activation::Sigmoid => unary(UnaryKind::Sigmoid),
        Activation::LeakyRelu { alpha } => unary(UnaryKind::LeakyRelu { alpha }),
        Activation::ThresholdedRelu { alpha } => unary(UnaryKind::ThresholdedRelu { alpha }),
        Activation::HardSigmoid { alpha, beta } => unary(UnaryKind::HardSigmoid { alpha, beta }),
        Activation::Elu { alpha } => unary(UnaryKind::Elu { alpha }),
        Activation::Softsign => unary(UnaryKind::Softsign),
        Activation::Softplus => unary(UnaryKind::Softplus),
        Activation::Affine { alpha, beta } => (ACT_AFFINE, alpha, beta),
        Activation::ScaledTanh { alpha, beta } => (ACT_SCALED_TANH, alpha, beta),
    }
}

fn gates(kind: RnnKind) -> usize {
    match kind {
        RnnKind::Lstm => 4,
        RnnKind::Gru => 3,
        RnnKind::Rnn => 1,
    }
}

/// Checks an operand's dtype and exact shape.
fn expect(what: &str, t: &DeviceTensor, dtype: DType, shape: &[usize]) -> Result<()> {
    if t.dtype != dtype || t.shape != shape {
        return Err(Error::Shape(format!(
            "{what} is {}{:?}, expected {dtype}{shape:?}",
            t.dtype, t.shape
        )));
    }
    Ok(())
}

/// sequence_lens as an int32 device buffer: converted on the host when known there (and checked
/// to lie in `0..=seq`, as the CPU does), used as it is when int32 on the device.
fn sequence_lens(l: &mut Lowerer, node: &Node, batch: usize, seq: usize) -> Result<Buf> {
    let Some(val) = l.opt_input(node, 4) else {
        return Ok(Buf::Null);
    };
    let (dtype, host) = (val.dtype, val.host.clone());
    if !dtype.is_int() || val.shape != [batch] {
        return Err(Error::Shape(format!(
            "sequence_lens must be an int32 tensor of shape [{batch}], got {dtype}{:?}",
            val.shape
        )));
    }
    if let Some(t) = host {
        let lens = t.to_i64_vec();
        if let Some(bad) = lens.iter().find(|&&n| n < 0 || n as usize > seq) {
            return Err(Error::Input(format!(
                "sequence length {bad} is outside 0..={seq}"
            )));
        }
        let lens: Vec<i32> = lens.into_iter().map(|n| n as i32).collect();
        return Ok(l.const_tensor(Tensor::from_vec(vec![batch], lens)?).buf);
    }
    if dtype != DType::I32 {
        return Err(Error::DType(format!(
            "sequence_lens computed on the device must be int32, got {dtype}"
        )));
    }
    Ok(l.dev_input(node, 4)?.buf)
}

/// Element strides of one direction's run: between batch rows of XW, of the state and of Y,
/// between steps of XW and Y, and between directions of the state and Y.
struct Strides {
    xw_t: usize,
    xw_b: usize,
    st_d: usize,
    st_b: usize,
    y_t: usize,
    y_d: usize,
    y_b: usize,
}

impl Strides {
    fn new(p: &ir::Rnn, seq: usize, batch: usize, dirs: usize, gh: usize) -> Strides {
        let (hs, xw_row) = (p.hidden_size, dirs * gh);
        if p.batch_major {
            // X [batch, seq, input]; Y [batch, seq, dirs, hidden]; states [batch, dirs, hidden].
            Strides {
                xw_t: xw_row,
                xw_b: seq * xw_row,
                st_d: hs,
                st_b: dirs * hs,
                y_t: dirs * hs,
                y_d: hs,
                y_b: seq * dirs * hs,
            }
        } else {
            // X [seq, batch, input]; Y [seq, dirs, batch, hidden]; states [dirs, batch, hidden].
            Strides {
                xw_t: batch * xw_row,
                xw_b: xw_row,
                st_d: batch * hs,
                st_b: hs,
                y_t: dirs * batch * hs,
                y_d: batch * hs,
                y_b: hs,
            }
        }
    }
}

/// Lowers an LSTM (outputs Y, Y_h, Y_c), GRU or RNN (Y, Y_h); inputs X, W, R, then the optional
/// B, sequence_lens, initial_h and, for LSTM, initial_c and P.
pub fn rnn(l: &mut Lowerer, node: &Node, p: &ir::Rnn) -> Result<Vec<Value>> {
    let name = node.op.name();
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix(name, x.dtype)?;
    let dt = x.dtype;
    if x.shape.len() != 3 {
        return Err(Error::Shape(format!(
            "{name} X must be rank 3, got {:?}",
            x.shape
        )));
    }
    let (seq, batch, input) = if p.batch_major {
        (x.shape[1], x.shape[0], x.shape[2])
    } else {
        (x.shape[0], x.shape[1], x.shape[2])
    };
    if seq == 0 || batch == 0 || input == 0 || p.hidden_size == 0 {
        return Err(Error::Shape(format!(
            "{name} over X {:?} with hidden size {} has no CUDA kernel (an empty dimension)",
            x.shape, p.hidden_size
        )));
    }
    let dirs = if p.direction == RnnDirection::Bidirectional {
        2
    } else {
        1
    };
    let (hs, lstm) = (p.hidden_size, p.kind == RnnKind::Lstm);
    let gh = gates(p.kind) * hs;
    let (w, r) = (l.dev_input(node, 1)?, l.dev_input(node, 2)?);
    expect("W", &w, dt, &[dirs, gh, input])?;
    expect("R", &r, dt, &[dirs, gh, hs])?;
    let bias = l.opt_dev_input(node, 3);
    if let Some(b) = &bias {
        expect("B", b, dt, &[dirs, 2 * gh])?;
    }
    let lens = sequence_lens(l, node, batch, seq)?;
    let state_shape = if p.batch_major {
        vec![batch, dirs, hs]
    } else {
        vec![dirs, batch, hs]
    };
    let h0 = l.opt_dev_input(node, 5);
    let c0 = if lstm { l.opt_dev_input(node, 6) } else { None };
    let peep = if lstm { l.opt_dev_input(node, 7) } else { None };
    for (what, t) in [("initial_h", &h0), ("initial_c", &c0)] {
        if let Some(t) = t {
            expect(what, t, dt, &state_shape)?;
        }
    }
    if let Some(pp) = &peep {
        expect("P", pp, dt, &[dirs, 3 * hs])?;
    }
    let needed = match p.kind {
        RnnKind::Lstm => 3,
        RnnKind::Gru => 2,
        RnnKind::Rnn => 1,
    };
    let per_dir = p.activations.len() / dirs;
    if per_dir < needed || p.activations.len() % dirs != 0 {
        return Err(Error::Graph(format!(
            "{name} has {} activations for {dirs} direction(s)",
            p.activations.len()
        )));
    }

    let y = node.outputs.first().copied().flatten().map(|_| {
        let shape = if p.batch_major {
            vec![batch, seq, dirs, hs]
        } else {
            vec![seq, dirs, batch, hs]
        };
        l.alloc(dt, shape)
    });
    let h = l.alloc(dt, state_shape.clone());
    let c = lstm.then(|| l.alloc(dt, state_shape.clone()));

    // Every step's input projection, for both directions at once: [seq·batch rows, dirs·gh].
    let xw = l.alloc(dt, vec![seq * batch, dirs * gh]);
    push(
        l,
        RowMajor {
            dtype: dt,
            m: seq * batch,
            n: dirs * gh,
            k: input,
            a: plain(x.buf, input, 0),
            b: transposed(w.buf, input),
            c: plain(xw.buf, dirs * gh, 0),
            batch: 1,
            alpha: 1.0,
            beta: 0.0,
        },
    )?;
    let hr = l.alloc(dt, vec![batch, gh]);
    let gru_split = p.kind == RnnKind::Gru && !p.linear_before_reset;
    let reset = gru_split.then(|| l.alloc(dt, vec![batch, hs]));
    let flags = if p.input_forget { FLAG_INPUT_FORGET } else { 0 }
        | if p.linear_before_reset {
            FLAG_LINEAR_BEFORE_RESET
        } else {
            0
        };
    let clip = p.clip.unwrap_or(f32::INFINITY);
    let s = Strides::new(p, seq, batch, dirs, gh);
    let es = dt.size();
    let at = |b: Buf, elems: usize| b.at(elems * es);
    let opt_at = |b: Option<&DeviceTensor>, elems: usize| b.map_or(Buf::Null, |t| at(t.buf, elems));
    let n = batch * hs;
    for d in 0..dirs {
        let reverse = p.direction == RnnDirection::Reverse || d == 1;
        let acts: Vec<Act> = p.activations[d * per_dir..d * per_dir + needed]
            .iter()
            .map(|&a| activation(a))
            .collect();
        let act = |i: usize| acts.get(i).copied().unwrap_or(codes::NO_ACT);
        let (h_d, c_d) = (at(h.buf, d * s.st_d), opt_at(c.as_ref(), d * s.st_d));
        let r_d = at(r.buf, d * gh * hs);
        let bias_d = opt_at(bias.as_ref(), d * 2 * gh);
        for step in 0..seq {
            let t = if reverse { seq - 1 - step } else { step };
            let (h_in, c_in) = if step == 0 {
                (
                    opt_at(h0.as_ref(), d * s.st_d),
                    opt_at(c0.as_ref(), d * s.st_d),
                )
            } else {
                (h_d, c_d)
            };
            let xw_t = at(xw.buf, t * s.xw_t + d * gh);
            // h·Rᵀ; a zero h (first step, no initial_h) contributes nothing and is skipped.
            let hr_buf = if h_in == Buf::Null {
                Buf::Null
            } else {
                let h_mat = plain(h_in, s.st_b, 0);
                let rec = |l: &mut Lowerer, a: Mat, r_rows: Buf, cols: usize, out: Buf| {
                    push(
                        l,
                        RowMajor {
                            dtype: dt,
                            m: batch,
                            n: cols,
                            k: hs,
                            a,
                            b: transposed(r_rows, hs),
                            c: plain(out, gh, 0),
                            batch: 1,
                            alpha: 1.0,
                            beta: 0.0,
                        },
                    )
                };
                match &reset {
                    // GRU: z and r first; the h gate multiplies (r ⊙ h) by Rh.
                    Some(reset) => {
                        rec(l, h_mat, r_d, 2 * hs, hr.buf)?;
                        let (f, fa, fb) = act(0);
                        let args = vec![
                            Arg::I64(n as i64),
                            Arg::I64(hs as i64),
                            Arg::Ptr(xw_t),
                            Arg::I64(s.xw_b as i64),
                            Arg::Ptr(hr.buf),
                            Arg::Ptr(bias_d),
                            Arg::Ptr(h_in),
                            Arg::I64(s.st_b as i64),
                            Arg::Ptr(reset.buf),
                            Arg::I32(f),
                            Arg::F32(fa),
                            Arg::F32(fb),
                            Arg::F32(clip),
                        ];
                        l.launch(format!("gru_reset_{suffix}"), n, args);
                        let rh = at(r_d, 2 * hs * hs);
                        rec(l, plain(reset.buf, hs, 0), rh, hs, at(hr.buf, 2 * hs))?;
                    }
                    None => rec(l, h_mat, r_d, gh, hr.buf)?,
                }
                hr.buf
            };
            let y_t = opt_at(y.as_ref(), t * s.y_t + d * s.y_d);
            let ((f, fa, fb), (g, ga, gb), (ha, haa, hab)) = (act(0), act(1), act(2));
            let args = vec![
                Arg::I32(kind_code(p.kind)),
                Arg::I32(flags),
                Arg::I64(n as i64),
                Arg::I64(hs as i64),
                Arg::I64(t as i64),
                Arg::Ptr(xw_t),
                Arg::I64(s.xw_b as i64),
                Arg::Ptr(hr_buf),
                Arg::Ptr(bias_d),
                Arg::Ptr(opt_at(peep.as_ref(), d * 3 * hs)),
                Arg::Ptr(lens),
                Arg::Ptr(h_in),
                Arg::Ptr(c_in),
                Arg::Ptr(h_d),
                Arg::Ptr(c_d),
                Arg::I64(s.st_b as i64),
                Arg::Ptr(y_t),
                Arg::I64(s.y_b as i64),
                Arg::I32(f),
                Arg::F32(fa),
                Arg::F32(fb),
                Arg::I32(g),
                Arg::F32(ga),
                Arg::F32(gb),
                Arg::I32(ha),
                Arg::F32(haa),
                Arg::F32(hab),
                Arg::F32(clip),
            ];
            l.launch(format!("rnn_cell_{suffix}"), n, args);
        }
    }
    // Outputs go by position; an absent Y's slot is skipped by the caller, so any value fills it.
    let mut outs = vec![
        y.map_or_else(|| Value::device(h.clone()), Value::device),
        Value::device(h),
    ];
    if let Some(c) = c {
        outs.push(Value::device(c));
    }
    Ok(outs)
}

/// A weight stored `[rows, k]` row-major, used transposed as the right operand (`· Wᵀ`).
fn transposed(buf: Buf, k: usize) -> Mat {
    Mat {
        buf,
        ld: k,
        stride: 0,
        trans: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cuda::nvrtc::KERNEL_FILES;

    /// `#define NAME value` of `rnn.cu`.
    fn define(name: &str) -> i32 {
        let src = KERNEL_FILES
            .iter()
            .find(|f| f.name == "rnn")
            .unwrap()
            .source;
        src.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next()? == "#define" && w.next()? == name).then_some(())?;
                w.next()?.parse().ok()
            })
            .unwrap_or_else(|| panic!("{name} is not defined in rnn.cu"))
    }

    #[test]
    fn codes_match_rnn_cu() {
        for (k, n) in [
            (RnnKind::Lstm, "RNN_KIND_LSTM"),
            (RnnKind::Gru, "RNN_KIND_GRU"),
            (RnnKind::Rnn, "RNN_KIND_RNN"),
        ] {
            assert_eq!(kind_code(k), define(n), "{n}");
        }
        assert_eq!(FLAG_INPUT_FORGET, define("RNN_FLAG_INPUT_FORGET"));
        assert_eq!(
            FLAG_LINEAR_BEFORE_RESET,
            define("RNN_FLAG_LINEAR_BEFORE_RESET")
        );
        assert_eq!(ACT_AFFINE, define("RNN_ACT_AFFINE"));
        assert_eq!(ACT_SCALED_TANH, define("RNN_ACT_SCALED_TANH"));
        // Out of apply_act's range, so the two never collide.
        assert!(codes::ACT_CODES.iter().all(|&(_, c)| c < ACT_AFFINE));
    }

    #[test]
    fn activations_map_to_kernel_functions() {
        assert_eq!(activation(Activation::Sigmoid), (7, 0.0, 0.0));
        assert_eq!(activation(Activation::Tanh), (15, 0.0, 0.0));
        let affine = Activation::Affine {
            alpha: 2.0,
            beta: 0.5,
        };
        assert_eq!(activation(affine), (ACT_AFFINE, 2.0, 0.5));
    }
}
