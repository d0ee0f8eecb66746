//! Conv + BatchNormalization folding: an inference-mode BatchNormalization right after a Conv with
//! constant weights is an affine map per output channel, so it folds into the Conv's weights and
//! bias (`W' = W·s`, `B' = (B - mean)·s + beta` with `s = scale / sqrt(var + eps)`) and the BN
//! node disappears. <https://onnx.ai/onnx/operators/onnx__BatchNormalization.html>

use super::pattern::{absorb, constant, out0, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{Graph, NodeId, Op, Patch, ValueInfo};
use crate::tensor::Tensor;
use std::sync::Arc;

pub struct FuseConvBn;

impl Pass for FuseConvBn {
    fn name(&self) -> &'static str {
        "fuse_conv_bn"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut p = Patch::new(g);
        let mut changed = false;
        for (i, bn) in g.nodes.iter().enumerate() {
            let Op::BatchNormalization(attrs) = &bn.op else {
                continue;
            };
            let Some(x) = bn.input(0) else { continue };
            let Some(conv_id) = uses.producer(x) else {
                continue;
            };
            let conv = &g.nodes[conv_id.0];
            let Op::Conv(c) = &conv.op else { continue };
            if !c.epilogue.is_empty() || uses.single_reader(g, x) != Some(NodeId(i)) {
                continue;
            }
            if bn.outputs.iter().skip(1).flatten().next().is_some() {
                continue;
            }
            let w = constant(g, conv.input(1));
            let b = conv.input(2).map(|v| constant(g, Some(v)));
            let params: Option<Vec<Vec<f64>>> = (1..5)
                .map(|k| constant(g, bn.input(k)).map(|t| t.to_vec::<f64>()))
                .collect();
            let (Some(w), Some(params)) = (w, params) else {
                continue;
            };
            let b = match b {
                None => None,
                Some(None) => continue, // a bias computed at run time
                Some(Some(b)) => Some(b.to_vec::<f64>()),
            };
            let Some((w2, b2)) = fold(w, b.as_deref(), &params, attrs.epsilon as f64) else {
                continue;
            };
            let wv = p.add_value(ValueInfo {
                name: format!("{}.folded_weight", conv.name),
                ..Default::default()
            });
            let bv = p.add_value(ValueInfo {
                name: format!("{}.folded_bias", conv.name),
                ..Default::default()
            });
            p.set_initializer(wv, Arc::new(w2));
            p.set_initializer(bv, Arc::new(b2));
            let mut fused = conv.clone();
            fused.inputs = vec![conv.input(0), Some(wv), Some(bv)];
            fused.outputs = vec![out0(bn)];
            absorb(&mut p, conv_id, NodeId(i), fused);
            tracing::debug!(pass = self.name(), conv = %conv.name, bn = %bn.name, "folded BatchNormalization into Conv");
            changed = true;
        }
        if !changed {
            return Ok(false);
        }
        p.apply(g, self.name())?;
        Ok(true)
    }
}

/// The folded weight and bias, in W's dtype; `None` when the shapes do not line up.
fn fold(w: &Tensor, b: Option<&[f64]>, params: &[Vec<f64>], eps: f64) -> Option<(Tensor, Tensor)> {
    let m = *w.shape().first()?;
    let (scale, beta, mean, var) = (&params[0], &params[1], &params[2], &params[3]);
    if [scale, beta, mean, var].iter().any(|p| p.len() != m)
        || b.is_some_and(|b| b.len() != m)
        || m == 0
    {
        return None;
    }
    if !w.dtype().is_float() {
        return None;
    }
    let s: Vec<f64> = (0..m).map(|c| scale[c] / (var[c] + eps).sqrt()).collect();
    let per = w.len() / m;
    let wv: Vec<f64> = w
        .to_vec::<f64>()
        .iter()
        .enumerate()
        .map(|(i, &x)| x * s[i / per])
        .collect();
    let bv: Vec<f64> = (0..m)
        .map(|c| (b.map_or(0.0, |b| b[c]) - mean[c]) * s[c] + beta[c])
        .collect();
    let dt = w.dtype();
    let w2 = Tensor::from_vec(w.shape().to_vec(), wv).ok()?.cast(dt);
    let b2 = Tensor::from_vec(vec![m], bv).ok()?.cast(dt);
    Some((w2, b2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{check, EliminateDead};
    use crate::tensor::DType;
    use crate::zoo::builder::GraphBuilder;

    fn conv_bn(second_reader: bool) -> crate::ir::Model {
        let mut b = GraphBuilder::new(3);
        let x = b.input("x", DType::F32, &[1, 3, 8, 8]);
        let y = b.conv("c1", &x, 3, 4, 3, 1, 1);
        let z = b.batch_norm_scaled("bn1", &y, 4, 1.5);
        let z = b.relu("r", &z);
        b.output(&z, "out", DType::F32, &[1, 4, 8, 8]);
        if second_reader {
            b.output(&y, "conv_out", DType::F32, &[1, 4, 8, 8]);
        }
        check::model(b)
    }

    #[test]
    fn folds_bn_into_the_conv() {
        let m = conv_bn(false);
        let (opt, counts) = check::optimize_and_compare(
            &m,
            vec![Box::new(FuseConvBn), Box::new(EliminateDead)],
            1e-6,
        );
        assert_eq!(counts[0].1, 1);
        assert_eq!(check::count(&opt, "BatchNormalization"), 0);
        assert_eq!(check::count(&opt, "Conv"), 1);
    }

    #[test]
    fn keeps_bn_when_the_conv_output_is_read_elsewhere() {
        let m = conv_bn(true);
        let (opt, counts) = check::optimize_and_compare(&m, vec![Box::new(FuseConvBn)], 0.0);
        assert_eq!(counts[0].1, 0);
        assert_eq!(check::count(&opt, "BatchNormalization"), 1);
    }
}
