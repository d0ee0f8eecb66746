//! LayerNormalization recognition: the decomposed form exporters wrote before opset 17,
//! `ReduceMean(x) → Sub(x, mean) → Pow(d, 2) | Mul(d, d) → ReduceMean → Add(eps) → Sqrt →
//! Div(d, ·) [→ Mul(gamma)] [→ Add(beta)]` over the last axis, becomes one LayerNormalization,
//! which reads x once for its statistics and once to normalize, instead of seven to nine passes.
//! <https://onnx.ai/onnx/operators/onnx__LayerNormalization.html>
//!
//! The axes come as the ReduceMean attribute (opset < 18) or as a constant input (opset 18+).
//! Gamma and beta must be constants with one value per normalized element (or one in all);
//! absent ones become constant ones and zeros. Runs before `FuseElementwise`.

use super::pattern::{
    other_input, out0, scalar_number, scalar_operand, single_reader_op, static_shape, FusedNames,
    Uses,
};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{
    Dim, Graph, LayerNormalization, Node, NodeId, Op, Patch, ReduceKind, ValueId, ValueInfo,
};
use crate::tensor::Tensor;
use std::sync::Arc;

/// Replaces decomposed layer normalization by `Op::LayerNormalization`.
pub struct FuseLayerNorm;

/// One recognized normalization.
struct Match {
    x: ValueId,
    epsilon: f32,
    gamma: Option<ValueId>,
    beta: Option<ValueId>,
    nodes: Vec<NodeId>,
    out: ValueId,
}

impl Pass for FuseLayerNorm {
    fn name(&self) -> &'static str {
        "fuse_layer_norm"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut names = FusedNames::new(g);
        let mut p = Patch::new(g);
        let mut taken = vec![false; g.nodes.len()];
        let mut fused = 0;
        for i in 0..g.nodes.len() {
            let Some(m) = recognize(g, &uses, NodeId(i)) else {
                continue;
            };
            if m.nodes.iter().any(|n| taken[n.0]) {
                continue;
            }
            let Some(dtype) = g.value(m.x).dtype.filter(|d| d.is_float()) else {
                continue;
            };
            // One value per normalized element when the last dim is known; else one broadcast value.
            let width = static_shape(g, m.x)
                .and_then(|s| s.last().copied())
                .unwrap_or(1);
            let mut param = |v: Option<ValueId>, fill: f32, what: &str| -> Result<ValueId> {
                Ok(match v {
                    Some(v) if g.initializer(v).is_some_and(|t| t.rank() <= 1) => v,
                    _ => {
                        // A gamma/beta of shape [1, .., 1, D] is reshaped to [D]; an absent one is filled.
                        let t = match v.and_then(|v| g.initializer(v)) {
                            Some(t) => (**t).clone().reshape(vec![t.len()])?,
                            None => Tensor::from_vec(vec![width], vec![fill; width])?.cast(dtype),
                        };
                        let name = format!("{}.{what}", g.name_of(m.out));
                        let id = p.add_value(ValueInfo {
                            name,
                            dtype: Some(dtype),
                            shape: Some(vec![Dim::Fixed(t.len())]),
                        });
                        p.set_initializer(id, Arc::new(t));
                        id
                    }
                })
            };
            let (scale, bias) = (param(m.gamma, 1.0, "scale")?, param(m.beta, 0.0, "bias")?);
            let last = &g.nodes[m.nodes[m.nodes.len() - 1].0].name;
            let name = names.fresh(last, "LayerNormalization");
            let replaced: Vec<&str> = m.nodes.iter().map(|n| g.nodes[n.0].name.as_str()).collect();
            tracing::debug!(
                pass = self.name(),
                node = %name,
                epsilon = m.epsilon,
                replaced = ?replaced,
                "fused LayerNormalization"
            );
            for &n in &m.nodes {
                taken[n.0] = true;
                p.remove_node(n);
            }
            p.add_node(Node {
                name,
                op: Op::LayerNormalization(LayerNormalization {
                    axis: -1,
                    epsilon: m.epsilon,
                }),
                inputs: vec![Some(m.x), Some(scale), Some(bias)],
                outputs: vec![Some(m.out)],
            });
            fused += 1;
        }
        if fused == 0 {
            return Ok(false);
        }
        p.apply(g, self.name())?;
        Ok(true)
    }
}

