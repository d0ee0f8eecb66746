//! GELU recognition: the erf and tanh formulas exporters write before ONNX had a Gelu op (opset 20)
//! become one `Gelu` node, whose kernel evaluates the formula in one pass instead of five to nine.
//! <https://onnx.ai/onnx/operators/onnx__Gelu.html>
//!
//! - erf form: `x · 0.5 · (1 + erf(x / √2))`, with `x / √2` as a Div by √2 or a Mul by 1/√2, and
//!   the two outer products in any order: `(x · p) · 0.5`, `(x · 0.5) · p` or `x · (p · 0.5)`
//!   where `p = 1 + erf(..)`, each operand on either side.
//! - tanh form: `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`, with `x³` as `Pow(x, 3)` or
//!   `x · (x · x)`, and the same outer orders.
//!
//! Runs before `FuseElementwise`, which would otherwise swallow the scalar steps of the formula.

use super::pattern::{
    approx_eq, other_input, out0, scalar_number, scalar_operand, scaled_by_constant,
    single_reader_op, FusedNames, Uses,
};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{Graph, Node, NodeId, Op, Patch, Unary, UnaryKind, ValueId};

/// Replaces the erf and tanh GELU formulas by `Op::Unary(Gelu { tanh })`.
pub struct FuseGelu;

/// √(2/π), the tanh form's inner scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The tanh form's cubic coefficient.
const CUBIC: f64 = 0.044_715;

/// One recognized GELU: its input, the value it writes, and the nodes it replaces (last one last).
struct Match {
    x: ValueId,
    out: ValueId,
    nodes: Vec<NodeId>,
    tanh: bool,
}

