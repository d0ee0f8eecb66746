//! Gemm and MatMul on top of [`sgemm`](super::gemm::sgemm)/[`dgemm`](super::gemm::dgemm).
//! <https://onnx.ai/onnx/operators/onnx__Gemm.html>, <https://onnx.ai/onnx/operators/onnx__MatMul.html>
//!
//! Float tensors always go through the GEMM kernels; the integer forms the spec also allows use a
//! plain wrapping loop, since the GEMM crate is float-only and integer matmuls are rare and small.

use super::arith::Real as ArithReal;
use super::epilogue::{activate, finish, residual_input, split_for_gemm};
use super::gemm::MatRef;
use super::real::{compute_type, real_tensor, real_vec, Real};
use super::{input, opt_input};
use crate::backend::cpu::buffers;
use crate::backend::cpu::sgemm::{self, Bias, Output, PackedA, PackedB, Rhs};
use crate::error::{Error, Result};
use crate::ir::geometry::{broadcast_shapes, broadcast_strides};
use crate::ir::{Epilogue, Gemm, MatMul};
use crate::tensor::{check_alloc, checked_numel, DType, Tensor};
use rayon::prelude::*;

pub use super::einsum::einsum;

/// Gemm: `Y = alpha · op(A) · op(B) + beta · C`, with `C` broadcast to `(M, N)`.
pub fn gemm(p: &Gemm, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (a, b) = (input(inputs, 0)?, input(inputs, 1)?);
    let c = opt_input(inputs, 2);
    if a.rank() != 2 || b.rank() != 2 {
        return Err(Error::Shape(format!(
            "Gemm expects 2-D A and B, got {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    check_same_dtype("Gemm", a, b)?;
    let (m, k) = if p.trans_a {
        (a.shape()[1], a.shape()[0])
    } else {
        (a.shape()[0], a.shape()[1])
    };
    let (kb, n) = if p.trans_b {
        (b.shape()[1], b.shape()[0])
    } else {
        (b.shape()[0], b.shape()[1])
    };
    if k != kb {
        return Err(Error::Shape(format!(
            "Gemm: op(A) is {m}x{k} but op(B) is {kb}x{n}"
        )));
    }
    // C broadcasts unidirectionally to (M, N); beta = 0 makes it irrelevant.
    let c = c.filter(|_| p.beta != 0.0);
    if let Some(c) = c {
        let ok =
            c.rank() <= 2 && broadcast_shapes(&[c.shape(), &[m, n]]).is_ok_and(|s| s == [m, n]);
        if !ok {
            return Err(Error::Shape(format!(
                "Gemm: C of shape {:?} does not broadcast to ({m}, {n})",
                c.shape()
            )));
        }
    }
    check_alloc(&[m, n], a.dtype())?;
    let dtype = a.dtype();
    let y = match compute_type(dtype) {
        Some(DType::F64) => real_tensor(vec![m, n], gemm_real::<f64>(p, a, b, c, m, k, n)?, dtype)?,
        Some(_) => real_tensor(vec![m, n], gemm_real::<f32>(p, a, b, c, m, k, n)?, dtype)?,
        None if p.activation.is_some() => {
            return Err(Error::DType(format!(
                "a fused Gemm activation needs float tensors, got {dtype}"
            )))
        }
        None => {
            let (av, bv) = (a.to_i64_vec(), b.to_i64_vec());
            let mut y = int_product(
                MatRef::row_major(&av, a.shape()[0], a.shape()[1], p.trans_a),
                MatRef::row_major(&bv, b.shape()[0], b.shape()[1], p.trans_b),
            );
            let (alpha, beta) = (p.alpha as i64, p.beta as i64);
            let cv = c.map(|c| (c.to_i64_vec(), broadcast_strides(c.shape(), &[m, n])));
            for (i, row) in y.chunks_mut(n.max(1)).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = v.wrapping_mul(alpha);
                    if let Some((cv, s)) = &cv {
                        *v = v.wrapping_add(beta.wrapping_mul(cv[i * s[0] + j * s[1]]));
                    }
                }
            }
            Tensor::from_vec(vec![m, n], y)?.cast(dtype)
        }
    };
    Ok(vec![y])
}

fn gemm_real<T: Real + ArithReal>(
    p: &Gemm,
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    m: usize,
    _k: usize,
    n: usize,
) -> Result<Vec<T>> {
    let (av, bv) = (real_vec::<T>(a), real_vec::<T>(b));
    let mut y = vec![T::ZERO; m * n];
    if let Some(c) = c {
        let cv = real_vec::<T>(c);
        let s = broadcast_strides(c.shape(), &[m, n]);
        let beta = T::of(p.beta as f64);
        for (i, row) in y.chunks_mut(n.max(1)).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = beta * cv[i * s[0] + j * s[1]];
            }
        }
    }
    let am = MatRef::row_major(&av, a.shape()[0], a.shape()[1], p.trans_a);
    let bm = MatRef::row_major(&bv, b.shape()[0], b.shape()[1], p.trans_b);
    T::gemm(am, bm, &mut y, n, T::of(p.alpha as f64), c.is_some())?;
    if let Some(act) = p.activation {
        activate(act, &mut y)?;
    }
    Ok(y)
}

