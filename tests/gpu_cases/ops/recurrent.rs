//! LSTM, GRU and RNN cases: each direction, both layouts, initial states, peepholes,
//! sequence_lens, clip, input_forget, linear_before_reset, non-default activations and FP16.
//! Sequence 4, batch 2, input 5, hidden 3 unless a case says otherwise.

use super::*;

const SEQ: usize = 4;
const BATCH: usize = 2;
const INPUT: usize = 5;
const HIDDEN: usize = 3;

fn default_acts(kind: RnnKind) -> Vec<Activation> {
    match kind {
        RnnKind::Lstm => vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
        RnnKind::Gru => vec![Activation::Sigmoid, Activation::Tanh],
        RnnKind::Rnn => vec![Activation::Tanh],
    }
}

fn op(kind: RnnKind, direction: RnnDirection) -> Rnn {
    let dirs = if direction == RnnDirection::Bidirectional {
        2
    } else {
        1
    };
    Rnn {
        kind,
        hidden_size: HIDDEN,
        direction,
        activations: default_acts(kind).repeat(dirs),
        clip: None,
        batch_major: false,
        linear_before_reset: false,
        input_forget: false,
    }
}

/// The inputs of `p` up to its last present optional one: X fed; W, R and B as weights;
/// sequence_lens as given; initial states fed when `states`; P as a weight when `peephole`.
fn inputs(p: &Rnn, lens: Option<Vec<i32>>, states: bool, peephole: bool) -> Vec<In> {
    let dirs = p.activations.len() / default_acts(p.kind).len();
    let gh = match p.kind {
        RnnKind::Lstm => 4,
        RnnKind::Gru => 3,
        RnnKind::Rnn => 1,
    } * HIDDEN;
    let x = if p.batch_major {
        feed(&[BATCH, SEQ, INPUT])
    } else {
        feed(&[SEQ, BATCH, INPUT])
    };
    let state = || {
        if !states {
            In::Absent
        } else if p.batch_major {
            feed(&[BATCH, dirs, HIDDEN])
        } else {
            feed(&[dirs, BATCH, HIDDEN])
        }
    };
    let lens = match lens {
        Some(v) => In::Const(Tensor::from_vec(vec![v.len()], v).unwrap()),
        None => In::Absent,
    };
    let mut v = vec![
        x,
        weight(&[dirs, gh, INPUT], 1),
        weight(&[dirs, gh, HIDDEN], 2),
        weight(&[dirs, 2 * gh], 3),
        lens,
        state(),
    ];
    if p.kind == RnnKind::Lstm {
        v.push(state());
        v.push(if peephole {
            weight(&[dirs, 3 * HIDDEN], 4)
        } else {
            In::Absent
        });
    }
    v
}

fn outputs(kind: RnnKind) -> usize {
    if kind == RnnKind::Lstm {
        3
    } else {
        2
    }
}

fn case(name: &str, p: Rnn, ins: Vec<In>) -> Case {
    let n = outputs(p.kind);
    single(name, Op::Rnn(p), ins, n)
}

pub fn cases() -> Vec<Case> {
    use RnnDirection::*;
    use RnnKind::*;
    let mut v = Vec::new();
    let p = op(Lstm, Forward);
    v.push(case(
        "LSTM forward",
        p.clone(),
        inputs(&p, None, false, false),
    ));
    v.push(half(case(
        "LSTM forward",
        p.clone(),
        inputs(&p, None, true, false),
    )));
    let p = op(Lstm, Bidirectional);
    v.push(case(
        "LSTM bidirectional initial state",
        p.clone(),
        inputs(&p, None, true, false),
    ));
    let mut p = op(Lstm, Reverse);
    p.clip = Some(0.8);
    v.push(case(
        "LSTM reverse peephole sequence_lens clip",
        p.clone(),
        inputs(&p, Some(vec![SEQ as i32, 2]), true, true),
    ));
    let mut p = op(Lstm, Bidirectional);
    p.batch_major = true;
    p.input_forget = true;
    v.push(case(
        "LSTM batch-major bidirectional input_forget",
        p.clone(),
        inputs(&p, Some(vec![1, SEQ as i32]), true, false),
    ));
    let mut p = op(Lstm, Forward);
    p.activations = vec![
        Activation::HardSigmoid {
            alpha: 0.3,
            beta: 0.4,
        },
        Activation::ScaledTanh {
            alpha: 1.5,
            beta: 0.7,
        },
        Activation::Affine {
            alpha: 0.5,
            beta: 0.1,
        },
    ];
    v.push(case(
        "LSTM custom activations",
        p.clone(),
        inputs(&p, None, false, false),
    ));
    // Only Y_h and Y_c wanted: the cells write no Y.
    let p = op(Lstm, Forward);
    let mut c = case("LSTM without Y", p.clone(), inputs(&p, None, true, true));
    let g = &mut c.model.graph;
    let y = g.nodes[0].outputs[0].take();
    g.outputs.retain(|&o| Some(o) != y);
    v.push(c);
    let p = op(Gru, Forward);
    v.push(case(
        "GRU forward",
        p.clone(),
        inputs(&p, None, true, false),
    ));
    let p = op(Gru, Reverse);
    v.push(case(
        "GRU reverse zero state",
        p.clone(),
        inputs(&p, Some(vec![3, 0]), false, false),
    ));
    let mut p = op(Gru, Bidirectional);
    p.linear_before_reset = true;
    v.push(case(
        "GRU bidirectional linear_before_reset",
        p.clone(),
        inputs(&p, None, true, false),
    ));
    let mut p = op(Rnn, Forward);
    p.activations = vec![Activation::Relu];
    p.batch_major = true;
    v.push(case(
        "RNN relu batch-major sequence_lens",
        p.clone(),
        inputs(&p, Some(vec![2, SEQ as i32]), true, false),
    ));
    let mut p = op(Rnn, Bidirectional);
    p.activations = vec![Activation::Tanh, Activation::Softsign];
    v.push(half(case(
        "RNN bidirectional",
        p.clone(),
        inputs(&p, None, true, false),
    )));
    v
}
