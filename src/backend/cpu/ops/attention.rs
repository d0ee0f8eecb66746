//! The optimizer's fused scaled dot-product attention ([`Attention`]):
//! `softmax(scale · Q·Kᵀ + mask) · V`, the pattern `passes::FuseAttention` replaces.
//! <https://onnx.ai/onnx/operators/onnx__Attention.html> (ONNX's op takes K untransposed; ours
//! takes Kᵀ as the fused MatMul read it.)
//!
//! Per (batch·head) and block of query rows: the scores block by the GEMM (the scale rides in its
//! alpha), the mask added, each row soft-maxed in f32 with its maximum subtracted, and the block
//! multiplied by V with the GEMM straight into the output rows. Blocks run in parallel; a worker
//! holds one `[rows, S_kv]` score block at a time, never the whole `[B, H, S, S_kv]` tensor.
//! f16 and bf16 are widened to f32 on the way in and narrowed once on the way out.

use super::gemm::{sgemm, MatRef};
use super::input;
use super::real::{float_only, real_tensor, real_vec};
use crate::error::{Error, Result};
use crate::ir::geometry::{broadcast_shapes, broadcast_strides};
use crate::ir::Attention;
use crate::tensor::{check_alloc, checked_numel, DType, Tensor};
use rayon::prelude::*;

/// Query rows per task: a 64 × 128 f32 score block (BERT's sequence length) is 32 KiB, so it stays
/// in L2 between the two products, and a 12-head batch still splits into 24 tasks at seq 128.
const ROW_BLOCK: usize = 64;

/// Runs the fused attention on Q, Kᵀ, V and the optional mask (input 3, when `has_mask`).
pub fn attention(p: &Attention, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (q, kt, v) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let mask = if p.has_mask {
        Some(input(inputs, 3)?)
    } else {
        None
    };
    let dtype = q.dtype();
    if !matches!(dtype, DType::F32 | DType::F16 | DType::BF16) {
        return Err(float_only("Attention (f32, f16, bf16)", dtype));
    }
    for (name, t) in [("K", kt), ("V", v)]
        .into_iter()
        .chain(mask.map(|m| ("mask", m)))
    {
        if t.dtype() != dtype {
            return Err(Error::DType(format!(
                "Attention: Q is {dtype} but {name} is {}",
                t.dtype()
            )));
        }
    }
    let geo = Geometry::new(q.shape(), kt.shape(), v.shape(), mask.map(|m| m.shape()))?;
    check_alloc(&geo.out_shape, dtype)?;
    let (qv, kv, vv) = (real_vec::<f32>(q), real_vec::<f32>(kt), real_vec::<f32>(v));
    let mv = mask.map(real_vec::<f32>);
    let y = run(&geo, &qv, &kv, &vv, mv.as_deref(), p.scale)?;
    Ok(vec![real_tensor(geo.out_shape, y, dtype)?])
}

/// Sizes and per-batch offsets of one attention call.
struct Geometry {
    s: usize,
    d: usize,
    skv: usize,
    dv: usize,
    out_shape: Vec<usize>,
    /// Per output matrix: element offsets of its Q, Kᵀ and V matrices and of its mask plane.
    offsets: Vec<[usize; 4]>,
    /// Mask strides along the query rows and the key columns (0 where it broadcasts).
    mask_rc: (usize, usize),
}