/// Whether `n` is a ReduceMean over the last axis of its input, keeping dims.
fn mean_over_last_axis(g: &Graph, n: &Node) -> bool {
    let Op::Reduce(r) = &n.op else { return false };
    if r.kind != ReduceKind::Mean || !r.keepdims {
        return false;
    }
    let axes = match &r.axes {
        Some(a) => a.clone(),
        None => match n.input(1).and_then(|v| g.initializer(v)) {
            Some(t) if t.dtype().is_int() => t.to_i64_vec(),
            _ => return false,
        },
    };
    let rank = n
        .input(0)
        .and_then(|x| g.value(x).shape.as_ref().map(|s| s.len() as i64));
    matches!(axes.as_slice(), [-1]) || (axes.len() == 1 && rank == Some(axes[0] + 1))
}

/// The pattern, anchored at its first ReduceMean.
fn recognize(g: &Graph, uses: &Uses, first: NodeId) -> Option<Match> {
    let rm1 = &g.nodes[first.0];
    if !mean_over_last_axis(g, rm1) {
        return None;
    }
    let x = rm1.input(0)?;
    let mean = out0(rm1)?;
    let sub = single_reader_op(g, uses, mean, "Sub")?;
    let sn = &g.nodes[sub.0];
    (sn.input(0) == Some(x) && sn.input(1) == Some(mean)).then_some(())?;
    let d = out0(sn)?;
    // d feeds exactly the square and the final division.
    let [a, b] = uses.readers(d) else { return None };
    if uses.is_graph_output(d) {
        return None;
    }
    let is_square = |n: NodeId| {
        let nd = &g.nodes[n.0];
        match nd.op.name() {
            "Pow" => nd.input(0) == Some(d) && scalar_number(g, nd.input(1), d) == Some(2.0),
            "Mul" => nd.input(0) == Some(d) && nd.input(1) == Some(d),
            _ => false,
        }
    };
    let (sq, div) = if is_square(*a) {
        (*a, *b)
    } else if is_square(*b) {
        (*b, *a)
    } else {
        return None;
    };
    let sq_out = out0(&g.nodes[sq.0])?;
    let rm2 = uses.single_reader(g, sq_out)?;
    mean_over_last_axis(g, &g.nodes[rm2.0]).then_some(())?;
    let var = out0(&g.nodes[rm2.0])?;
    let add = single_reader_op(g, uses, var, "Add")?;
    let epsilon = scalar_operand(g, other_input(&g.nodes[add.0], var), var)?;
    let sqrt = single_reader_op(g, uses, out0(&g.nodes[add.0])?, "Sqrt")?;
    let std = out0(&g.nodes[sqrt.0])?;
    let dn = &g.nodes[div.0];
    let div_ok = dn.op.name() == "Div" && dn.input(0) == Some(d) && dn.input(1) == Some(std);
    (div_ok && uses.single_reader(g, std) == Some(div)).then_some(())?;
    let mut nodes = vec![first, sub, sq, rm2, add, sqrt, div];
    let mut out = out0(dn)?;
    let (gamma, beta) = (
        affine(g, uses, x, &mut out, &mut nodes, "Mul"),
        affine(g, uses, x, &mut out, &mut nodes, "Add"),
    );
    Some(Match {
        x,
        epsilon,
        gamma,
        beta,
        nodes,
        out,
    })
}

