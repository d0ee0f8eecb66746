//! One-node graphs for every op family the CUDA backend has kernels for, with the attribute
//! variants that take different code paths (broadcasting, strides, groups, depthwise, pointwise,
//! fused epilogues, negative slice steps, pad modes, resize modes, FP16), recurrent layers and If.

use super::Case;
use rtforge::ir::*;
use rtforge::tensor::random::random_tensor;
use rtforge::{DType, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// An operand: a graph input (fed with random data) or a constant (an initializer).
enum In {
    Feed(DType, Vec<usize>),
    Const(Tensor),
    /// A graph input fed with this value.
    Value(Tensor),
    Absent,
}

fn feed(shape: &[usize]) -> In {
    In::Feed(DType::F32, shape.to_vec())
}

fn ints(v: &[i64]) -> In {
    In::Const(Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap())
}

fn weight(shape: &[usize], seed: u64) -> In {
    In::Const(random_tensor(DType::F32, shape, seed).unwrap())
}

/// A graph of one node `op` over `inputs`, with `outputs` outputs.
fn single(name: &str, op: Op, inputs: Vec<In>, outputs: usize) -> Case {
    let mut g = Graph {
        name: name.into(),
        ..Default::default()
    };
    let mut feed_map = HashMap::new();
    let mut node_inputs = vec![];
    for (i, inp) in inputs.into_iter().enumerate() {
        let vname = format!("in{i}");
        let seed = i as u64 + 11;
        let fed = match inp {
            In::Feed(dt, shape) => Some(random_tensor(dt, &shape, seed).unwrap()),
            In::Value(t) => Some(t),
            other => {
                match other {
                    In::Const(t) => {
                        let v = g.add_value(ValueInfo::named(vname.clone()));
                        g.initializers.insert(v, Arc::new(t));
                        node_inputs.push(Some(v));
                    }
                    _ => node_inputs.push(None),
                }
                None
            }
        };
        match fed {
            None => {}
            Some(t) => {
                let (dt, shape) = (t.dtype(), t.shape().to_vec());
                let v = g.add_value(ValueInfo {
                    name: vname.clone(),
                    dtype: Some(dt),
                    shape: Some(shape.iter().map(|&d| Dim::Fixed(d)).collect()),
                });
                g.inputs.push(v);
                node_inputs.push(Some(v));
                feed_map.insert(vname, t);
            }
        }
    }
    let outs: Vec<Option<ValueId>> = (0..outputs)
        .map(|i| Some(g.add_value(ValueInfo::named(format!("y{i}")))))
        .collect();
    g.outputs = outs.iter().flatten().copied().collect();
    g.nodes.push(Node {
        name: name.into(),
        op,
        inputs: node_inputs,
        outputs: outs,
    });
    let model = Model {
        graph: g,
        opsets: BTreeMap::from([(String::new(), 17)]),
        ..Default::default()
    };
    Case {
        name: name.into(),
        source: None,
        model,
        feed: feed_map,
        fp16: false,
    }
}

/// The same case with every f32 input and constant in f16.
fn half(mut c: Case) -> Case {
    for t in c.feed.values_mut() {
        if t.dtype() == DType::F32 {
            *t = t.cast(DType::F16);
        }
    }
    let g = &mut c.model.graph;
    for &v in &g.inputs.clone() {
        if g.value(v).dtype == Some(DType::F32) {
            g.value_mut(v).dtype = Some(DType::F16);
        }
    }
    for t in g.initializers.values_mut() {
        if t.dtype() == DType::F32 {
            *t = Arc::new(t.cast(DType::F16));
        }
    }
    c.name = format!("{} fp16", c.name);
    c.fp16 = true;
    c
}

fn conv(group: usize, strides: &[usize], pads: &[usize], dil: &[usize], ep: Epilogue) -> Op {
    Op::Conv(Conv {
        auto_pad: AutoPad::NotSet,
        dilations: dil.to_vec(),
        group,
        kernel_shape: vec![],
        pads: pads.to_vec(),
        strides: strides.to_vec(),
        epilogue: ep,
    })
}

fn pool(kind: PoolKind, k: &[usize], s: &[usize], p: &[usize], ceil: bool, cip: bool) -> Op {
    Op::Pool(Pool {
        kind,
        auto_pad: AutoPad::NotSet,
        ceil_mode: ceil,
        count_include_pad: cip,
        dilations: vec![],
        kernel_shape: k.to_vec(),
        pads: p.to_vec(),
        strides: s.to_vec(),
        storage_order: 0,
    })
}

fn resize(mode: ResizeMode, coord: CoordTransform) -> Op {
    Op::Resize(Resize {
        mode,
        coord,
        ..Resize::default()
    })
}

fn unary(k: UnaryKind) -> Op {
    Op::Unary(Unary { kind: k })
}

fn binary(k: BinaryKind) -> Op {
    Op::Binary(Binary { kind: k })
}

fn relu() -> Option<FusedActivation> {
    Some(FusedActivation::Unary(UnaryKind::Relu))
}

/// A feature map of 2 images, 3 channels, 4×5.
fn x() -> In {
    feed(&[2, 3, 4, 5])
}

/// A 2×3×9×10 image batch.
fn img() -> In {
    feed(&[2, 3, 9, 10])
}

/// Resize scales for NCHW: 2× height, 1.5× width.
fn scales() -> In {
    In::Const(Tensor::from_vec(vec![4], vec![1.0f32, 1.0, 2.0, 1.5]).unwrap())
}

fn none() -> Epilogue {
    Epilogue::default()
}

fn mm(epilogue: Epilogue) -> Op {
    Op::MatMul(MatMul { epilogue })
}

pub mod control;
mod elementwise;
pub mod fallback;
mod layout;
mod nn;
mod recurrent;

/// Every op case.
pub fn op_cases() -> Vec<Case> {
    let mut v = elementwise::cases();
    v.extend(nn::cases());
    v.extend(layout::cases());
    v.extend(recurrent::cases());
    v.extend(control::cases());
    v
}

/// Positive values (for Div, Pow, Mod divisors).
fn pos_like(shape: &[usize]) -> In {
    let t = random_tensor(DType::F32, shape, 5).unwrap();
    let v: Vec<f32> = t.to_vec::<f32>().iter().map(|x| x.abs() + 0.5).collect();
    In::Const(Tensor::from_vec(shape.to_vec(), v).unwrap())
}
