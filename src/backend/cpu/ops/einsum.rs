//! Einsum: <https://onnx.ai/onnx/operators/onnx__Einsum.html>.
//!
//! Every equation runs as: take diagonals of repeated labels, sum away labels no one else needs,
//! then contract operands pairwise left to right, each pair as one batched GEMM
//! (`[batch, left, contracted] · [batch, contracted, right]`), and finally permute to the output
//! order. Ellipsis dimensions become ordinary labels, broadcast like numpy.

use super::gemm::MatRef;
use super::real::{compute_type, real_tensor, real_vec, Real};
use crate::error::{Error, Result};
use crate::ir::Einsum;
use crate::tensor::{check_alloc, DType, Tensor};
use rayon::prelude::*;

/// Labels from `...` are numbered from here on, after the 52 letters.
const ELLIPSIS: u32 = 1000;

/// Einsum over any number of operands.
pub fn einsum(p: &Einsum, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let ops: Vec<&Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| t.ok_or_else(|| Error::Input(format!("Einsum input {i} is missing"))))
        .collect::<Result<_>>()?;
    let Some(first) = ops.first() else {
        return Err(Error::Input("Einsum needs at least one input".into()));
    };
    let dtype = first.dtype();
    if let Some(t) = ops.iter().find(|t| t.dtype() != dtype) {
        return Err(Error::DType(format!(
            "Einsum inputs mix {dtype} and {}",
            t.dtype()
        )));
    }
    let shapes: Vec<&[usize]> = ops.iter().map(|t| t.shape()).collect();
    let eq = Equation::parse(&p.equation, &shapes)?;
    let y = match compute_type(dtype) {
        Some(DType::F32) => {
            let (shape, v) = eq.run::<f32>(&ops)?;
            real_tensor(shape, v, dtype)?
        }
        // f64 and the integer types (exact up to 2^53) compute in f64.
        _ if dtype != DType::Bool => {
            let (shape, v) = eq.run::<f64>(&ops)?;
            real_tensor(shape, v, dtype)?
        }
        _ => return Err(Error::DType("Einsum does not accept bool tensors".into())),
    };
    Ok(vec![y])
}

/// A parsed equation: the labels of each operand (ellipsis expanded) and of the output, and the
/// size of every label.
struct Equation {
    inputs: Vec<Vec<u32>>,
    output: Vec<u32>,
    sizes: std::collections::HashMap<u32, usize>,
}

/// An operand on its way through the contraction: data with one label per dimension.
struct Term<T> {
    labels: Vec<u32>,
    shape: Vec<usize>,
    data: Vec<T>,
}

fn letter(c: char) -> Result<u32> {
    if c.is_ascii_alphabetic() {
        Ok(c as u32)
    } else {
        Err(Error::Shape(format!(
            "Einsum: unexpected character '{c}' in the equation"
        )))
    }
}

/// Labels of one term; `...` expands to `rank - letters` ellipsis labels, right-aligned against
/// `ell_rank` so that ellipses of different ranks broadcast.
fn parse_term(s: &str, rank: Option<usize>, ell_rank: usize) -> Result<Vec<u32>> {
    let (head, tail) = match s.find("...") {
        Some(i) => (&s[..i], Some(&s[i + 3..])),
        None => (s, None),
    };
    let mut labels: Vec<u32> = head.chars().map(letter).collect::<Result<_>>()?;
    if let Some(tail) = tail {
        let tail: Vec<u32> = tail.chars().map(letter).collect::<Result<_>>()?;
        let n = match rank {
            Some(r) => r.checked_sub(labels.len() + tail.len()).ok_or_else(|| {
                Error::Shape(format!(
                    "Einsum: term '{s}' has more labels than its rank {r}"
                ))
            })?,
            None => ell_rank,
        };
        labels.extend((ell_rank - n..ell_rank).map(|i| ELLIPSIS + i as u32));
        labels.extend(tail);
    }
    Ok(labels)
}