impl Pass for FuseGelu {
    fn name(&self) -> &'static str {
        "fuse_gelu"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut names = FusedNames::new(g);
        let mut p = Patch::new(g);
        let mut taken = vec![false; g.nodes.len()];
        let mut fused = 0;
        for (i, n) in g.nodes.iter().enumerate() {
            let core = match n.op {
                Op::Unary(Unary {
                    kind: UnaryKind::Erf,
                }) => erf_core(g, &uses, NodeId(i)),
                Op::Unary(Unary {
                    kind: UnaryKind::Tanh,
                }) => tanh_core(g, &uses, NodeId(i)),
                _ => None,
            };
            let Some(m) = core.and_then(|(x, inner)| outer(g, &uses, x, inner)) else {
                continue;
            };
            if m.nodes.iter().any(|n| taken[n.0]) {
                continue;
            }
            let last = &g.nodes[m.nodes[m.nodes.len() - 1].0].name;
            let name = names.fresh(last, "Gelu");
            let replaced: Vec<&str> = m.nodes.iter().map(|n| g.nodes[n.0].name.as_str()).collect();
            tracing::debug!(pass = self.name(), node = %name, tanh = m.tanh, replaced = ?replaced, "fused GELU");
            for &n in &m.nodes {
                taken[n.0] = true;
                p.remove_node(n);
            }
            p.add_node(Node {
                name,
                op: Op::Unary(Unary {
                    kind: UnaryKind::Gelu { tanh: m.tanh },
                }),
                inputs: vec![Some(m.x)],
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

/// The product `k · x` feeding node `reader` as its only use, with `k ≈ want`: `(x, producer)`.
fn scaled_input(
    g: &Graph,
    uses: &Uses,
    v: ValueId,
    reader: NodeId,
    want: f64,
) -> Option<(ValueId, NodeId)> {
    if uses.single_reader(g, v) != Some(reader) {
        return None;
    }
    let prod = uses.producer(v)?;
    let (x, k) = scaled_by_constant(g, &g.nodes[prod.0])?;
    approx_eq(k, want).then_some((x, prod))
}

/// `erf(x / √2)`: x and the nodes so far (the scaling, the Erf).
fn erf_core(g: &Graph, uses: &Uses, erf: NodeId) -> Option<(ValueId, Vec<NodeId>)> {
    let a = g.nodes[erf.0].input(0)?;
    let (x, scale) = scaled_input(g, uses, a, erf, std::f64::consts::FRAC_1_SQRT_2)?;
    Some((x, vec![scale, erf]))
}

/// `tanh(√(2/π) · (x + 0.044715 · x³))`: x and the nodes so far, the Tanh last.
fn tanh_core(g: &Graph, uses: &Uses, tanh: NodeId) -> Option<(ValueId, Vec<NodeId>)> {
    let u = g.nodes[tanh.0].input(0)?;
    let (s, scale) = scaled_input(g, uses, u, tanh, SQRT_2_OVER_PI)?;
    if uses.single_reader(g, s) != Some(scale) {
        return None;
    }
    let add = uses.producer(s)?;
    let an = &g.nodes[add.0];
    if an.op.name() != "Add" {
        return None;
    }
    let (a, b) = (an.input(0)?, an.input(1)?);
    // Either operand may be the cubic term; the other is x.
    [(a, b), (b, a)].into_iter().find_map(|(w, x)| {
        let (c, coef) = scaled_input(g, uses, w, add, CUBIC)?;
        if uses.single_reader(g, c) != Some(coef) {
            return None;
        }
        let mut nodes = cube(g, uses, c, x)?;
        nodes.extend([coef, add, scale, tanh]);
        Some((x, nodes))
    })
}

/// The nodes computing `c = x³`: `Pow(x, 3)`, or `x · (x · x)` with the square on either side.
fn cube(g: &Graph, uses: &Uses, c: ValueId, x: ValueId) -> Option<Vec<NodeId>> {
    let pc = uses.producer(c)?;
    let n = &g.nodes[pc.0];
    match n.op.name() {
        "Pow" if n.input(0) == Some(x) => {
            (scalar_number(g, n.input(1), x)? == 3.0).then(|| vec![pc])
        }
        "Mul" => {
            let sq = other_input(n, x)?;
            let ps = uses.producer(sq)?;
            let square =
                g.nodes[ps.0].op.name() == "Mul" && other_input(&g.nodes[ps.0], x) == Some(x);
            (square && sq != x && uses.single_reader(g, sq) == Some(pc)).then(|| vec![ps, pc])
        }
        _ => None,
    }
}

/// From the core's `erf(..)`/`tanh(..)` on: `p = 1 + core`, then x and 0.5 multiplied in.
fn outer(g: &Graph, uses: &Uses, x: ValueId, mut nodes: Vec<NodeId>) -> Option<Match> {
    let core = *nodes.last()?;
    let tanh = g.nodes[core.0].op.name() == "Tanh";
    let t = out0(&g.nodes[core.0])?;
    let plus = single_reader_op(g, uses, t, "Add")?;
    let one = other_input(&g.nodes[plus.0], t)?;
    if !approx_eq(scalar_operand(g, Some(one), t)?, 1.0) {
        return None;
    }
    nodes.push(plus);
    let pv = out0(&g.nodes[plus.0])?;
    let r1 = single_reader_op(g, uses, pv, "Mul")?;
    let y = other_input(&g.nodes[r1.0], pv)?;
    let r1_out = out0(&g.nodes[r1.0])?;
    let out = if y == x {
        // (x · p) · 0.5
        let r2 = uses.single_reader(g, r1_out)?;
        let (v, k) = scaled_by_constant(g, &g.nodes[r2.0])?;
        (v == r1_out && approx_eq(k, 0.5)).then_some(())?;
        nodes.extend([r1, r2]);
        out0(&g.nodes[r2.0])?
    } else if scalar_operand(g, Some(y), pv).is_some_and(|c| approx_eq(c, 0.5)) {
        // x · (p · 0.5)
        let r2 = single_reader_op(g, uses, r1_out, "Mul")?;
        (other_input(&g.nodes[r2.0], r1_out)? == x).then_some(())?;
        nodes.extend([r1, r2]);
        out0(&g.nodes[r2.0])?
    } else {
        // (x · 0.5) · p
        (scaled_input(g, uses, y, r1, 0.5)?.0 == x).then_some(())?;
        nodes.extend([uses.producer(y)?, r1]);
        r1_out
    };
    Some(Match {
        x,
        out,
        nodes,
        tanh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::check::{count, model, optimize_and_compare};
    use crate::passes::EliminateDead;
    use crate::tensor::DType;
    use crate::zoo::GraphBuilder;

    /// How the erf form's pieces are arranged.
    #[derive(Clone, Copy)]
    enum Order {
        /// `(x · p) · 0.5`, Div by √2.
        XpThenHalf,
        /// `(0.5 · x) · p`, Mul by 1/√2, operands swapped.
        HalfXFirst,
        /// `x · (p · 0.5)`, `1 + erf` written `erf + 1`.
        PHalfFirst,
    }

    fn erf_gelu(b: &mut GraphBuilder, x: &str, order: Order) -> String {
        let half = b.scalar_f32("half", 0.5);
        let one = b.scalar_f32("one", 1.0);
        let a = match order {
            Order::HalfXFirst => {
                let r = b.scalar_f32("inv_sqrt2", std::f32::consts::FRAC_1_SQRT_2);
                b.binary("Mul", "act", &r, x)
            }
            _ => {
                let s = b.scalar_f32("sqrt2", std::f32::consts::SQRT_2);
                b.binary("Div", "act", x, &s)
            }
        };
        let e = b.node("Erf", "act", &[&a], vec![]);
        match order {
            Order::XpThenHalf => {
                let p = b.add("act", &one, &e);
                let m = b.binary("Mul", "act", &p, x);
                b.binary("Mul", "act", &m, &half)
            }
            Order::HalfXFirst => {
                let p = b.add("act", &e, &one);
                let h = b.binary("Mul", "act", &half, x);
                b.binary("Mul", "act", &p, &h)
            }
            Order::PHalfFirst => {
                let p = b.add("act", &e, &one);
                let h = b.binary("Mul", "act", &half, &p);
                b.binary("Mul", "act", x, &h)
            }
        }
    }

    /// `x → Relu → GELU → y`, so the GELU input is an inner value.
    fn erf_model(order: Order) -> crate::ir::Model {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[4, 16]);
        let r = b.relu("pre", &x);
        let y = erf_gelu(&mut b, &r, order);
        b.output(&y, "y", DType::F32, &[4, 16]);
        model(b)
    }

    #[test]
    fn erf_form_fires_in_every_order() {
        for order in [Order::XpThenHalf, Order::HalfXFirst, Order::PHalfFirst] {
            let m = erf_model(order);
            let (opt, counts) =
                optimize_and_compare(&m, vec![Box::new(FuseGelu), Box::new(EliminateDead)], 1e-5);
            assert_eq!(counts[0], ("fuse_gelu", 1));
            assert_eq!(
                (count(&opt, "Gelu"), count(&opt, "Erf"), count(&opt, "Mul")),
                (1, 0, 0)
            );
            assert_eq!(opt.graph.nodes.len(), 2);
            // Only x's producer and the fused node are left; the graph output keeps its name.
            let gelu = &opt.graph.nodes[1];
            assert_eq!(gelu.name, "/act/Gelu");
            assert_eq!(opt.graph.name_of(gelu.outputs[0].unwrap()), "y");
            assert!(
                opt.graph.initializers.is_empty(),
                "the formula's constants are dead"
            );
        }
    }

    fn tanh_model(pow: bool) -> crate::ir::Model {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[3, 20]);
        let c3 = b.scalar_f32("three", 3.0);
        let cube = if pow {
            b.binary("Pow", "act", &x, &c3)
        } else {
            let sq = b.binary("Mul", "act", &x, &x);
            b.binary("Mul", "act", &sq, &x)
        };
        let coef = b.scalar_f32("coef", 0.044715);
        let w = b.binary("Mul", "act", &coef, &cube);
        let s = b.add("act", &x, &w);
        let k = b.scalar_f32("k", (2.0f32 / std::f32::consts::PI).sqrt());
        let u = b.binary("Mul", "act", &s, &k);
        let t = b.node("Tanh", "act", &[&u], vec![]);
        let one = b.scalar_f32("one", 1.0);
        let p = b.add("act", &t, &one);
        let half = b.scalar_f32("half", 0.5);
        let h = b.binary("Mul", "act", &half, &x);
        let y = b.binary("Mul", "act", &h, &p);
        b.output(&y, "y", DType::F32, &[3, 20]);
        model(b)
    }

    #[test]
    fn tanh_form_fires_with_pow_and_with_products() {
        for pow in [true, false] {
            let (opt, _) = optimize_and_compare(
                &tanh_model(pow),
                vec![Box::new(FuseGelu), Box::new(EliminateDead)],
                1e-5,
            );
            assert_eq!(opt.graph.nodes.len(), 1);
            assert_eq!(
                opt.graph.nodes[0].op,
                Op::Unary(Unary {
                    kind: UnaryKind::Gelu { tanh: true }
                })
            );
        }
    }

    #[test]
    fn does_not_fire_when_an_intermediate_is_read_elsewhere() {
        // erf(x/√2) also feeds a second output: fusing would drop it.
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[2, 8]);
        let s = b.scalar_f32("sqrt2", std::f32::consts::SQRT_2);
        let a = b.binary("Div", "act", &x, &s);
        let e = b.node("Erf", "act", &[&a], vec![]);
        let one = b.scalar_f32("one", 1.0);
        let p = b.add("act", &e, &one);
        let m = b.binary("Mul", "act", &x, &p);
        let half = b.scalar_f32("half", 0.5);
        let y = b.binary("Mul", "act", &m, &half);
        let z = b.node("Neg", "other", &[&e], vec![]);
        b.output(&y, "y", DType::F32, &[2, 8]);
        b.output(&z, "z", DType::F32, &[2, 8]);
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseGelu)], 1e-5);
        assert_eq!(
            (counts[0].1, count(&opt, "Gelu"), count(&opt, "Erf")),
            (0, 0, 1)
        );
    }

