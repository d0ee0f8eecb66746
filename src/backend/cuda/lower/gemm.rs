//! Gemm, MatMul (numpy batching and broadcasting) and the fused Attention on cuBLASLt, with their
//! epilogues (bias, residual, activation) in one extra elementwise pass.
//! <https://onnx.ai/onnx/operators/onnx__Gemm.html>, <https://onnx.ai/onnx/operators/onnx__MatMul.html>
//!
//! Our tensors are row-major and cuBLASLt is column-major: a row-major `C = A·B` is the
//! column-major `Cᵀ = Bᵀ·Aᵀ`, and a row-major matrix *is* its transpose in column-major terms with
//! the same leading dimension. So [`RowMajor::into_gemm`] only swaps the operands (and their
//! transpose flags): no data moves.

use super::shapes::broadcast_strides;
use super::{float_suffix, Lowerer, Value};
use crate::backend::cuda::codes::{self, Act, BinaryClass, NO_ACT};
use crate::backend::cuda::program::{Arg, Buf, DeviceTensor, Gemm};
use crate::error::{Error, Result};
use crate::ir::geometry::broadcast_shapes;
use crate::ir::{self, Node};
use crate::tensor::DType;

/// One operand of a row-major GEMM: where it starts, its leading dimension (elements per stored
/// row), its batch stride in elements (0: shared by every batch) and whether it is used transposed.
#[derive(Clone, Copy, Debug)]
pub struct Mat {
    pub buf: Buf,
    pub ld: usize,
    pub stride: usize,
    pub trans: bool,
}

/// `C (m×n) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C`, `batch` times, all row-major.
#[derive(Clone, Copy, Debug)]
pub struct RowMajor {
    pub dtype: DType,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Mat,
    pub b: Mat,
    pub c: Mat,
    pub batch: usize,
    pub alpha: f32,
    pub beta: f32,
}

impl RowMajor {
    /// The same product in cuBLASLt's column-major terms.
    pub fn into_gemm(self) -> Result<Gemm> {
        let batch = i32::try_from(self.batch)
            .map_err(|_| Error::Shape(format!("a batch of {} GEMMs is too many", self.batch)))?;
        Ok(Gemm {
            dtype: self.dtype,
            m: self.n as u64,
            n: self.m as u64,
            k: self.k as u64,
            trans_a: self.b.trans,
            trans_b: self.a.trans,
            lda: self.b.ld as i64,
            ldb: self.a.ld as i64,
            ldc: self.c.ld as i64,
            batch,
            stride_a: self.b.stride as i64,
            stride_b: self.a.stride as i64,
            stride_c: self.c.stride as i64,
            alpha: self.alpha,
            beta: self.beta,
            a: self.b.buf,
            b: self.a.buf,
            d: self.c.buf,
        })
    }
}

/// Pushes a row-major GEMM.
pub fn push(l: &mut Lowerer, g: RowMajor) -> Result<()> {
    if g.k == 0 {
        return Err(Error::Shape(
            "a product with an inner dimension of 0 has no CUDA kernel".into(),
        ));
    }
    l.gemm(g.into_gemm()?);
    Ok(())
}

/// A plain (untransposed) row-major matrix of `cols` columns.
pub fn plain(buf: Buf, cols: usize, stride: usize) -> Mat {
    Mat {
        buf,
        ld: cols,
        stride,
        trans: false,
    }
}

/// `y += bias[(i / inner) % channels]`, `+ residual`, then `act`, in place; nothing when there is
/// nothing to do.
pub fn epilogue(
    l: &mut Lowerer,
    y: &DeviceTensor,
    bias: Option<Buf>,
    inner: usize,
    channels: usize,
    residual: Option<Buf>,
    act: Act,
) -> Result<()> {
    if bias.is_none() && residual.is_none() && act == NO_ACT {
        return Ok(());
    }
    let suffix = float_suffix("an epilogue", y.dtype)?;
    let n = y.len();
    let (code, a, b) = act;
    let args = vec![
        Arg::I64(n as i64),
        Arg::Ptr(y.buf),
        Arg::Ptr(bias.unwrap_or(Buf::Null)),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(channels.max(1) as i64),
        Arg::Ptr(residual.unwrap_or(Buf::Null)),
        Arg::I32(code),
        Arg::F32(a),
        Arg::F32(b),
    ];
    l.launch_chunks(format!("epilogue_{suffix}"), n, args);
    Ok(())
}