impl Equation {
    fn parse(eq: &str, shapes: &[&[usize]]) -> Result<Equation> {
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (eq, None),
        };
        let terms: Vec<&str> = lhs.split(',').collect();
        if terms.len() != shapes.len() {
            return Err(Error::Shape(format!(
                "Einsum: '{eq}' has {} operands but {} inputs were given",
                terms.len(),
                shapes.len()
            )));
        }
        // The widest ellipsis decides how many ellipsis labels there are.
        let mut ell_rank = 0;
        for (t, s) in terms.iter().zip(shapes) {
            if t.contains("...") {
                let letters = t.replace("...", "").chars().count();
                ell_rank = ell_rank.max(s.len().saturating_sub(letters));
            }
        }
        let inputs: Vec<Vec<u32>> = terms
            .iter()
            .zip(shapes)
            .map(|(t, s)| parse_term(t, Some(s.len()), ell_rank))
            .collect::<Result<_>>()?;
        let mut sizes = std::collections::HashMap::new();
        for (labels, shape) in inputs.iter().zip(shapes) {
            if labels.len() != shape.len() {
                return Err(Error::Shape(format!(
                    "Einsum: term with {} labels for an input of shape {shape:?}",
                    labels.len()
                )));
            }
            for (&l, &d) in labels.iter().zip(shape.iter()) {
                let e = sizes.entry(l).or_insert(d);
                if *e == 1 {
                    *e = d;
                } else if d != 1 && d != *e {
                    return Err(Error::Shape(format!(
                        "Einsum: a label has sizes {} and {d} in '{eq}'",
                        *e
                    )));
                }
            }
        }
        let output = match rhs {
            Some(r) => parse_term(r, None, ell_rank)?,
            None => {
                // Implicit output: the ellipsis, then letters used once, alphabetically.
                let mut out: Vec<u32> = (0..ell_rank as u32).map(|i| ELLIPSIS + i).collect();
                let mut once: Vec<u32> = sizes
                    .keys()
                    .copied()
                    .filter(|&l| {
                        l < ELLIPSIS && inputs.iter().flatten().filter(|&&x| x == l).count() == 1
                    })
                    .collect();
                once.sort_unstable();
                out.extend(once);
                out
            }
        };
        if let Some(l) = output.iter().find(|l| !sizes.contains_key(l)) {
            return Err(Error::Shape(format!(
                "Einsum: output label {:?} does not appear in any input",
                char::from_u32(*l)
            )));
        }
        Ok(Equation {
            inputs,
            output,
            sizes,
        })
    }

    fn run<T: Real>(&self, ops: &[&Tensor]) -> Result<(Vec<usize>, Vec<T>)> {
        let out_shape: Vec<usize> = self.output.iter().map(|l| self.sizes[l]).collect();
        check_alloc(&out_shape, T::DTYPE)?;
        let mut terms: Vec<Term<T>> = Vec::with_capacity(ops.len());
        for (i, (t, labels)) in ops.iter().zip(&self.inputs).enumerate() {
            let term = Term {
                labels: labels.clone(),
                shape: t.shape().to_vec(),
                data: real_vec::<T>(t).into_owned(),
            };
            // Labels no later operand and not the output need: sum them away now.
            terms.push(self.reduce(diagonal(term), &self.needed(0, Some(i))));
        }
        let mut acc = terms.remove(0);
        for (j, b) in terms.into_iter().enumerate() {
            acc = self.contract(acc, b, &self.needed(j + 2, None))?;
        }
        let acc = self.reduce(acc, &self.output);
        Ok((out_shape.clone(), gather(&acc, &self.output, &out_shape)))
    }

    /// Labels of the output and of the operands from `from` on, except operand `except`.
    fn needed(&self, from: usize, except: Option<usize>) -> Vec<u32> {
        let mut v = self.output.clone();
        for (k, labels) in self.inputs.iter().enumerate().skip(from) {
            if Some(k) != except {
                v.extend(labels);
            }
        }
        v
    }

    /// Sums over the labels of `t` not in `keep`.
    fn reduce<T: Real>(&self, t: Term<T>, keep: &[u32]) -> Term<T> {
        let (kept, dropped): (Vec<usize>, Vec<usize>) =
            (0..t.labels.len()).partition(|&d| keep.contains(&t.labels[d]));
        if dropped.is_empty() {
            return t;
        }
        let order: Vec<u32> = kept.iter().chain(&dropped).map(|&d| t.labels[d]).collect();
        let shape: Vec<usize> = kept.iter().chain(&dropped).map(|&d| t.shape[d]).collect();
        let inner: usize = dropped.iter().map(|&d| t.shape[d]).product();
        let moved = gather(&t, &order, &shape);
        let data = if inner == 0 {
            vec![T::ZERO; kept.iter().map(|&d| t.shape[d]).product()]
        } else {
            moved
                .chunks(inner)
                .map(|c| c.iter().fold(T::ZERO, |s, &x| s + x))
                .collect()
        };
        Term {
            labels: kept.iter().map(|&d| t.labels[d]).collect(),
            shape: kept.iter().map(|&d| t.shape[d]).collect(),
            data,
        }
    }

    /// Contracts two terms into one holding the labels in `needed` (batch, A-only, B-only).
    fn contract<T: Real>(&self, a: Term<T>, b: Term<T>, needed: &[u32]) -> Result<Term<T>> {
        let a = self.reduce(a, &[needed, &b.labels[..]].concat());
        let b = self.reduce(b, &[needed, &a.labels[..]].concat());
        let in_b = |l: &u32| b.labels.contains(l);
        let batch: Vec<u32> = a
            .labels
            .iter()
            .copied()
            .filter(|l| in_b(l) && needed.contains(l))
            .collect();
        let left: Vec<u32> = a.labels.iter().copied().filter(|l| !in_b(l)).collect();
        let contr: Vec<u32> = a
            .labels
            .iter()
            .copied()
            .filter(|l| in_b(l) && !needed.contains(l))
            .collect();
        let right: Vec<u32> = b
            .labels
            .iter()
            .copied()
            .filter(|l| !a.labels.contains(l))
            .collect();
        let size = |ls: &[u32]| ls.iter().map(|l| self.sizes[l]).product::<usize>();
        let (nb, m, k, n) = (size(&batch), size(&left), size(&contr), size(&right));
        let a_order = [&batch[..], &left[..], &contr[..]].concat();
        let b_order = [&batch[..], &contr[..], &right[..]].concat();
        let sizes_of = |ls: &[u32]| ls.iter().map(|l| self.sizes[l]).collect::<Vec<_>>();
        let av = gather(&a, &a_order, &sizes_of(&a_order));
        let bv = gather(&b, &b_order, &sizes_of(&b_order));
        let labels = [&batch[..], &left[..], &right[..]].concat();
        let shape = sizes_of(&labels);
        check_alloc(&shape, T::DTYPE)?;
        let mut y = vec![T::ZERO; nb * m * n];
        if m * n > 0 {
            y.par_chunks_mut(m * n)
                .enumerate()
                .try_for_each(|(i, out)| {
                    let am = MatRef {
                        data: &av[i * m * k..],
                        rows: m,
                        cols: k,
                        rs: k,
                        cs: 1,
                    };
                    let bm = MatRef {
                        data: &bv[i * k * n..],
                        rows: k,
                        cols: n,
                        rs: n,
                        cs: 1,
                    };
                    T::gemm(am, bm, out, n, T::ONE, false)
                })?;
        }
        Ok(Term {
            labels,
            shape,
            data: y,
        })
    }
}

