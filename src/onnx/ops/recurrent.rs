//! Recurrent layers: LSTM, GRU, RNN, with activations defaulted per the spec.
//! <https://onnx.ai/onnx/operators/onnx__LSTM.html>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;

fn activation(
    c: &NodeCtx,
    name: &str,
    alpha: Option<f32>,
    beta: Option<f32>,
) -> Result<Activation> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "affine" => Activation::Affine {
            alpha: alpha.unwrap_or(1.0),
            beta: beta.unwrap_or(0.0),
        },
        "leakyrelu" => Activation::LeakyRelu {
            alpha: alpha.unwrap_or(0.01),
        },
        "thresholdedrelu" => Activation::ThresholdedRelu {
            alpha: alpha.unwrap_or(1.0),
        },
        "scaledtanh" => Activation::ScaledTanh {
            alpha: alpha.unwrap_or(1.0),
            beta: beta.unwrap_or(1.0),
        },
        "hardsigmoid" => Activation::HardSigmoid {
            alpha: alpha.unwrap_or(0.2),
            beta: beta.unwrap_or(0.5),
        },
        "elu" => Activation::Elu {
            alpha: alpha.unwrap_or(1.0),
        },
        "softsign" => Activation::Softsign,
        "softplus" => Activation::Softplus,
        other => return Err(c.err(format!("unknown activation '{other}'"))),
    })
}

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    let kind = match c.op_type {
        "LSTM" => RnnKind::Lstm,
        "GRU" => RnnKind::Gru,
        "RNN" => RnnKind::Rnn,
        _ => return Ok(None),
    };
    let direction = match c.string("direction", "forward").as_str() {
        "forward" => RnnDirection::Forward,
        "reverse" => RnnDirection::Reverse,
        "bidirectional" => RnnDirection::Bidirectional,
        other => return Err(c.err(format!("unknown direction '{other}'"))),
    };
    let hidden_size = c
        .int_opt("hidden_size")
        .ok_or_else(|| c.err("hidden_size is required"))?;
    if hidden_size <= 0 {
        return Err(c.err(format!("hidden_size must be positive, got {hidden_size}")));
    }
    let num_dirs = if direction == RnnDirection::Bidirectional {
        2
    } else {
        1
    };
    let defaults: &[&str] = match kind {
        RnnKind::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        RnnKind::Gru => &["Sigmoid", "Tanh"],
        RnnKind::Rnn => &["Tanh"],
    };
    let names = c.strings("activations");
    let alphas = c.floats_opt("activation_alpha").unwrap_or_default();
    let betas = c.floats_opt("activation_beta").unwrap_or_default();
    let per_dir = defaults.len();
    let mut activations = Vec::with_capacity(per_dir * num_dirs);
    for i in 0..per_dir * num_dirs {
        let name = names
            .get(i)
            .map(String::as_str)
            .unwrap_or(defaults[i % per_dir]);
        activations.push(activation(
            c,
            name,
            alphas.get(i).copied(),
            betas.get(i).copied(),
        )?);
    }
    Ok(Some(Op::Rnn(Rnn {
        kind,
        hidden_size: hidden_size as usize,
        direction,
        activations,
        clip: c.float_opt("clip"),
        batch_major: c.int("layout", 0) == 1,
        linear_before_reset: c.bool("linear_before_reset", false),
        input_forget: c.bool("input_forget", false),
    })))
}