/// MatMul with numpy semantics: 1-D operands are promoted (and the added dimension removed from
/// the result), leading batch dimensions broadcast. A fused bias (input 2, one value per output
/// column) is pre-filled into the output and accumulated onto; the rest of the epilogue follows.
///
/// `packed`: B pre-packed when the engine was compiled (B is a constant matrix); then a product
/// whose batches fold into one GEMM runs on the packed kernels.
pub fn matmul(
    p: &MatMul,
    inputs: &[Option<&Tensor>],
    packed: Option<&PackedB>,
) -> Result<Vec<Tensor>> {
    let (a, b) = (input(inputs, 0)?, input(inputs, 1)?);
    check_same_dtype("MatMul", a, b)?;
    let plan = MatMulPlan::new(a.shape(), b.shape())?;
    check_alloc(&plan.out_shape, a.dtype())?;
    let bias = opt_input(inputs, 2);
    if let Some(bias) = bias {
        if bias.len() != plan.n || bias.dtype() != a.dtype() {
            return Err(Error::Shape(format!(
                "fused MatMul bias is {}{:?}, expected {}[{}]",
                bias.dtype(),
                bias.shape(),
                a.dtype(),
                plan.n
            )));
        }
    }
    let res = residual_input(&p.epilogue, inputs, 3, &plan.out_shape)?;
    let dtype = a.dtype();
    let one_gemm = plan.fold_batch || plan.offsets.len() == 1;
    let y = match compute_type(dtype) {
        Some(DType::F64) => {
            let y = matmul_real::<f64>(&plan, a, b, bias, res, &p.epilogue)?;
            real_tensor(plan.out_shape.clone(), y, dtype)?
        }
        Some(_) if packed.is_some() && one_gemm && b.rank() == 2 => {
            let packed = packed.expect("checked");
            let y = matmul_packed(&plan, a, packed, bias, res, &p.epilogue)?;
            real_tensor(plan.out_shape.clone(), y, dtype)?
        }
        Some(_) => {
            let y = matmul_real::<f32>(&plan, a, b, bias, res, &p.epilogue)?;
            real_tensor(plan.out_shape.clone(), y, dtype)?
        }
        None if dtype == DType::Bool => {
            return Err(Error::DType("MatMul does not accept bool tensors".into()))
        }
        None if bias.is_some() || !p.epilogue.is_empty() => {
            return Err(Error::DType(format!(
                "a fused MatMul epilogue needs float tensors, got {dtype}"
            )))
        }
        None => Tensor::from_vec(
            plan.out_shape.clone(),
            plan.run_int(&a.to_i64_vec(), &b.to_i64_vec()),
        )?
        .cast(dtype),
    };
    Ok(vec![y])
}

fn matmul_real<T: Real + ArithReal>(
    plan: &MatMulPlan,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    residual: Option<&Tensor>,
    ep: &Epilogue,
) -> Result<Vec<T>> {
    let bias = bias.map(real_vec::<T>);
    let mut y = plan.run_real::<T>(&real_vec(a), &real_vec(b), bias.as_deref())?;
    let res = residual.map(real_vec::<T>);
    finish(ep, &mut y, res.as_deref())?;
    Ok(y)
}

/// The product on a pre-packed B: one GEMM over every row of A, with the bias, residual and a
/// Relu/Clip applied as the output is written (any other activation after).
fn matmul_packed(
    plan: &MatMulPlan,
    a: &Tensor,
    b: &PackedB,
    bias: Option<&Tensor>,
    residual: Option<&Tensor>,
    ep: &Epilogue,
) -> Result<Vec<f32>> {
    let (k, n) = (plan.k, plan.n);
    if b.k != k || b.n != n {
        return Err(Error::Shape(format!(
            "pre-packed MatMul B is {}x{} but the product needs {k}x{n}",
            b.k, b.n
        )));
    }
    let rows = plan.offsets.len() * plan.m;
    let av = real_vec::<f32>(a);
    let pa = PackedA::new(MatRef::row_major(&av[..rows * k], rows, k, false));
    let bias = bias.map(real_vec::<f32>);
    let res = residual.map(real_vec::<f32>);
    let ((lo, hi), after) = split_for_gemm(ep.activation);
    let out = Output {
        bias: bias.as_deref().map_or(Bias::None, Bias::PerCol),
        residual: res.as_deref(),
        lo,
        hi,
    };
    let mut y = buffers::take::<f32>(rows * n);
    sgemm::gemm(&pa, Rhs::Packed(b), &mut y, n, &out)?;
    pa.release();
    if let Some(act) = after {
        activate(act, &mut y)?;
    }
    Ok(y)
}

