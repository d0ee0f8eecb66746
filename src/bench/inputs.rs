//! Seeded random inputs for `bench`, `run --random-inputs` and the peer benchmark: one place that
//! turns a model's declared inputs (plus `--shapes` for free dimensions) into concrete tensors, so
//! every engine measured sees the same bytes.

use crate::error::{Error, Result};
use crate::ir::{Dim, Graph, Op, ValueInfo};
use crate::tensor::random::random_tensor;
use crate::Tensor;
use std::collections::HashMap;

/// Exclusive upper bounds for integer inputs, by input name (see [`index_bounds`]).
pub type IndexBounds = HashMap<String, usize>;

/// Concrete shapes by input name, as `--shapes NAME:1x3x224x224,...` gives them.
pub type ShapeOverrides = HashMap<String, Vec<usize>>;

/// Parses `NAME:1x3x224x224,NAME2:...` (trtexec's `--shapes` syntax; `NAME:` is a scalar). A name
/// may itself contain `:`; the last one separates the dims.
pub fn parse_shapes(s: &str) -> Result<ShapeOverrides> {
    let mut m = HashMap::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, dims) = part.rsplit_once(':').ok_or_else(|| {
            Error::Input(format!(
                "--shapes '{part}': expected NAME:DIMS such as x:1x3x224x224"
            ))
        })?;
        let dims: Vec<usize> = if dims.is_empty() || dims == "scalar" {
            vec![]
        } else {
            dims.split('x')
                .map(|d| {
                    d.parse::<usize>().map_err(|_| {
                        Error::Input(format!("--shapes '{part}': '{d}' is not a dimension"))
                    })
                })
                .collect::<Result<_>>()?
        };
        m.insert(name.to_string(), dims);
    }
    Ok(m)
}

/// The shape an input is synthesized with: `--shapes` when given, else the declared shape when
/// every dim is fixed; otherwise an error naming the input and the option to pass.
pub fn concrete_shape(info: &ValueInfo, shapes: &ShapeOverrides) -> Result<Vec<usize>> {
    if let Some(s) = shapes.get(&info.name) {
        return Ok(s.clone());
    }
    let name = &info.name;
    let shape = info.shape.as_ref().ok_or_else(|| {
        Error::Input(format!("input '{name}' has no declared shape; give --shapes {name}:DIMS (e.g. {name}:1x3x224x224)"))
    })?;
    shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Ok(*n),
            other => Err(Error::Input(format!(
                "input '{name}' {} has the free dimension '{other}'; give its shape with --shapes, e.g. --shapes {}",
                info.describe(),
                example_dims(name, shape)
            ))),
        })
        .collect()
}

/// `x:1x3x224x224` with 1 in place of each free dim: a hint the user can edit.
fn example_dims(name: &str, shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            _ => "1".to_string(),
        })
        .collect();
    format!("{name}:{}", dims.join("x"))
}

/// Checks that every `--shapes` name is an input of the model.
pub fn check_shape_names(infos: &[ValueInfo], shapes: &ShapeOverrides) -> Result<()> {
    let mut names: Vec<&String> = shapes.keys().collect();
    names.sort();
    for name in names {
        if !infos.iter().any(|i| &i.name == name) {
            return Err(Error::Input(format!(
                "--shapes names '{name}', which is not an input; the model needs: {}",
                crate::runtime::describe_inputs(infos)
            )));
        }
    }
    Ok(())
}

/// Bounds that keep random integer inputs meaningful:
/// - an input that a `Gather` reads as indices is bounded by the size of the gathered axis where
///   that is fixed (the smallest, if several Gathers read it): random integers are in [0, 10),
///   out of range for small tables such as BERT's 2-row `token_type_ids` embedding;
/// - an integer input whose name contains `mask` is 0 or 1, as onnxruntime's transformer benchmark
///   tools make attention masks: a mask of 9 adds 80,000 to attention scores, where float32 keeps
///   only 1/128 of precision and engines then disagree for reasons no real input has.
pub fn index_bounds(g: &Graph) -> IndexBounds {
    let mut bounds = IndexBounds::new();
    for &v in &g.inputs {
        let info = g.value(v);
        if info.dtype.is_some_and(|d| d.is_int()) && info.name.to_ascii_lowercase().contains("mask")
        {
            bounds.insert(info.name.clone(), 2);
        }
    }
    for node in &g.nodes {
        let Op::Gather(p) = &node.op else { continue };
        let (Some(data), Some(idx)) = (node.input(0), node.input(1)) else {
            continue;
        };
        if !g.inputs.contains(&idx) {
            continue;
        }
        let dims: Option<Vec<usize>> = match g.initializer(data) {
            Some(t) => Some(t.shape().to_vec()),
            None => g.value(data).shape.as_ref().map(|s| {
                s.iter()
                    .map(|d| {
                        if let Dim::Fixed(n) = d {
                            *n
                        } else {
                            usize::MAX
                        }
                    })
                    .collect()
            }),
        };
        let Some(dims) = dims else { continue };
        let axis = if p.axis < 0 {
            p.axis + dims.len() as i64
        } else {
            p.axis
        };
        if let Some(&n) = usize::try_from(axis).ok().and_then(|a| dims.get(a)) {
            if n != usize::MAX && n > 0 {
                let b = bounds.entry(g.value(idx).name.clone()).or_insert(n);
                *b = (*b).min(n);
            }
        }
    }
    for &v in &g.inputs {
        let info = g.value(v);
        let integer = info
            .dtype
            .is_some_and(|d| !d.is_float() && d != crate::DType::Bool);
        if integer && info.name.to_ascii_lowercase().contains("mask") {
            bounds.insert(info.name.clone(), 2);
        }
    }
    bounds
}