    #[test]
    fn does_not_fire_when_an_intermediate_is_a_graph_output() {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[2, 8]);
        let y = erf_gelu(&mut b, &x, Order::XpThenHalf);
        b.output(&y, "y", DType::F32, &[2, 8]);
        // `1 + erf(..)` is the Add node's output: make it an output too.
        b.output("/act/Add_output_0", "p", DType::F32, &[2, 8]);
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseGelu)], 1e-5);
        assert_eq!((counts[0].1, count(&opt, "Gelu")), (0, 0));
    }

    #[test]
    fn a_wrong_constant_is_not_gelu() {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[2, 8]);
        let s = b.scalar_f32("not_sqrt2", 1.5);
        let a = b.binary("Div", "act", &x, &s);
        let e = b.node("Erf", "act", &[&a], vec![]);
        let one = b.scalar_f32("one", 1.0);
        let p = b.add("act", &e, &one);
        let m = b.binary("Mul", "act", &x, &p);
        let half = b.scalar_f32("half", 0.5);
        let y = b.binary("Mul", "act", &m, &half);
        b.output(&y, "y", DType::F32, &[2, 8]);
        let (opt, _) = optimize_and_compare(&model(b), vec![Box::new(FuseGelu)], 1e-5);
        assert_eq!(count(&opt, "Gelu"), 0);
    }
}