/// The optional `Mul(gamma)` / `Add(beta)` after the normalization: when `out`'s only reader is
/// `op` with a fitting constant, absorbs it (moving `out` on) and returns the constant.
fn affine(
    g: &Graph,
    uses: &Uses,
    x: ValueId,
    out: &mut ValueId,
    nodes: &mut Vec<NodeId>,
    op: &str,
) -> Option<ValueId> {
    let r = single_reader_op(g, uses, *out, op)?;
    let c = other_input(&g.nodes[r.0], *out)?;
    let t = g.initializer(c)?;
    let x_shape = static_shape(g, x);
    let width = x_shape.as_ref().and_then(|s| s.last().copied());
    // One value per element of the last axis, or one in all; leading dims 1 and no more of them
    // than x has, so the Mul/Add never widened the result.
    let leading_ones = t.shape().iter().rev().skip(1).all(|&d| d == 1);
    let fits = (t.len() == 1 || Some(t.len()) == width)
        && leading_ones
        && t.rank() <= x_shape.map_or(1, |s| s.len())
        && Some(t.dtype()) == g.value(x).dtype;
    fits.then_some(())?;
    nodes.push(r);
    *out = out0(&g.nodes[r.0])?;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::{ModelProto, OperatorSetIdProto};
    use crate::passes::check::{count, model, optimize_and_compare};
    use crate::passes::EliminateDead;
    use crate::tensor::DType;
    use crate::zoo::builder::Attr;
    use crate::zoo::{GraphBuilder, Init};

    /// How the decomposition is written.
    struct Form {
        /// Axes as a constant input (opset 18) instead of the attribute.
        axes_input: bool,
        /// `Mul(d, d)` instead of `Pow(d, 2)`.
        mul_square: bool,
        /// Gamma's shape, if there is a Mul(gamma).
        gamma: Option<Vec<usize>>,
        beta: bool,
    }

    /// x `[2, 5, 16]` → Relu → decomposed norm → y.
    fn decomposed(b: &mut GraphBuilder, f: &Form) -> String {
        let x = b.input("x", DType::F32, &[2, 5, 16]);
        let x = b.relu("pre", &x);
        let mean = |b: &mut GraphBuilder, v: &str| {
            if f.axes_input {
                let axes = b.unique("axes");
                let axes = b.ints(&axes, &[-1]);
                b.node(
                    "ReduceMean",
                    "ln",
                    &[v, &axes],
                    vec![("keepdims", Attr::Int(1))],
                )
            } else {
                b.node(
                    "ReduceMean",
                    "ln",
                    &[v],
                    vec![("axes", Attr::Ints(vec![2])), ("keepdims", Attr::Int(1))],
                )
            }
        };
        let m = mean(b, &x);
        let d = b.binary("Sub", "ln", &x, &m);
        let sq = if f.mul_square {
            b.binary("Mul", "ln", &d, &d)
        } else {
            let two = b.scalar_f32("two", 2.0);
            b.binary("Pow", "ln", &d, &two)
        };
        let var = mean(b, &sq);
        let eps = b.scalar_f32("eps", 1e-5);
        let ve = b.add("ln", &eps, &var);
        let s = b.node("Sqrt", "ln", &[&ve], vec![]);
        let mut y = b.binary("Div", "ln", &d, &s);
        if let Some(shape) = &f.gamma {
            let gamma = b.weight("ln.weight", shape, Init::Uniform(0.5, 1.5));
            y = b.binary("Mul", "ln", &y, &gamma);
        }
        if f.beta {
            let beta = b.weight("ln.bias", &[16], Init::Uniform(-0.5, 0.5));
            y = b.add("ln", &beta, &y);
        }
        y
    }

    fn build(f: &Form, opset: i64) -> crate::ir::Model {
        let mut b = GraphBuilder::new(3);
        let y = decomposed(&mut b, f);
        b.output(&y, "y", DType::F32, &[2, 5, 16]);
        if opset == 17 {
            return model(b);
        }
        let mp = ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(opset),
            }],
            graph: Some(b.finish("test")),
            ..Default::default()
        };
        crate::onnx::import_model(&mp, "test", None).expect("imports")
    }

    fn fused(m: &crate::ir::Model) -> crate::ir::Model {
        let (opt, counts) = optimize_and_compare(
            m,
            vec![Box::new(FuseLayerNorm), Box::new(EliminateDead)],
            1e-5,
        );
        assert_eq!(counts[0], ("fuse_layer_norm", 1));
        assert_eq!(
            (
                count(&opt, "LayerNormalization"),
                count(&opt, "ReduceMean"),
                count(&opt, "Sqrt")
            ),
            (1, 0, 0)
        );
        assert_eq!(opt.graph.nodes.len(), 2, "Relu and the fused node");
        opt
    }

    #[test]
    fn fires_with_axes_attribute_pow_and_affine() {
        let opt = fused(&build(
            &Form {
                axes_input: false,
                mul_square: false,
                gamma: Some(vec![16]),
                beta: true,
            },
            17,
        ));
        let ln = &opt.graph.nodes[1];
        assert_eq!(
            ln.op,
            Op::LayerNormalization(LayerNormalization {
                axis: -1,
                epsilon: 1e-5
            })
        );
        assert_eq!(ln.name, "/ln/LayerNormalization");
        assert_eq!(opt.graph.name_of(ln.outputs[0].unwrap()), "y");
        // The model's own gamma and beta are used as they are.
        assert_eq!(opt.graph.name_of(ln.input(1).unwrap()), "ln.weight");
        assert_eq!(opt.graph.name_of(ln.input(2).unwrap()), "ln.bias");
    }

    #[test]
    fn fires_with_axes_input_and_mul_square_without_affine() {
        let opt = fused(&build(
            &Form {
                axes_input: true,
                mul_square: true,
                gamma: None,
                beta: false,
            },
            18,
        ));
        let ln = &opt.graph.nodes[1];
        let scale = opt.graph.initializer(ln.input(1).unwrap()).unwrap();
        let bias = opt.graph.initializer(ln.input(2).unwrap()).unwrap();
        assert_eq!(
            (scale.shape(), bias.shape()),
            (&[16usize][..], &[16usize][..])
        );
        assert_eq!(
            (scale.to_f32_vec(), bias.to_f32_vec()),
            (vec![1.0; 16], vec![0.0; 16])
        );
    }

    #[test]
    fn fires_with_a_rank_3_gamma_reshaped() {
        let opt = fused(&build(
            &Form {
                axes_input: false,
                mul_square: false,
                gamma: Some(vec![1, 1, 16]),
                beta: false,
            },
            17,
        ));
        let scale = opt
            .graph
            .initializer(opt.graph.nodes[1].input(1).unwrap())
            .unwrap();
        assert_eq!(scale.shape(), &[16]);
    }

    #[test]
    fn does_not_fire_when_the_centered_value_has_a_third_reader() {
        let mut b = GraphBuilder::new(3);
        let y = decomposed(
            &mut b,
            &Form {
                axes_input: false,
                mul_square: false,
                gamma: None,
                beta: false,
            },
        );
        let z = b.node("Neg", "other", &["/ln/Sub_output_0"], vec![]);
        b.output(&y, "y", DType::F32, &[2, 5, 16]);
        b.output(&z, "z", DType::F32, &[2, 5, 16]);
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseLayerNorm)], 1e-5);
        assert_eq!((counts[0].1, count(&opt, "LayerNormalization")), (0, 0));
    }

    #[test]
    fn does_not_fire_when_the_variance_is_a_graph_output() {
        let mut b = GraphBuilder::new(3);
        let y = decomposed(
            &mut b,
            &Form {
                axes_input: false,
                mul_square: true,
                gamma: None,
                beta: false,
            },
        );
        b.output(&y, "y", DType::F32, &[2, 5, 16]);
        b.output("/ln/ReduceMean_1_output_0", "var", DType::F32, &[2, 5, 1]);
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseLayerNorm)], 1e-5);
        assert_eq!((counts[0].1, count(&opt, "LayerNormalization")), (0, 0));
    }

    #[test]
    fn a_gamma_that_widens_the_result_stays_outside() {
        // gamma [2, 5, 16] is per element, not per channel: the norm fuses, the Mul stays.
        let m = build(
            &Form {
                axes_input: false,
                mul_square: false,
                gamma: Some(vec![2, 5, 16]),
                beta: false,
            },
            17,
        );
        let (opt, _) = optimize_and_compare(
            &m,
            vec![Box::new(FuseLayerNorm), Box::new(EliminateDead)],
            1e-5,
        );
        assert_eq!(
            (count(&opt, "LayerNormalization"), count(&opt, "Mul")),
            (1, 1)
        );
    }
}