/// `alpha · A·B` with numpy semantics (1-D operands promoted, batch dims broadcast) into a new
/// tensor. B without batch dims folds A's batch into its rows: one large GEMM.
pub fn matmul_op(
    l: &mut Lowerer,
    a: &DeviceTensor,
    b: &DeviceTensor,
    alpha: f32,
) -> Result<DeviceTensor> {
    float_suffix("MatMul", a.dtype)?;
    if a.dtype != b.dtype || a.shape.is_empty() || b.shape.is_empty() {
        return Err(Error::Shape(format!(
            "MatMul of {}{:?} and {}{:?}",
            a.dtype, a.shape, b.dtype, b.shape
        )));
    }
    let a_shape = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b_shape = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (ra, rb) = (a_shape.len(), b_shape.len());
    let (m, k, kb, n) = (
        a_shape[ra - 2],
        a_shape[ra - 1],
        b_shape[rb - 2],
        b_shape[rb - 1],
    );
    if k != kb {
        return Err(Error::Shape(format!(
            "MatMul: A {:?} and B {:?} have inner dims {k} and {kb}",
            a.shape, b.shape
        )));
    }
    let (ba, bb) = (&a_shape[..ra - 2], &b_shape[..rb - 2]);
    let batch = broadcast_shapes(&[ba, bb])?;
    let nb: usize = batch.iter().product();
    let mut out_shape = batch.clone();
    if a.shape.len() > 1 {
        out_shape.push(m);
    }
    if b.shape.len() > 1 {
        out_shape.push(n);
    }
    let y = l.alloc(a.dtype, out_shape);
    let es = a.dtype.size();
    let (na, nbb): (usize, usize) = (ba.iter().product(), bb.iter().product());
    let g = |a: Mat, b: Mat, c: Mat, m: usize, batch: usize| RowMajor {
        dtype: y.dtype,
        m,
        n,
        k,
        a,
        b,
        c,
        batch,
        alpha,
        beta: 0.0,
    };
    if nbb == 1 {
        // B is one matrix: A's batch are just more rows.
        let p = g(
            plain(a.buf, k, 0),
            plain(b.buf, n, 0),
            plain(y.buf, n, 0),
            nb * m,
            1,
        );
        return push(l, p).map(|_| y);
    }
    let same =
        |s: &[usize]| s.iter().product::<usize>() == nb && broadcast_shapes(&[s, &batch]).is_ok();
    if (na == 1 || same(ba)) && same(bb) {
        let sa = if na == 1 { 0 } else { m * k };
        let p = g(
            plain(a.buf, k, sa),
            plain(b.buf, n, k * n),
            plain(y.buf, n, m * n),
            m,
            nb,
        );
        return push(l, p).map(|_| y);
    }
    // General broadcasting: one GEMM per output matrix.
    let (sa, sb) = (broadcast_strides(ba, &batch), broadcast_strides(bb, &batch));
    for i in 0..nb {
        let (mut rest, mut oa, mut ob) = (i, 0usize, 0usize);
        for d in (0..batch.len()).rev() {
            let idx = rest % batch[d];
            rest /= batch[d];
            oa += idx * sa[d] as usize;
            ob += idx * sb[d] as usize;
        }
        let p = g(
            plain(a.buf.at(oa * m * k * es), k, 0),
            plain(b.buf.at(ob * k * n * es), n, 0),
            plain(y.buf.at(i * m * n * es), n, 0),
            m,
            1,
        );
        push(l, p)?;
    }
    Ok(y)
}

pub fn matmul(l: &mut Lowerer, node: &Node, p: &ir::MatMul) -> Result<Vec<Value>> {
    let (a, b) = (l.dev_input(node, 0)?, l.dev_input(node, 1)?);
    let y = matmul_op(l, &a, &b, 1.0)?;
    let n = *y.shape.last().unwrap_or(&1);
    let bias = l.opt_dev_input(node, 2);
    if let Some(bias) = &bias {
        if bias.len() != n || bias.dtype != y.dtype {
            return Err(Error::Shape(format!(
                "fused MatMul bias is {}{:?}, expected {}[{n}]",
                bias.dtype, bias.shape, y.dtype
            )));
        }
    }
    let residual = residual(l, node, p.epilogue.residual, &y)?;
    let act = activation(p.epilogue.activation)?;
    epilogue(l, &y, bias.map(|b| b.buf), 1, n, residual, act)?;
    Ok(vec![Value::device(y)])
}

