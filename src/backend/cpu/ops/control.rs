//! Control flow: If and Loop, whose subgraphs run through the same executor as the main graph.
//! Each subgraph's outer-scope reads arrive as the node's trailing inputs (see
//! [`Graph::captures`]). <https://onnx.ai/onnx/operators/onnx__If.html>,
//! <https://onnx.ai/onnx/operators/onnx__Loop.html>

use super::opt_input;
use crate::backend::cpu::run_graph;
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{DType, Element, Tensor, TensorData};
use std::sync::Arc;

/// The single boolean of a condition tensor (any shape holding exactly one element); the CUDA
/// lowering decides a host-known `If` with it too.
pub fn condition(t: &Tensor, what: &str) -> Result<bool> {
    if t.len() != 1 {
        return Err(Error::Shape(format!(
            "{what} must hold a single element, got shape {:?}",
            t.shape()
        )));
    }
    match t.as_slice::<bool>() {
        Ok(v) => Ok(v[0]),
        Err(_) => Err(Error::DType(format!(
            "{what} must be bool, got {}",
            t.dtype()
        ))),
    }
}

/// Copies the captured outer values a subgraph reads from the node's inputs `[start, start + n)`.
fn captured(inputs: &[Option<&Tensor>], start: usize, g: &Graph) -> Result<Vec<Arc<Tensor>>> {
    (start..start + g.captures.len())
        .map(|i| {
            opt_input(inputs, i)
                .map(|t| Arc::new(t.clone()))
                .ok_or_else(|| {
                    let name = g.name_of(g.captures[i - start]);
                    Error::Input(format!(
                        "outer value '{name}' read by subgraph '{}' is missing",
                        g.name
                    ))
                })
        })
        .collect()
}

fn owned(t: Arc<Tensor>) -> Tensor {
    Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone())
}

/// If: runs `then_branch` or `else_branch` and returns its outputs.
pub fn if_(p: &If, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let cond =
        opt_input(inputs, 0).ok_or_else(|| Error::Input("If needs its cond input".into()))?;
    let then_caps = p.then_branch.captures.len();
    let (branch, start) = if condition(cond, "If cond")? {
        (&p.then_branch, 1)
    } else {
        (&p.else_branch, 1 + then_caps)
    };
    let caps = captured(inputs, start, branch)?;
    Ok(run_graph(branch, &[], &caps)?
        .into_iter()
        .map(owned)
        .collect())
}

/// Loop: inputs `[M, cond, v_initial..., captures...]`, body `(iter, cond, v...) -> (cond, v...,
/// scan...)`. Returns the final loop-carried values, then each scan output stacked along a new
/// first axis.
pub fn loop_(p: &Loop, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let body = &p.body;
    let carried_n = body.inputs.len().checked_sub(2).ok_or_else(|| {
        Error::Graph(format!(
            "Loop body '{}' needs iteration and condition inputs",
            body.name
        ))
    })?;
    let scan_n = body
        .outputs
        .len()
        .checked_sub(1 + carried_n)
        .ok_or_else(|| {
            Error::Graph(format!(
                "Loop body '{}' carries {carried_n} values but has only {} outputs (cond first)",
                body.name,
                body.outputs.len()
            ))
        })?;
    let max_trips = match opt_input(inputs, 0) {
        None => None,
        Some(m) if m.len() == 1 && m.dtype() == DType::I64 => Some(m.to_i64_vec()[0].max(0)),
        Some(m) => {
            return Err(Error::Input(format!(
                "Loop M must be a single int64, got {} of shape {:?}",
                m.dtype(),
                m.shape()
            )))
        }
    };
    // Without a cond input the body's cond output is ignored (the "for" forms of the spec).
    let cond_given = opt_input(inputs, 1).is_some();
    let mut cond = match opt_input(inputs, 1) {
        Some(c) => condition(c, "Loop cond")?,
        None => true,
    };
    let mut carried: Vec<Arc<Tensor>> = (0..carried_n)
        .map(|i| {
            opt_input(inputs, 2 + i)
                .map(|t| Arc::new(t.clone()))
                .ok_or_else(|| Error::Input(format!("Loop initial value {i} is missing")))
        })
        .collect::<Result<_>>()?;
    let caps = captured(inputs, 2 + carried_n, body)?;
    let mut scans: Vec<Vec<Arc<Tensor>>> = vec![Vec::new(); scan_n];

    let mut iter: i64 = 0;
    while max_trips.is_none_or(|m| iter < m) && cond {
        let mut args = Vec::with_capacity(2 + carried_n);
        args.push(Arc::new(Tensor::scalar(iter)));
        args.push(Arc::new(Tensor::scalar(cond)));
        args.extend(carried.iter().cloned());
        let mut outs = run_graph(body, &args, &caps)?.into_iter();
        let cond_out = outs
            .next()
            .ok_or_else(|| Error::Graph("Loop body produced no cond".into()))?;
        if cond_given {
            cond = condition(&cond_out, "Loop body cond output")?;
        }
        carried = outs.by_ref().take(carried_n).collect();
        for (s, t) in scans.iter_mut().zip(outs) {
            s.push(t);
        }
        iter += 1;
    }

    let mut result: Vec<Tensor> = carried.into_iter().map(owned).collect();
    for (k, parts) in scans.iter().enumerate() {
        let info = body.value(body.outputs[1 + carried_n + k]);
        result.push(if parts.is_empty() {
            empty_scan(info)?
        } else {
            stack(parts)?
        });
    }
    Ok(result)
}