fn check_same_dtype(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DType(format!(
            "{op}: A is {} but B is {}",
            a.dtype(),
            b.dtype()
        )));
    }
    Ok(())
}

/// The geometry of a broadcast batched matmul: `batch` products of `(m, k) · (k, n)`, each reading
/// A and B at the given element offsets.
pub struct MatMulPlan {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub out_shape: Vec<usize>,
    /// Per output matrix: (offset into A, offset into B).
    pub offsets: Vec<(usize, usize)>,
    /// B is one matrix shared by every batch and A's batches are contiguous, so the whole product
    /// folds into a single `(batch·m, k) · (k, n)` GEMM.
    pub fold_batch: bool,
}

impl MatMulPlan {
    pub fn new(a: &[usize], b: &[usize]) -> Result<MatMulPlan> {
        if a.is_empty() || b.is_empty() {
            return Err(Error::Shape(format!(
                "MatMul operands must have rank >= 1, got {a:?} and {b:?}"
            )));
        }
        let a2: Vec<usize> = if a.len() == 1 {
            vec![1, a[0]]
        } else {
            a.to_vec()
        };
        let b2: Vec<usize> = if b.len() == 1 {
            vec![b[0], 1]
        } else {
            b.to_vec()
        };
        let (ra, rb) = (a2.len(), b2.len());
        let (m, k, kb, n) = (a2[ra - 2], a2[ra - 1], b2[rb - 2], b2[rb - 1]);
        if k != kb {
            return Err(Error::Shape(format!(
                "MatMul: inner dimensions differ: {a:?} · {b:?}"
            )));
        }
        let (ba, bb) = (&a2[..ra - 2], &b2[..rb - 2]);
        let batch = broadcast_shapes(&[ba, bb])?;
        let mut out_shape = batch.clone();
        if a.len() > 1 {
            out_shape.push(m);
        }
        if b.len() > 1 {
            out_shape.push(n);
        }
        let nbatch = checked_numel(&batch)
            .ok_or_else(|| Error::Shape(format!("MatMul batch {batch:?} overflows")))?;
        let (sa, sb) = (broadcast_strides(ba, &batch), broadcast_strides(bb, &batch));
        let mut offsets = Vec::with_capacity(nbatch);
        let mut idx = vec![0usize; batch.len()];
        for _ in 0..nbatch {
            let oa: usize = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
            let ob: usize = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
            offsets.push((oa * m * k, ob * k * n));
            for d in (0..batch.len()).rev() {
                idx[d] += 1;
                if idx[d] < batch[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        let b_shared = bb.iter().all(|&d| d == 1);
        let a_full = checked_numel(ba) == Some(nbatch);
        Ok(MatMulPlan {
            m,
            k,
            n,
            out_shape,
            offsets,
            fold_batch: b_shared && a_full,
        })
    }

    /// Runs the product on float data through the GEMM kernel, onto `bias` (one value per output
    /// column) when given.
    pub fn run_real<T: Real>(&self, a: &[T], b: &[T], bias: Option<&[T]>) -> Result<Vec<T>> {
        let (m, k, n) = (self.m, self.k, self.n);
        // Every element is written: by the GEMM (k > 0), or by its k == 0 zero fill.
        let mut y = buffers::take::<T>(self.offsets.len() * m * n);
        if y.is_empty() {
            return Ok(y);
        }
        let acc = bias.is_some();
        if let Some(bias) = bias {
            y.par_chunks_mut(n)
                .for_each(|row| row.copy_from_slice(bias));
        }
        let bm = |off: usize| MatRef::row_major(&b[off..], k, n, false);
        if self.fold_batch || self.offsets.len() == 1 {
            let (oa, ob) = self.offsets[0];
            let rows = if self.fold_batch {
                self.offsets.len() * m
            } else {
                m
            };
            let am = MatRef::row_major(&a[oa..], rows, k, false);
            T::gemm(am, bm(ob), &mut y, n, T::ONE, acc)?;
            return Ok(y);
        }
        // Many independent products: one task each; GEMM parallelizes inside when a product is big.
        y.par_chunks_mut(m * n)
            .zip(&self.offsets)
            .try_for_each(|(out, &(oa, ob))| {
                let am = MatRef::row_major(&a[oa..], m, k, false);
                T::gemm(am, bm(ob), out, n, T::ONE, acc)
            })?;
        Ok(y)
    }

    /// Runs the product on integer data (wrapping, as numpy does for fixed-width integers).
    pub fn run_int(&self, a: &[i64], b: &[i64]) -> Vec<i64> {
        let (m, k, n) = (self.m, self.k, self.n);
        let mut y = Vec::with_capacity(self.offsets.len() * m * n);
        for &(oa, ob) in &self.offsets {
            let am = MatRef::row_major(&a[oa..], m, k, false);
            let bm = MatRef::row_major(&b[ob..], k, n, false);
            y.extend(int_product(am, bm));
        }
        y
    }
}

/// `A·B` for integer matrices, row-major `rows(A) × cols(B)`, with wrapping arithmetic.
fn int_product(a: MatRef<i64>, b: MatRef<i64>) -> Vec<i64> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut y = vec![0i64; m * n];
    for i in 0..m {
        for p in 0..k {
            let av = a.data[i * a.rs + p * a.cs];
            for j in 0..n {
                y[i * n + j] =
                    y[i * n + j].wrapping_add(av.wrapping_mul(b.data[p * b.rs + j * b.cs]));
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn matmul_broadcasts_batches_and_vectors() {
        // (2,1,2) · (2,2): B is shared, so the batch folds into one GEMM.
        let a = t(&[2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = t(&[2, 2], vec![1.0, 0.0, 1.0, 1.0]);
        let y = matmul(&MatMul::default(), &[Some(&a), Some(&b)], None)
            .unwrap()
            .remove(0);
        assert_eq!(y.shape(), &[2, 1, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3.0, 2.0, 7.0, 4.0]);
        // 1-D · 1-D is a scalar.
        let v = t(&[3], vec![1.0, 2.0, 3.0]);
        let y = matmul(&MatMul::default(), &[Some(&v), Some(&v)], None)
            .unwrap()
            .remove(0);
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[14.0]);
    }

    /// A MatMul on pre-packed weights, with bias, residual and an activation, matches the
    /// unpacked path (the `gemm` crate plus a separate epilogue).
    #[test]
    fn packed_weights_give_the_same_product_and_epilogue() {
        let vals = |n: usize, k: f32| (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * k).collect();
        let a = t(&[2, 5, 70], vals(700, 0.01));
        let b = t(&[70, 33], vals(70 * 33, 0.02));
        let bias = t(&[33], vals(33, 0.1));
        let res = t(&[2, 5, 33], vals(330, 0.03));
        let packed = PackedB::new(MatRef::row_major(
            b.as_slice::<f32>().unwrap(),
            70,
            33,
            false,
        ));
        for act in [
            Some(crate::ir::FusedActivation::Unary(
                crate::ir::UnaryKind::Relu,
            )),
            Some(crate::ir::FusedActivation::Unary(
                crate::ir::UnaryKind::Gelu { tanh: false },
            )),
            None,
        ] {
            let p = MatMul {
                epilogue: Epilogue {
                    residual: true,
                    activation: act,
                },
            };
            let inputs = [Some(&a), Some(&b), Some(&bias), Some(&res)];
            let want = matmul(&p, &inputs, None).unwrap().remove(0);
            let got = matmul(&p, &inputs, Some(&packed)).unwrap().remove(0);
            assert_eq!(got.shape(), want.shape());
            let (g, w) = (
                got.as_slice::<f32>().unwrap(),
                want.as_slice::<f32>().unwrap(),
            );
            for (x, y) in g.iter().zip(w) {
                assert!((x - y).abs() < 1e-4, "{act:?}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn gemm_applies_alpha_beta_and_bias_broadcast() {
        let a = t(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let b = t(&[2, 2], vec![1.0, 0.0, 0.0, 1.0]);
        let c = t(&[2], vec![10.0, 20.0]);
        let p = Gemm {
            alpha: 2.0,
            beta: 0.5,
            trans_a: true,
            trans_b: false,
            activation: None,
        };
        let y = gemm(&p, &[Some(&a), Some(&b), Some(&c)]).unwrap().remove(0);
        // 2·Aᵀ + 0.5·[10, 20] per row.
        assert_eq!(y.as_slice::<f32>().unwrap(), &[7.0, 16.0, 9.0, 18.0]);
    }

    #[test]
    fn integer_matmul_wraps() {
        let a = Tensor::from_vec(vec![1, 2], vec![2i32, 3]).unwrap();
        let b = Tensor::from_vec(vec![2, 1], vec![4i32, 5]).unwrap();
        let y = matmul(&MatMul::default(), &[Some(&a), Some(&b)], None)
            .unwrap()
            .remove(0);
        assert_eq!(y.as_slice::<i32>().unwrap(), &[23]);
    }
}