/// The fused residual operand (input 3), which must have the output's shape.
pub fn residual(
    l: &mut Lowerer,
    node: &Node,
    wanted: bool,
    y: &DeviceTensor,
) -> Result<Option<Buf>> {
    if !wanted {
        return Ok(None);
    }
    let r = l.dev_input(node, 3)?;
    if r.shape != y.shape || r.dtype != y.dtype {
        return Err(Error::Shape(format!(
            "fused residual {}{:?} does not match the output {}{:?}",
            r.dtype, r.shape, y.dtype, y.shape
        )));
    }
    Ok(Some(r.buf))
}

/// The kernel function of a fused activation.
pub fn activation(a: Option<ir::FusedActivation>) -> Result<Act> {
    codes::fused(a).ok_or_else(|| {
        Error::Graph(format!(
            "fused activation {:?} has no float form",
            a.map(|a| a.name())
        ))
    })
}

pub fn gemm(l: &mut Lowerer, node: &Node, p: &ir::Gemm) -> Result<Vec<Value>> {
    let (a, b) = (l.dev_input(node, 0)?, l.dev_input(node, 1)?);
    float_suffix("Gemm", a.dtype)?;
    if a.shape.len() != 2 || b.shape.len() != 2 || a.dtype != b.dtype {
        return Err(Error::Shape(format!(
            "Gemm expects 2-D A and B of one dtype, got {}{:?} and {}{:?}",
            a.dtype, a.shape, b.dtype, b.shape
        )));
    }
    let (m, k) = if p.trans_a {
        (a.shape[1], a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let (kb, n) = if p.trans_b {
        (b.shape[1], b.shape[0])
    } else {
        (b.shape[0], b.shape[1])
    };
    if k != kb {
        return Err(Error::Shape(format!(
            "Gemm: op(A) is {m}x{k} but op(B) is {kb}x{n}"
        )));
    }
    let y = l.alloc(a.dtype, vec![m, n]);
    let c = if p.beta != 0.0 {
        l.opt_dev_input(node, 2)
    } else {
        None
    };
    let beta = match &c {
        Some(c) => {
            if c.shape.len() > 2 || broadcast_shapes(&[&c.shape, &[m, n]]).ok() != Some(vec![m, n])
            {
                return Err(Error::Shape(format!(
                    "Gemm: C of shape {:?} does not broadcast to ({m}, {n})",
                    c.shape
                )));
            }
            super::layout::broadcast_into(l, c, &y)?;
            p.beta
        }
        None => 0.0,
    };
    let op = |buf: Buf, rows: usize, cols: usize, trans: bool| Mat {
        buf,
        ld: if trans { rows } else { cols },
        stride: 0,
        trans,
    };
    // Stored A is (m×k), or (k×m) when transposed: its leading dim is its stored column count.
    let am = op(a.buf, m, k, p.trans_a);
    let bm = op(b.buf, k, n, p.trans_b);
    push(
        l,
        RowMajor {
            dtype: y.dtype,
            m,
            n,
            k,
            a: am,
            b: bm,
            c: plain(y.buf, n, 0),
            batch: 1,
            alpha: p.alpha,
            beta,
        },
    )?;
    epilogue(l, &y, None, 1, n, None, activation(p.activation)?)?;
    Ok(vec![Value::device(y)])
}

/// `softmax(scale · Q·Kᵀ + mask) · V`, with Kᵀ given already transposed (see [`ir::Attention`]).
pub fn attention(l: &mut Lowerer, node: &Node, p: &ir::Attention) -> Result<Vec<Value>> {
    let (q, kt, v) = (
        l.dev_input(node, 0)?,
        l.dev_input(node, 1)?,
        l.dev_input(node, 2)?,
    );
    let mut scores = matmul_op(l, &q, &kt, p.scale)?;
    if p.has_mask {
        let mask = l.dev_input(node, 3)?;
        let add = codes::bin("ADD");
        scores = super::elementwise::binary_op(l, add, BinaryClass::Arith, &scores, &mask)?;
    }
    let len = *scores.shape.last().unwrap_or(&1);
    super::norm::softmax_into(l, &scores, scores.buf, len, 1, false)?;
    Ok(vec![Value::device(matmul_op(l, &scores, &v, 1.0)?)])
}