/// The scan output of a loop that ran zero times: `[0, dims...]` where the body declares its
/// per-iteration shape with fixed dims, else `[0]`; the declared dtype, else f32.
fn empty_scan(info: &ValueInfo) -> Result<Tensor> {
    let dtype = info.dtype.unwrap_or(DType::F32);
    let mut shape = vec![0usize];
    if let Some(dims) = &info.shape {
        // A symbolic or unknown dim has no value here; zero keeps the tensor empty and the rank right.
        shape.extend(
            dims.iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 0 }),
        );
    }
    Tensor::zeros(dtype, shape)
}

/// Stacks same-shaped, same-typed tensors along a new first axis.
fn stack(parts: &[Arc<Tensor>]) -> Result<Tensor> {
    let first = &parts[0];
    for (i, t) in parts.iter().enumerate() {
        if t.shape() != first.shape() || t.dtype() != first.dtype() {
            return Err(Error::Shape(format!(
                "Loop scan output changes across iterations: iteration 0 gave {} {:?}, iteration {i} gave {} {:?}",
                first.dtype(),
                first.shape(),
                t.dtype(),
                t.shape()
            )));
        }
    }
    fn cat<T: Element>(_: &[T], parts: &[Arc<Tensor>]) -> TensorData {
        let mut out: Vec<T> = Vec::with_capacity(parts.len() * parts[0].len());
        for p in parts {
            out.extend_from_slice(T::slice(p.data()).unwrap_or(&[]));
        }
        T::wrap(out)
    }
    let data = crate::with_data!(first.data(), v => cat(v, parts));
    let mut shape = vec![parts.len()];
    shape.extend_from_slice(first.shape());
    Tensor::new(shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_adds_a_leading_axis() {
        let a = Arc::new(Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap());
        let b = Arc::new(Tensor::from_vec(vec![2], vec![3i64, 4]).unwrap());
        let s = stack(&[a.clone(), b]).unwrap();
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(s.as_slice::<i64>().unwrap(), &[1, 2, 3, 4]);
        let c = Arc::new(Tensor::from_vec(vec![1], vec![5i64]).unwrap());
        assert!(stack(&[a, c]).is_err());
    }

    #[test]
    fn empty_scan_keeps_declared_rank() {
        let info = ValueInfo {
            name: "s".into(),
            dtype: Some(DType::I32),
            shape: Some(vec![Dim::Fixed(3), Dim::Symbol("n".into())]),
        };
        let t = empty_scan(&info).unwrap();
        assert_eq!((t.shape(), t.dtype()), (&[0usize, 3, 0][..], DType::I32));
    }

    #[test]
    fn condition_rejects_non_scalar_and_non_bool() {
        assert!(condition(&Tensor::from_vec(vec![2], vec![true, false]).unwrap(), "c").is_err());
        assert!(condition(&Tensor::scalar(1i64), "c").is_err());
        assert!(condition(&Tensor::from_vec(vec![1], vec![true]).unwrap(), "c").unwrap());
    }

    /// A Loop body with no nodes: `(iter, cond, x) -> (cond, x, iter)`, so the scan output
    /// collects the iteration numbers.
    fn counting_body() -> Graph {
        let mut g = Graph::default();
        let scalar = |name: &str, dtype| ValueInfo {
            name: name.into(),
            dtype: Some(dtype),
            shape: Some(vec![]),
        };
        let i = g.add_value(scalar("i", DType::I64));
        let c = g.add_value(scalar("c", DType::Bool));
        let x = g.add_value(scalar("x", DType::F32));
        g.inputs = vec![i, c, x];
        g.outputs = vec![c, x, i];
        g
    }

    #[test]
    fn loop_collects_iteration_numbers() {
        let p = Loop {
            body: Box::new(counting_body()),
        };
        let (m, x) = (Tensor::scalar(3i64), Tensor::scalar(1.5f32));
        let out = loop_(&p, &[Some(&m), None, Some(&x)]).unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[1.5]);
        assert_eq!(out[1].shape(), &[3]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 1, 2]);
        // Zero trips: the carried value comes back unchanged and the scan is empty.
        let zero = Tensor::scalar(0i64);
        let out = loop_(&p, &[Some(&zero), None, Some(&x)]).unwrap();
        assert_eq!(
            (out[1].shape(), out[1].dtype()),
            (&[0usize][..], DType::I64)
        );
        // A false cond input runs nothing either.
        let no = Tensor::scalar(false);
        assert_eq!(
            loop_(&p, &[Some(&m), Some(&no), Some(&x)]).unwrap()[1].shape(),
            &[0]
        );
    }

    #[test]
    fn if_picks_the_branch_and_its_captures() {
        let branch = |name: &str| {
            let mut g = Graph::default();
            let v = g.add_value(ValueInfo::named(name));
            g.captures = vec![v];
            g.outputs = vec![v];
            g
        };
        let p = If {
            then_branch: Box::new(branch("a")),
            else_branch: Box::new(branch("b")),
        };
        let (a, b) = (Tensor::scalar(1i32), Tensor::scalar(2i32));
        let run = |c: bool| if_(&p, &[Some(&Tensor::scalar(c)), Some(&a), Some(&b)]).unwrap();
        assert_eq!(run(true)[0].as_slice::<i32>().unwrap(), &[1]);
        assert_eq!(run(false)[0].as_slice::<i32>().unwrap(), &[2]);
        let bad = Tensor::from_vec(vec![2], vec![true, true]).unwrap();
        assert!(if_(&p, &[Some(&bad), Some(&a), Some(&b)]).is_err());
    }
}
