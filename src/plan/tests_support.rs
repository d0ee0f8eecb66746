//! Small models and plans for the unit tests of this module.

use super::{BuildOptions, Fingerprint, Plan, Precision};
use crate::ir::{Binary, BinaryKind, Dim, Graph, Model, Node, Op, ValueInfo};
use crate::tensor::{DType, Tensor};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `y = x + w`, x and y float32[2, 3], w = 1..6.
pub fn add_model() -> Model {
    let mut g = Graph {
        name: "g".into(),
        ..Default::default()
    };
    let info = |name: &str| ValueInfo {
        name: name.into(),
        dtype: Some(DType::F32),
        shape: Some(vec![Dim::Fixed(2), Dim::Fixed(3)]),
    };
    let x = g.add_value(info("x"));
    let w = g.add_value(info("w"));
    let y = g.add_value(info("y"));
    g.inputs = vec![x];
    g.outputs = vec![y];
    let weights = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("2x3");
    g.initializers.insert(w, Arc::new(weights));
    g.nodes.push(Node {
        name: "add".into(),
        op: Op::Binary(Binary {
            kind: BinaryKind::Add,
        }),
        inputs: vec![Some(x), Some(w)],
        outputs: vec![Some(y)],
    });
    Model {
        graph: g,
        source: "add.onnx".into(),
        ..Default::default()
    }
}

/// An FP32 CPU plan of `model` with no profile.
pub fn plan_of(model: Model) -> Plan {
    Plan {
        model,
        fingerprint: Fingerprint {
            rtforge: crate::VERSION.into(),
            backend: "cpu".into(),
            precision: Precision::Fp32,
            device_name: None,
            compute_capability: None,
        },
        build: BuildOptions {
            source: "add.onnx".into(),
            batch: None,
            opt_level: 3,
            threads: None,
            no_tf32: false,
            arch: None,
            allow_cpu_fallback: false,
        },
        profiles: vec![],
        payloads: BTreeMap::new(),
    }
}
