//! Which ops the CUDA backend runs on the device, decided from the graph alone so that a model
//! with an op it lacks fails when the engine is built, naming every such node, instead of on the
//! first query.
//!
//! A node needs a device kernel unless its value is known before running: `Shape` and `Size`
//! (answered from shapes) and any node whose inputs are all known on the host (initializers and
//! what is computed from them, from shapes and from small integer inputs) are evaluated on the
//! host by the CPU kernels. An `If` whose condition is known that way has its branches checked
//! like the main graph; one whose condition is computed on the device is refused.
//!
//! With `--allow-cpu-fallback` a node the device has no kernel for runs on the host between
//! device steps ([`super::host`]), provided its output shapes can be planned before running: a
//! program's arena is laid out once per set of input shapes. `NonZero`, `Loop` and an `If` on a
//! device condition produce shapes only their data decides, so they are refused even then, as is
//! a node whose shape-deciding input (TopK's `K`, OneHot's `depth`, ...) is computed on the device.

use super::control::branches;
use super::input_spec::declared_host_input;
use crate::error::{Error, Result};
use crate::ir::*;

/// `Ok` when the device has a kernel for `op` with these parameters; otherwise what is missing.
/// Dtype and shape limits are checked when lowering, where they are known.
pub fn device_op(op: &Op) -> Result<(), String> {
    let missing = |what: &str| Err(format!("the CUDA backend has no kernel for {what}"));
    match op {
        Op::Unary(u) => match u.kind {
            UnaryKind::IsNaN | UnaryKind::IsInf { .. } | UnaryKind::BitwiseNot => {
                missing(u.kind.name())
            }
            _ => Ok(()),
        },
        Op::Binary(b) => match b.kind {
            BinaryKind::BitShift { .. }
            | BinaryKind::BitwiseAnd
            | BinaryKind::BitwiseOr
            | BinaryKind::BitwiseXor => missing(b.kind.name()),
            _ => Ok(()),
        },
        Op::Pool(p) if matches!(p.kind, PoolKind::Lp(_)) => missing("LpPool"),
        Op::GlobalPool(p) if matches!(p.kind, PoolKind::Lp(_)) => missing("GlobalLpPool"),
        Op::Resize(r) if r.mode == ResizeMode::Cubic => missing("Resize with mode 'cubic'"),
        Op::Resize(r) if r.antialias => missing("Resize with antialias"),
        Op::Resize(r) if r.coord == CoordTransform::TfCropAndResize => {
            missing("Resize with coordinate_transformation_mode 'tf_crop_and_resize'")
        }
        Op::Variadic(_)
        | Op::Clip(_)
        | Op::Where
        | Op::PRelu
        | Op::Cast(_)
        | Op::CastLike
        | Op::Identity
        | Op::Dropout(_)
        | Op::Softmax(_)
        | Op::LogSoftmax(_)
        | Op::Conv(_)
        | Op::ConvTranspose(_)
        | Op::Pool(_)
        | Op::GlobalPool(_)
        | Op::BatchNormalization(_)
        | Op::InstanceNormalization(_)
        | Op::LayerNormalization(_)
        | Op::Gemm(_)
        | Op::MatMul(_)
        | Op::Reshape(_)
        | Op::Flatten(_)
        | Op::Transpose(_)
        | Op::Squeeze(_)
        | Op::Unsqueeze(_)
        | Op::Concat(_)
        | Op::Split(_)
        | Op::Slice(_)
        | Op::Gather(_)
        | Op::Expand
        | Op::Shape(_)
        | Op::Size
        | Op::Tile
        | Op::Pad(_)
        | Op::Resize(_)
        | Op::DepthToSpace(_)
        | Op::SpaceToDepth(_)
        | Op::Reduce(_)
        | Op::Attention(_)
        | Op::ElementwiseChain(_)
        | Op::Rnn(_) => Ok(()),
        // Lowered inline when its condition is known before running; `check` sees to that.
        Op::If(_) => Ok(()),
        Op::Hardmax(_)
        | Op::Einsum(_)
        | Op::GatherElements(_)
        | Op::GatherND(_)
        | Op::ScatterND(_)
        | Op::ScatterElements(_)
        | Op::ConstantOfShape(_)
        | Op::Range
        | Op::Trilu(_)
        | Op::OneHot(_)
        | Op::EyeLike(_)
        | Op::ArgReduce(_)
        | Op::TopK(_)
        | Op::CumSum(_)
        | Op::NonZero
        | Op::Loop(_)
        | Op::QuantizeLinear(_)
        | Op::DequantizeLinear(_) => missing(op.name()),
    }
}

/// Why a node of this op cannot run on the host between device steps, if it cannot: its output
/// shapes depend on the values it reads, so the arena cannot be planned before running.
pub fn host_fallback(op: &Op) -> Result<(), String> {
    match op {
        Op::NonZero => Err("its output shape depends on the values of its input".into()),
        Op::Loop(_) => Err("its output shapes depend on the values the loop computes".into()),
        Op::If(_) => Err("its output shapes may depend on the condition".into()),
        _ => Ok(()),
    }
}

/// The inputs of `op` whose values (not only shapes) decide its output shapes: run on the host,
/// the node needs them known before running.
pub fn shape_inputs(op: &Op) -> &'static [usize] {
    match op {
        Op::TopK(_) | Op::OneHot(_) => &[1],
        Op::ConstantOfShape(_) => &[0],
        Op::Range => &[0, 1, 2],
        Op::Resize(_) => &[2, 3],
        _ => &[],
    }
}

/// A tensor copied between the device and the host around a [`HostNode`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Transfer {
    pub name: String,
    /// The graph's dtype and shape of the value, `f32[2,8]` (`?` where not inferred).
    #[serde(rename = "type")]
    pub ty: String,
}

