//! Numbering the graphs of a model: the main graph is 0, then every subgraph (If branches, Loop
//! bodies) in pre-order: node order, then the order [`Op::subgraphs`] gives. Plan weights and
//! shape binding address graphs by this number.

use crate::error::{Error, Result};
use crate::ir::{Graph, Op};

/// Every graph of `g`, in plan order.
pub fn graphs(g: &Graph) -> Vec<&Graph> {
    let mut out = vec![g];
    for n in &g.nodes {
        for s in n.op.subgraphs() {
            out.extend(graphs(s));
        }
    }
    out
}

/// Calls `f(index, graph)` on every graph of `g` in plan order, mutably.
pub fn for_each_graph_mut(
    g: &mut Graph,
    f: &mut dyn FnMut(usize, &mut Graph) -> Result<()>,
) -> Result<()> {
    let mut next = 0;
    visit_mut(g, &mut next, f)
}

fn visit_mut(
    g: &mut Graph,
    next: &mut usize,
    f: &mut dyn FnMut(usize, &mut Graph) -> Result<()>,
) -> Result<()> {
    f(*next, g)?;
    *next += 1;
    for n in &mut g.nodes {
        let expected = n.op.subgraphs().len();
        let op_name = n.op.name();
        let subs = subgraphs_mut(&mut n.op);
        // `Op::subgraphs` is the list every other walker uses; an op that gains subgraphs there must
        // gain them here too, or its weights would be dropped without a word.
        if subs.len() != expected {
            return Err(Error::Graph(format!(
                "node '{}' ({}) holds {expected} subgraph(s), of which the plan walker knows {}",
                n.name,
                op_name,
                subs.len()
            )));
        }
        for s in subs {
            visit_mut(s, next, f)?;
        }
    }
    Ok(())
}

/// The mutable counterpart of [`Op::subgraphs`], in the same order.
fn subgraphs_mut(op: &mut Op) -> Vec<&mut Graph> {
    match op {
        Op::If(i) => vec![&mut *i.then_branch, &mut *i.else_branch],
        Op::Loop(l) => vec![&mut *l.body],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{If, Loop, Node};

    fn named(name: &str) -> Graph {
        Graph {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn numbers_graphs_in_pre_order() {
        let mut inner = named("then");
        inner.nodes.push(Node {
            name: "loop".into(),
            op: Op::Loop(Loop {
                body: Box::new(named("body")),
            }),
            inputs: vec![],
            outputs: vec![],
        });
        let mut main = named("main");
        main.nodes.push(Node {
            name: "if".into(),
            op: Op::If(If {
                then_branch: Box::new(inner),
                else_branch: Box::new(named("else")),
            }),
            inputs: vec![],
            outputs: vec![],
        });
        let names: Vec<&str> = graphs(&main).iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["main", "then", "body", "else"]);
        let mut seen = vec![];
        for_each_graph_mut(&mut main, &mut |i, g| {
            seen.push((i, g.name.clone()));
            Ok(())
        })
        .unwrap();
        let want: Vec<(usize, String)> = [(0, "main"), (1, "then"), (2, "body"), (3, "else")]
            .iter()
            .map(|(i, n)| (*i, n.to_string()))
            .collect();
        assert_eq!(seen, want);
    }
}