/// Merges repeated labels of one operand into one dimension (its diagonal).
fn diagonal<T: Copy>(t: Term<T>) -> Term<T> {
    let mut labels: Vec<u32> = Vec::new();
    let mut shape: Vec<usize> = Vec::new();
    for (&l, &d) in t.labels.iter().zip(&t.shape) {
        match labels.iter().position(|&x| x == l) {
            Some(i) => shape[i] = shape[i].min(d),
            None => {
                labels.push(l);
                shape.push(d);
            }
        }
    }
    if labels.len() == t.labels.len() {
        return t;
    }
    let data = gather(&t, &labels, &shape);
    Term {
        labels,
        shape,
        data,
    }
}

/// Reads `t` into a new C-order buffer with dimensions `labels` of sizes `shape`. A label that
/// occurs in several dimensions of `t` walks their diagonal; a dimension of size 1 in `t`
/// broadcasts; every label of `t` must be in `labels`.
fn gather<T: Copy>(t: &Term<T>, labels: &[u32], shape: &[usize]) -> Vec<T> {
    let own = crate::tensor::strides_of(&t.shape);
    let strides: Vec<usize> = labels
        .iter()
        .map(|l| {
            (0..t.labels.len())
                .filter(|&d| t.labels[d] == *l && t.shape[d] > 1)
                .map(|d| own[d])
                .sum()
        })
        .collect();
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    if labels.is_empty() {
        out.push(t.data[0]);
        return out;
    }
    let last = labels.len() - 1;
    let (inner, inner_stride) = (shape[last], strides[last]);
    let mut idx = vec![0usize; labels.len()];
    let mut base = 0usize;
    while out.len() < total {
        out.extend((0..inner).map(|j| t.data[base + j * inner_stride]));
        // Advance the odometer over every dimension but the last.
        for d in (0..last).rev() {
            idx[d] += 1;
            base += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            base -= strides[d] * shape[d];
            idx[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(eq: &str, ins: &[Tensor]) -> Tensor {
        let refs: Vec<Option<&Tensor>> = ins.iter().map(Some).collect();
        einsum(
            &Einsum {
                equation: eq.into(),
            },
            &refs,
        )
        .unwrap()
        .remove(0)
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn matmul_transpose_trace_and_sum() {
        let a = t(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = t(&[2, 2], vec![5.0, 6.0, 7.0, 8.0]);
        assert_eq!(
            run("ij,jk->ik", &[a.clone(), b.clone()])
                .as_slice::<f32>()
                .unwrap(),
            &[19.0, 22.0, 43.0, 50.0]
        );
        assert_eq!(
            run("ij->ji", &[a.clone()]).as_slice::<f32>().unwrap(),
            &[1.0, 3.0, 2.0, 4.0]
        );
        assert_eq!(run("ii", &[a.clone()]).as_slice::<f32>().unwrap(), &[5.0]);
        assert_eq!(
            run("ij->i", &[a.clone()]).as_slice::<f32>().unwrap(),
            &[3.0, 7.0]
        );
        // Implicit output of an outer product: "i,j" -> "ij".
        let v = t(&[2], vec![1.0, 2.0]);
        assert_eq!(
            run("i,j", &[v.clone(), v.clone()])
                .as_slice::<f32>()
                .unwrap(),
            &[1.0, 2.0, 2.0, 4.0]
        );
    }

    #[test]
    fn ellipsis_batch_matmul_broadcasts() {
        // (2,1,2) · (2,1) with "...ij,jk": batch of 2 rows times one matrix.
        let a = t(&[2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = t(&[2, 1], vec![1.0, 1.0]);
        let y = run("...ij,jk->...ik", &[a, b]);
        assert_eq!(y.shape(), &[2, 1, 1]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3.0, 7.0]);
    }
}
