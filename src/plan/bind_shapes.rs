//! Binding fixed input shapes into the graph at build time: the inputs a profile fixes get concrete
//! shapes, their symbolic dims (`batch`, `seq`) become those numbers everywhere in the model,
//! subgraphs included, and shape inference runs again, so passes and backends see concrete shapes.

use super::walk;
use super::{profile::format_dims, Profile};
use crate::error::{Error, Result};
use crate::ir::{infer::infer_shapes, Dim, Model};
use std::collections::BTreeMap;

/// Binds every input that `profile` fixes (min = max). Returns the names of the inputs bound. The
/// profile must have passed [`Profile::validate`] for this model.
pub fn bind_fixed_shapes(model: &mut Model, profile: &Profile) -> Result<Vec<String>> {
    let g = &mut model.graph;
    let mut symbols: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut bound = vec![];
    for p in profile.inputs.iter().filter(|p| p.is_fixed()) {
        let Some(&v) = g.inputs.iter().find(|&&v| g.value(v).name == p.name) else {
            continue;
        };
        if let Some(decl) = &g.value(v).shape {
            for (d, &n) in decl.iter().zip(&p.min) {
                let Dim::Symbol(s) = d else { continue };
                match symbols.get(s) {
                    Some((m, by)) if *m != n => {
                        return Err(Error::Input(format!(
                            "dimension '{s}' is {n} in the shape of input '{}' ({}) but {m} in that of input '{by}'",
                            p.name,
                            format_dims(&p.min)
                        )))
                    }
                    Some(_) => {}
                    None => {
                        symbols.insert(s.clone(), (n, p.name.clone()));
                    }
                }
            }
        }
        g.value_mut(v).shape = Some(p.min.iter().map(|&n| Dim::Fixed(n)).collect());
        bound.push(p.name.clone());
    }
    if bound.is_empty() {
        return Ok(bound);
    }
    walk::for_each_graph_mut(g, &mut |_, graph| {
        for info in &mut graph.values {
            for d in info.shape.iter_mut().flatten() {
                if let Dim::Symbol(s) = d {
                    if let Some((n, _)) = symbols.get(s.as_str()) {
                        *d = Dim::Fixed(*n);
                    }
                }
            }
        }
        Ok(())
    })?;
    infer_shapes(g)?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Binary, BinaryKind, Graph, Node, Op, ValueInfo};
    use crate::plan::InputProfile;
    use crate::tensor::DType;

    /// `z = x + y` with x, y float32[N, 3] and z declared float32[N, 3].
    fn add(n_y: &str) -> Model {
        let mut g = Graph {
            name: "g".into(),
            ..Default::default()
        };
        let info = |name: &str, n: &str| ValueInfo {
            name: name.into(),
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::Symbol(n.into()), Dim::Fixed(3)]),
        };
        let x = g.add_value(info("x", "N"));
        let y = g.add_value(info("y", n_y));
        let z = g.add_value(info("z", "N"));
        g.inputs = vec![x, y];
        g.outputs = vec![z];
        g.nodes.push(Node {
            name: "add".into(),
            op: Op::Binary(Binary {
                kind: BinaryKind::Add,
            }),
            inputs: vec![Some(x), Some(y)],
            outputs: vec![Some(z)],
        });
        Model {
            graph: g,
            ..Default::default()
        }
    }

    #[test]
    fn symbols_become_numbers_everywhere() {
        let mut m = add("N");
        let p = Profile {
            inputs: vec![InputProfile::fixed("x", vec![4, 3])],
        };
        assert_eq!(bind_fixed_shapes(&mut m, &p).unwrap(), ["x"]);
        for name in ["x", "y", "z"] {
            let v = m.graph.find_value(name).unwrap();
            assert_eq!(
                m.graph.value(v).shape,
                Some(vec![Dim::Fixed(4), Dim::Fixed(3)]),
                "{name}"
            );
        }
    }

    #[test]
    fn a_symbol_bound_twice_differently_is_an_error() {
        let mut m = add("N");
        let p = Profile {
            inputs: vec![
                InputProfile::fixed("x", vec![4, 3]),
                InputProfile::fixed("y", vec![2, 3]),
            ],
        };
        let e = bind_fixed_shapes(&mut m, &p).unwrap_err().to_string();
        assert_eq!(
            e,
            "dimension 'N' is 2 in the shape of input 'y' (2x3) but 4 in that of input 'x'"
        );
    }

    #[test]
    fn ranges_are_not_bound() {
        let mut m = add("M");
        let p = Profile {
            inputs: vec![InputProfile {
                name: "y".into(),
                min: vec![1, 3],
                opt: vec![2, 3],
                max: vec![2, 3],
            }],
        };
        assert!(bind_fixed_shapes(&mut m, &p).unwrap().is_empty());
        assert_eq!(m, add("M"));
    }
}
