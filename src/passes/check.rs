//! Test support for passes: build a small model with the zoo's graph builder, run it on the CPU
//! backend before and after a pass list, and compare every output. Each pass's tests use this to
//! show both that the pattern fired and that the outputs did not change.

use super::{Pass, PassManager};
use crate::backend::CompileOptions;
use crate::ir::Model;
use crate::onnx::proto::{ModelProto, OperatorSetIdProto};
use crate::tensor::{random::random_tensor, Tensor};
use crate::zoo::builder::GraphBuilder;
use crate::Session;
use std::collections::HashMap;

/// Imports what `b` built as an opset-17 model.
pub fn model(b: GraphBuilder) -> Model {
    let mp = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(b.finish("test")),
        ..Default::default()
    };
    crate::onnx::import_model(&mp, "test", None).expect("test model imports")
}

/// Seeded random inputs for every graph input (shapes must be static).
pub fn inputs(m: &Model) -> HashMap<String, Tensor> {
    let g = &m.graph;
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let info = g.value(v);
            let shape = super::pattern::static_shape(g, v).expect("static input shape");
            let t = random_tensor(info.dtype.expect("input dtype"), &shape, 7 + i as u64)
                .expect("random input");
            (info.name.clone(), t)
        })
        .collect()
}

/// Runs `m` on the CPU backend.
pub fn run(m: &Model, feed: &HashMap<String, Tensor>) -> Vec<(String, Tensor)> {
    let mut s = Session::new(m, "cpu", &CompileOptions::with_threads(Some(2))).expect("compiles");
    s.run(feed).expect("runs")
}

/// Runs `passes` on a copy of `m` to a fixed point; asserts the outputs (names, shapes, values
/// within `tol` relative L2) are unchanged; returns the optimized model and the change counts.
pub fn optimize_and_compare(
    m: &Model,
    passes: Vec<Box<dyn Pass>>,
    tol: f64,
) -> (Model, Vec<(&'static str, usize)>) {
    optimize_and_compare_on(m, passes, tol, &inputs(m))
}

/// [`optimize_and_compare`] on given inputs (for models whose inputs must lie in a range, such as
/// token ids).
pub fn optimize_and_compare_on(
    m: &Model,
    passes: Vec<Box<dyn Pass>>,
    tol: f64,
    feed: &HashMap<String, Tensor>,
) -> (Model, Vec<(&'static str, usize)>) {
    let before = run(m, feed);
    let mut opt = m.clone();
    let counts = PassManager::new(passes)
        .run(&mut opt.graph)
        .expect("passes run");
    let after = run(&opt, feed);
    assert_eq!(before.len(), after.len());
    for ((n0, t0), (n1, t1)) in before.iter().zip(&after) {
        assert_eq!(n0, n1, "output names must survive optimization");
        assert_eq!(t0.shape(), t1.shape(), "output '{n0}' shape");
        let (a, b) = (t0.to_vec::<f64>(), t1.to_vec::<f64>());
        let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f64 = a.iter().map(|x| x * x).sum::<f64>().max(1e-30);
        let rel = (num / den).sqrt();
        assert!(
            rel <= tol,
            "output '{n0}' changed: relative L2 {rel:e} > {tol:e}"
        );
    }
    (opt, counts)
}

/// How many nodes of each op type the graph has.
pub fn count(m: &Model, op: &str) -> usize {
    m.graph.op_counts().get(op).copied().unwrap_or(0)
}
