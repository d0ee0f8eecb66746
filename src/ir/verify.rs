//! The graph verifier, run after import and after every pass: each value is defined once before it is
//! used, graph outputs exist, ids are in range, and subgraphs are valid in turn.

use super::{Graph, ValueId};
use crate::error::{Error, Result};

/// Checks the invariants every pass and backend relies on.
pub fn verify(g: &Graph) -> Result<()> {
    let n = g.values.len();
    let mut defined = vec![false; n];
    let check = |v: ValueId, what: &str| -> Result<()> {
        if v.0 >= n {
            return Err(Error::Graph(format!(
                "graph '{}': {what} refers to value #{} of {n}",
                g.name, v.0
            )));
        }
        Ok(())
    };
    let define = |v: ValueId, what: &str, defined: &mut Vec<bool>| -> Result<()> {
        check(v, what)?;
        if defined[v.0] {
            return Err(Error::Graph(format!(
                "graph '{}': value '{}' is defined twice ({what})",
                g.name,
                g.name_of(v)
            )));
        }
        defined[v.0] = true;
        Ok(())
    };
    for &v in &g.inputs {
        define(v, "graph input", &mut defined)?;
    }
    for &v in g.initializers.keys() {
        if !g.inputs.contains(&v) {
            define(v, "initializer", &mut defined)?;
        }
    }
    for &v in &g.captures {
        define(v, "capture", &mut defined)?;
    }
    for node in &g.nodes {
        for v in node.inputs.iter().flatten() {
            check(*v, &format!("node '{}'", node.name))?;
            if !defined[v.0] {
                return Err(Error::Graph(format!(
                    "graph '{}': node '{}' ({}) reads '{}' before it is produced",
                    g.name,
                    node.name,
                    node.op.name(),
                    g.name_of(*v)
                )));
            }
        }
        for v in node.outputs.iter().flatten() {
            define(*v, &format!("output of node '{}'", node.name), &mut defined)?;
        }
        for sub in node.op.subgraphs() {
            verify(sub)?;
        }
    }
    for &v in &g.outputs {
        check(v, "graph output")?;
        if !defined[v.0] {
            return Err(Error::Graph(format!(
                "graph '{}': output '{}' is never produced",
                g.name,
                g.name_of(v)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Node, Op, ValueInfo};

    #[test]
    fn rejects_use_before_definition() {
        let mut g = Graph {
            name: "g".into(),
            ..Default::default()
        };
        let a = g.add_value(ValueInfo::named("a"));
        let b = g.add_value(ValueInfo::named("b"));
        g.nodes.push(Node {
            name: "n".into(),
            op: Op::Identity,
            inputs: vec![Some(a)],
            outputs: vec![Some(b)],
        });
        g.outputs.push(b);
        let err = verify(&g).unwrap_err().to_string();
        assert!(err.contains("reads 'a' before"), "{err}");
        g.inputs.push(a);
        verify(&g).unwrap();
    }
}
