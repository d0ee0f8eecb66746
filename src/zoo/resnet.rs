//! ResNet-18 and ResNet-50 in torchvision's layout (He et al., "Deep Residual Learning for Image
//! Recognition", 2015, table 1; torchvision's v1.5 puts the bottleneck's stride on its 3×3 conv).
//! Conv and BatchNormalization stay separate nodes, as an eval-mode export without folding writes
//! them; folding is the optimizer's job.

use super::builder::GraphBuilder;
use crate::tensor::DType;

/// The two block kinds of table 1.
#[derive(Clone, Copy)]
pub enum Block {
    /// Two 3×3 convs (ResNet-18/34).
    Basic,
    /// 1×1 reduce, 3×3, 1×1 expand ×4 (ResNet-50/101/152).
    Bottleneck,
}

impl Block {
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// Scale of the last BatchNormalization in each residual branch. Trained ResNets (and
/// zero-init-residual training) keep it small; at full scale the 16 additions of ResNet-50 would
/// grow activations by about 2^8 before the classifier.
const RESIDUAL_GAIN: f32 = 0.3;

/// Writes a ResNet with `blocks[i]` blocks in stage i; input `[batch, 3, 224, 224]`, output
/// `[batch, 1000]` logits.
pub fn resnet(g: &mut GraphBuilder, block: Block, blocks: [usize; 4], batch: usize) {
    let x = g.input("input", DType::F32, &[batch, 3, 224, 224]);
    let x = g.conv("conv1", &x, 3, 64, 7, 2, 1);
    let x = g.batch_norm("bn1", &x, 64);
    let x = g.relu("relu", &x);
    let mut x = g.max_pool("maxpool", &x, 3, 2, 1);
    let mut cin = 64;
    for (stage, (&n, planes)) in blocks.iter().zip([64, 128, 256, 512]).enumerate() {
        for i in 0..n {
            let stride = if i == 0 && stage > 0 { 2 } else { 1 };
            let scope = format!("layer{}.{i}", stage + 1);
            x = residual_block(g, &scope, &x, block, cin, planes, stride);
            cin = planes * block.expansion();
        }
    }
    let x = g.global_avg_pool("avgpool", &x);
    let x = g.flatten("", &x);
    let x = g.gemm("fc", &x, cin, 1000);
    g.output(&x, "output", DType::F32, &[batch, 1000]);
}

/// One block: the branch, the shortcut (a strided 1×1 conv + BN when the shape changes), their
/// sum, and a ReLU.
fn residual_block(
    g: &mut GraphBuilder,
    scope: &str,
    x: &str,
    block: Block,
    cin: usize,
    planes: usize,
    stride: usize,
) -> String {
    let cout = planes * block.expansion();
    let relu = format!("{scope}.relu");
    let y = match block {
        Block::Basic => {
            let y = g.conv(&format!("{scope}.conv1"), x, cin, planes, 3, stride, 1);
            let y = g.batch_norm(&format!("{scope}.bn1"), &y, planes);
            let y = g.relu(&relu, &y);
            let y = g.conv(&format!("{scope}.conv2"), &y, planes, planes, 3, 1, 1);
            g.batch_norm_scaled(&format!("{scope}.bn2"), &y, planes, RESIDUAL_GAIN)
        }
        Block::Bottleneck => {
            let y = g.conv(&format!("{scope}.conv1"), x, cin, planes, 1, 1, 1);
            let y = g.batch_norm(&format!("{scope}.bn1"), &y, planes);
            let y = g.relu(&relu, &y);
            let y = g.conv(&format!("{scope}.conv2"), &y, planes, planes, 3, stride, 1);
            let y = g.batch_norm(&format!("{scope}.bn2"), &y, planes);
            let y = g.relu(&relu, &y);
            let y = g.conv(&format!("{scope}.conv3"), &y, planes, cout, 1, 1, 1);
            g.batch_norm_scaled(&format!("{scope}.bn3"), &y, cout, RESIDUAL_GAIN)
        }
    };
    let shortcut = if stride != 1 || cin != cout {
        let s = g.conv(&format!("{scope}.downsample.0"), x, cin, cout, 1, stride, 1);
        g.batch_norm(&format!("{scope}.downsample.1"), &s, cout)
    } else {
        x.to_string()
    };
    let y = g.add(scope, &y, &shortcut);
    g.relu(&relu, &y)
}