impl Geometry {
    fn new(q: &[usize], kt: &[usize], v: &[usize], mask: Option<&[usize]>) -> Result<Geometry> {
        if q.len() < 2 || kt.len() < 2 || v.len() < 2 {
            return Err(Error::Shape(format!(
                "Attention needs Q, Kᵀ, V of rank >= 2, got {q:?}, {kt:?}, {v:?}"
            )));
        }
        let split = |s: &[usize]| -> (Vec<usize>, usize, usize) {
            (s[..s.len() - 2].to_vec(), s[s.len() - 2], s[s.len() - 1])
        };
        let ((qb, s, d), (kb, dk, skv), (vb, skv_v, dv)) = (split(q), split(kt), split(v));
        if d != dk || skv != skv_v {
            return Err(Error::Shape(format!(
                "Attention: Q {q:?}, Kᵀ {kt:?} and V {v:?} do not chain"
            )));
        }
        let batch = broadcast_shapes(&[&qb, &kb, &vb])?;
        let mut out_shape = batch.clone();
        out_shape.extend([s, dv]);
        let mut scores = batch.clone();
        scores.extend([s, skv]);
        let mask_strides = match mask {
            Some(m) => {
                if broadcast_shapes(&[m, &scores])? != scores {
                    return Err(Error::Shape(format!(
                        "Attention: mask {m:?} does not broadcast to the scores {scores:?}"
                    )));
                }
                Some(broadcast_strides(m, &scores))
            }
            None => None,
        };
        let nb = checked_numel(&batch)
            .ok_or_else(|| Error::Shape(format!("Attention batch {batch:?} overflows")))?;
        let strides = [&qb, &kb, &vb].map(|b| broadcast_strides(b, &batch));
        let sizes = [s * d, d * skv, skv * dv];
        let mut offsets = Vec::with_capacity(nb);
        let mut idx = vec![0usize; batch.len()];
        for _ in 0..nb {
            let at = |st: &[usize]| idx.iter().zip(st).map(|(i, s)| i * s).sum::<usize>();
            let m = mask_strides.as_ref().map_or(0, |ms| at(&ms[..batch.len()]));
            offsets.push([
                at(&strides[0]) * sizes[0],
                at(&strides[1]) * sizes[1],
                at(&strides[2]) * sizes[2],
                m,
            ]);
            for k in (0..batch.len()).rev() {
                idx[k] += 1;
                if idx[k] < batch[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        let mask_rc = mask_strides.map_or((0, 0), |ms| (ms[batch.len()], ms[batch.len() + 1]));
        Ok(Geometry {
            s,
            d,
            skv,
            dv,
            out_shape,
            offsets,
            mask_rc,
        })
    }
}

/// Every (batch, row block) task: scores, mask, softmax, · V into its own output rows.
fn run(
    geo: &Geometry,
    q: &[f32],
    kt: &[f32],
    v: &[f32],
    mask: Option<&[f32]>,
    scale: f32,
) -> Result<Vec<f32>> {
    let Geometry { s, d, skv, dv, .. } = *geo;
    let mut y = vec![0f32; geo.offsets.len() * s * dv];
    if y.is_empty() {
        return Ok(y);
    }
    y.par_chunks_mut(s * dv)
        .zip(&geo.offsets)
        .try_for_each(|(out_b, &[oq, ok, ov, om])| {
            out_b
                .par_chunks_mut(ROW_BLOCK * dv)
                .enumerate()
                .try_for_each_init(Vec::new, |scores: &mut Vec<f32>, (blk, out)| {
                    let (r0, rows) = (blk * ROW_BLOCK, out.len() / dv);
                    scores.clear();
                    scores.resize(rows * skv, 0.0);
                    let qm = MatRef::row_major(&q[oq + r0 * d..], rows, d, false);
                    let km = MatRef::row_major(&kt[ok..], d, skv, false);
                    sgemm(qm, km, scores, skv, scale, false)?;
                    for (i, row) in scores.chunks_mut(skv.max(1)).enumerate() {
                        if let Some(m) = mask {
                            let (rs, cs) = geo.mask_rc;
                            let base = om + (r0 + i) * rs;
                            if cs == 1 {
                                row.iter_mut()
                                    .zip(&m[base..base + skv])
                                    .for_each(|(x, a)| *x += a);
                            } else {
                                row.iter_mut()
                                    .enumerate()
                                    .for_each(|(j, x)| *x += m[base + j * cs]);
                            }
                        }
                        softmax_row(row);
                    }
                    let pm = MatRef::row_major(scores.as_slice(), rows, skv, false);
                    let vm = MatRef::row_major(&v[ov..], skv, dv, false);
                    sgemm(pm, vm, out, dv, 1.0, false)
                })
        })?;
    Ok(y)
}

/// Softmax of one row in place, its maximum subtracted first so large scores do not overflow.
fn softmax_row(row: &mut [f32]) {
    let Some(&first) = row.first() else { return };
    let max = row.iter().fold(first, |m, &x| if x > m { x } else { m });
    let mut sum = 0f32;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|x| *x *= inv);
}

#[cfg(test)]
mod tests {
    use super::super::{binary::binary_op, matmul::matmul, softmax::softmax};
    use super::*;
    use crate::ir::{BinaryKind, MatMul, Softmax};
    use crate::tensor::random::random_tensor;

    /// The unfused graph: MatMul, Mul by the scale, Add the mask, Softmax, MatMul.
    fn reference(q: &Tensor, kt: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f32) -> Tensor {
        let mm = |a: &Tensor, b: &Tensor| {
            matmul(&MatMul::default(), &[Some(a), Some(b)], None)
                .unwrap()
                .remove(0)
        };
        let mut x = binary_op(BinaryKind::Mul, &mm(q, kt), &Tensor::scalar(scale)).unwrap();
        if let Some(m) = mask {
            x = binary_op(BinaryKind::Add, &x, m).unwrap();
        }
        let p = softmax(
            &Softmax {
                axis: -1,
                coerce_2d: false,
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        mm(&p, v)
    }

    fn rel_l2(a: &Tensor, b: &Tensor) -> f64 {
        let (a, b) = (a.to_vec::<f64>(), b.to_vec::<f64>());
        let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        (num / a.iter().map(|x| x * x).sum::<f64>()).sqrt()
    }

    #[test]
    fn matches_unfused_with_broadcast_mask_and_row_blocks() {
        // 2 batches × 3 heads, 70 query rows (two row blocks, the second partial), 50 keys.
        let r = |shape: &[usize], seed| random_tensor(DType::F32, shape, seed).unwrap();
        let (q, kt, v) = (
            r(&[2, 3, 70, 8], 1),
            r(&[2, 3, 8, 50], 2),
            r(&[2, 3, 50, 6], 3),
        );
        let mask = r(&[2, 1, 1, 50], 4);
        let p = Attention {
            scale: 0.35,
            has_mask: true,
        };
        let y = attention(&p, &[Some(&q), Some(&kt), Some(&v), Some(&mask)])
            .unwrap()
            .remove(0);
        let want = reference(&q, &kt, &v, Some(&mask), 0.35);
        assert_eq!(y.shape(), &[2, 3, 70, 6]);
        assert!(
            rel_l2(&want, &y) < 1e-6,
            "relative L2 {}",
            rel_l2(&want, &y)
        );
    }

    #[test]
    fn unmasked_single_key_is_v() {
        // One key: softmax is exactly 1, so every output row is V's one row.
        let q = Tensor::from_vec(vec![3, 2], vec![1.0f32, 2.0, -3.0, 0.5, 0.0, 9.0]).unwrap();
        let kt = Tensor::from_vec(vec![2, 1], vec![0.7f32, -1.1]).unwrap();
        let v = Tensor::from_vec(vec![1, 2], vec![4.0f32, -5.0]).unwrap();
        let p = Attention {
            scale: 1.0,
            has_mask: false,
        };
        let y = attention(&p, &[Some(&q), Some(&kt), Some(&v)])
            .unwrap()
            .remove(0);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[4.0, -5.0, 4.0, -5.0, 4.0, -5.0]
        );
    }

    #[test]
    fn mask_of_minus_infinity_hides_a_key_and_f16_is_widened() {
        // Scores [0, 0]; the mask removes key 1, so the output is V's row 0.
        let h =
            |shape: Vec<usize>, v: Vec<f32>| Tensor::from_vec(shape, v).unwrap().cast(DType::F16);
        let q = h(vec![1, 1], vec![0.0]);
        let kt = h(vec![1, 2], vec![1.0, 1.0]);
        let v = h(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let mask = h(vec![2], vec![0.0, f32::NEG_INFINITY]);
        let y = attention(
            &Attention {
                scale: 1.0,
                has_mask: true,
            },
            &[Some(&q), Some(&kt), Some(&v), Some(&mask)],
        )
        .unwrap()
        .remove(0);
        assert_eq!(y.dtype(), DType::F16);
        assert_eq!(y.to_f32_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn rejects_a_mask_that_widens_the_scores() {
        let r = |shape: &[usize]| random_tensor(DType::F32, shape, 0).unwrap();
        let (q, kt, v) = (r(&[2, 4]), r(&[4, 3]), r(&[3, 5]));
        let mask = r(&[2, 2, 3]);
        let e = attention(
            &Attention {
                scale: 1.0,
                has_mask: true,
            },
            &[Some(&q), Some(&kt), Some(&v), Some(&mask)],
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not broadcast"), "{e}");
    }
}