/// A node that runs on the CPU because the device has no kernel for it, with what crosses the bus
/// each query.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HostNode {
    pub name: String,
    pub op: &'static str,
    /// Device values copied to the host before the node runs.
    pub to_host: Vec<Transfer>,
    /// Outputs copied to the device after it ran.
    pub to_device: Vec<Transfer>,
}

impl HostNode {
    fn new(g: &Graph, n: &Node, known: &[bool]) -> HostNode {
        let describe = |v: &ValueId| Transfer {
            name: g.name_of(*v).to_string(),
            ty: g.value(*v).describe(),
        };
        HostNode {
            name: n.name.clone(),
            op: n.op.name(),
            to_host: n
                .inputs
                .iter()
                .flatten()
                .filter(|v| !known[v.0])
                .map(describe)
                .collect(),
            to_device: n.outputs.iter().flatten().map(describe).collect(),
        }
    }
}

/// Why `n`, which has no device kernel, cannot run on the host either, if it cannot.
fn host_refusal(n: &Node, known: &[bool]) -> Option<String> {
    if let Err(why) = host_fallback(&n.op) {
        return Some(why);
    }
    shape_inputs(&n.op).iter().find_map(|&i| {
        n.input(i).filter(|v| !known[v.0]).map(|_| {
            format!("its input {i} decides the output shape but is computed on the device")
        })
    })
}

/// Which values of `g` are known on the host before running, whatever the input shapes.
pub fn host_known(g: &Graph) -> Vec<bool> {
    let mut known = vec![false; g.values.len()];
    for &v in &g.inputs {
        known[v.0] = declared_host_input(g.value(v));
    }
    propagate(g, &mut known);
    known
}

/// Whether `n` runs on the host given what is `known`.
fn on_host(n: &Node, known: &[bool]) -> bool {
    matches!(n.op, Op::Shape(_) | Op::Size) || n.inputs.iter().flatten().all(|v| known[v.0])
}

/// Marks the initializers of `g` and every node output computable on the host as known; an `If`
/// with a known condition gives known outputs when both branches do.
fn propagate(g: &Graph, known: &mut [bool]) {
    for v in g.initializers.keys() {
        known[v.0] = true;
    }
    for n in &g.nodes {
        let outs = match &n.op {
            _ if on_host(n, known) => true,
            Op::If(p) if n.input(0).is_some_and(|c| known[c.0]) => {
                branches(n, p).iter().all(|(b, caps)| {
                    let inner = branch_known(b, caps, known);
                    b.outputs.iter().all(|v| inner[v.0])
                })
            }
            _ => false,
        };
        if outs {
            for o in n.outputs.iter().flatten() {
                known[o.0] = true;
            }
        }
    }
}

/// What is known inside `branch`, whose captures are fed by the outer values `caps`.
fn branch_known(branch: &Graph, caps: &[Option<ValueId>], outer: &[bool]) -> Vec<bool> {
    let mut known = vec![false; branch.values.len()];
    for (inner, outer_v) in branch.captures.iter().zip(caps) {
        known[inner.0] = outer_v.is_some_and(|v| outer[v.0]);
    }
    propagate(branch, &mut known);
    known
}

/// What [`check_nodes`] collects.
struct Findings {
    allow_cpu_fallback: bool,
    /// A line per node that can run nowhere.
    bad: Vec<String>,
    /// Nodes without a device kernel that run on the CPU (with fallback allowed).
    host: Vec<HostNode>,
}

/// Adds a line to `bad` for every node of `g` that neither runs on the host nor has a device
/// kernel (nor, when allowed, can fall back to the CPU), looking into the branches of each `If`
/// lowered inline.
fn check_nodes(g: &Graph, known: &[bool], f: &mut Findings) {
    for n in &g.nodes {
        if on_host(n, known) {
            continue;
        }
        let why = match &n.op {
            Op::If(p) if n.input(0).is_some_and(|c| known[c.0]) => {
                for (b, caps) in branches(n, p) {
                    check_nodes(b, &branch_known(b, caps, known), f);
                }
                continue;
            }
            Op::If(_) => "its condition is computed on the device; the CUDA backend runs If only \
                          when the condition is known before running"
                .to_string(),
            op => match device_op(op) {
                Ok(()) => continue,
                Err(why) => why,
            },
        };
        if !f.allow_cpu_fallback {
            f.bad
                .push(format!("  - node '{}' ({}): {why}", n.name, n.op.name()));
            continue;
        }
        match host_refusal(n, known) {
            None => f.host.push(HostNode::new(g, n, known)),
            Some(no) => f.bad.push(format!(
                "  - node '{}' ({}): {why}, and it cannot fall back to the CPU: {no}",
                n.name,
                n.op.name()
            )),
        }
    }
}

/// Checks that every node of `g` either runs on the host or has a device kernel; the error lists
/// every node that has neither.
pub fn check(g: &Graph) -> Result<()> {
    check_with(g, false).map(|_| ())
}

/// [`check`], where with `allow_cpu_fallback` a node without a device kernel may run on the CPU
/// between device steps; returns those nodes (none without fallback).
pub fn check_with(g: &Graph, allow_cpu_fallback: bool) -> Result<Vec<HostNode>> {
    let mut f = Findings {
        allow_cpu_fallback,
        bad: vec![],
        host: vec![],
    };
    check_nodes(g, &host_known(g), &mut f);
    let bad = f.bad;
    if bad.is_empty() {
        return Ok(f.host);
    }
    Err(Error::Backend {
        backend: "cuda".into(),
        msg: format!(
            "{} node(s) of graph '{}' cannot run on the GPU:\n{}",
            bad.len(),
            g.name,
            bad.join("\n")
        ),
    })
}