/// One seeded random tensor per input in `infos`: input `k` of the list gets seed `seed + k`
/// (floats uniform in [-1, 1), integers in [0, 10), bools fair; see [`random_tensor`]); an
/// integer input with a bound below 10 in `bounds` takes its values modulo the bound. An input
/// without a declared dtype or with a free dim not covered by `shapes` is an error that names it
/// and says what to pass.
pub fn synthesize(
    infos: &[ValueInfo],
    shapes: &ShapeOverrides,
    bounds: &IndexBounds,
    seed: u64,
) -> Result<HashMap<String, Tensor>> {
    let mut feed = HashMap::new();
    for (k, info) in infos.iter().enumerate() {
        let dtype = info.dtype.ok_or_else(|| {
            Error::Input(format!(
                "input '{}' has no declared element type, so random data cannot be made for it; \
                 give it as a file (`rtforge run --input {}=FILE.npy`) or declare its type in the model",
                info.name, info.name
            ))
        })?;
        let shape = concrete_shape(info, shapes)?;
        let mut t = random_tensor(dtype, &shape, seed.wrapping_add(k as u64))
            .map_err(|e| Error::Input(format!("input '{}': {e}", info.name)))?;
        if let Some(&b) = bounds
            .get(&info.name)
            .filter(|&&b| b < 10 && !dtype.is_float() && dtype != crate::DType::Bool)
        {
            let v: Vec<i64> = t.to_i64_vec().into_iter().map(|x| x % b as i64).collect();
            t = Tensor::from_vec(shape, v)?.cast(dtype);
        }
        feed.insert(info.name.clone(), t);
    }
    Ok(feed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    fn info(name: &str, dtype: Option<DType>, dims: Vec<Dim>) -> ValueInfo {
        ValueInfo {
            name: name.into(),
            dtype,
            shape: Some(dims),
        }
    }

    #[test]
    fn shapes_parse_like_trtexec() {
        let m = parse_shapes("x:1x3x224x224,ids:8x128,s:").unwrap();
        assert_eq!(m["x"], vec![1, 3, 224, 224]);
        assert_eq!(m["ids"], vec![8, 128]);
        assert_eq!(m["s"], Vec::<usize>::new());
        assert!(parse_shapes("x")
            .unwrap_err()
            .to_string()
            .contains("NAME:DIMS"));
        assert!(parse_shapes("x:1xZ")
            .unwrap_err()
            .to_string()
            .contains("'Z'"));
    }

    #[test]
    fn free_dims_need_shapes_and_the_error_names_the_input() {
        let x = info(
            "x",
            Some(DType::F32),
            vec![Dim::Symbol("N".into()), Dim::Fixed(3)],
        );
        let e = synthesize(
            std::slice::from_ref(&x),
            &HashMap::new(),
            &IndexBounds::new(),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("'x'") && e.contains("'N'") && e.contains("--shapes x:1x3"),
            "{e}"
        );
        let shapes = parse_shapes("x:4x3").unwrap();
        let feed = synthesize(&[x], &shapes, &IndexBounds::new(), 0).unwrap();
        assert_eq!(feed["x"].shape(), &[4, 3]);
    }

    #[test]
    fn an_untyped_input_is_a_clear_error() {
        let x = info("mask", None, vec![Dim::Fixed(2)]);
        let e = synthesize(&[x], &HashMap::new(), &IndexBounds::new(), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'mask'") && e.contains("element type"), "{e}");
    }

    #[test]
    fn each_input_gets_its_own_seed_and_the_same_seed_gives_the_same_data() {
        let a = info("a", Some(DType::F32), vec![Dim::Fixed(4)]);
        let b = info("b", Some(DType::F32), vec![Dim::Fixed(4)]);
        let f1 = synthesize(
            &[a.clone(), b.clone()],
            &HashMap::new(),
            &IndexBounds::new(),
            7,
        )
        .unwrap();
        let f2 = synthesize(&[a, b], &HashMap::new(), &IndexBounds::new(), 7).unwrap();
        assert_eq!(f1["a"].to_f32_vec(), f2["a"].to_f32_vec());
        assert_ne!(f1["a"].to_f32_vec(), f1["b"].to_f32_vec());
        assert_eq!(
            f1["b"].to_f32_vec(),
            random_tensor(DType::F32, &[4], 8).unwrap().to_f32_vec()
        );
    }

    #[test]
    fn gather_indices_stay_inside_the_table() {
        // zoo bert: token_type_ids index a 2-row table, input_ids a 30522-row one.
        let model = crate::zoo::load(
            "bert",
            &crate::zoo::ZooOptions {
                batch: 1,
                seq: 64,
                layers: Some(1),
                seed: 0,
            },
        )
        .unwrap();
        let bounds = index_bounds(&model.graph);
        assert_eq!(bounds.get("token_type_ids"), Some(&2));
        assert_eq!(bounds.get("input_ids"), Some(&30522));
        assert_eq!(bounds.get("attention_mask"), Some(&2));
        let g = &model.graph;
        let infos: Vec<ValueInfo> = g.inputs.iter().map(|&v| g.value(v).clone()).collect();
        let feed = synthesize(&infos, &HashMap::new(), &bounds, 3).unwrap();
        for name in ["token_type_ids", "attention_mask"] {
            let v = feed[name].to_i64_vec();
            assert!(
                v.iter().all(|&x| x == 0 || x == 1) && v.contains(&0) && v.contains(&1),
                "{name}: {v:?}"
            );
        }
        // Unbounded integers keep the plain rule, so `run --random-inputs` data is unchanged.
        let ids = feed["input_ids"].to_i64_vec();
        assert_eq!(
            ids,
            random_tensor(DType::I64, &[1, 64], 3).unwrap().to_i64_vec()
        );
    }
}
