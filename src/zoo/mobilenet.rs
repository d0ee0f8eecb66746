//! MobileNetV2, width 1.0 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
//! Bottlenecks", 2018, table 2), in torchvision's layout: inverted residual blocks (1×1 expand,
//! 3×3 depthwise, 1×1 linear projection), ReLU6 exported as `Clip(x, 0, 6)` with min/max inputs.

use super::builder::GraphBuilder;
use crate::tensor::DType;

/// Scale of the projection BN of a block with a residual add, as in [`super::resnet`]: random
/// weights otherwise grow the residual stream block after block, and with it FP16's error.
const RESIDUAL_GAIN: f32 = 0.3;

/// Table 2 of the paper: expansion t, output channels c, repeats n, first stride s.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// Writes MobileNetV2; input `[batch, 3, 224, 224]`, output `[batch, 1000]` logits.
pub fn mobilenetv2(g: &mut GraphBuilder, batch: usize) {
    let x = g.input("input", DType::F32, &[batch, 3, 224, 224]);
    let mut x = conv_bn_relu6(g, "features.0", &x, 3, 32, 3, 2, 1);
    let mut cin = 32;
    let mut index = 1;
    for (t, c, n, s) in SETTINGS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            x = inverted_residual(g, &format!("features.{index}"), &x, cin, c, stride, t);
            cin = c;
            index += 1;
        }
    }
    let x = conv_bn_relu6(g, &format!("features.{index}"), &x, cin, 1280, 1, 1, 1);
    let x = g.global_avg_pool("", &x);
    let x = g.flatten("", &x);
    // The classifier's Dropout is the identity in eval mode, so exporters drop it.
    let x = g.gemm("classifier.1", &x, 1280, 1000);
    g.output(&x, "output", DType::F32, &[batch, 1000]);
}

/// torchvision's `Conv2dNormActivation`: conv (index 0), BN (1), ReLU6 (2).
#[allow(clippy::too_many_arguments)]
fn conv_bn_relu6(
    g: &mut GraphBuilder,
    scope: &str,
    x: &str,
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> String {
    let y = g.conv(&format!("{scope}.0"), x, cin, cout, k, stride, groups);
    let y = g.batch_norm(&format!("{scope}.1"), &y, cout);
    g.clip(&format!("{scope}.2"), &y, 0.0, 6.0)
}

/// One inverted residual: expand (skipped when t = 1), depthwise, linear projection; the input is
/// added back when the block keeps stride 1 and the channel count.
fn inverted_residual(
    g: &mut GraphBuilder,
    scope: &str,
    x: &str,
    cin: usize,
    cout: usize,
    stride: usize,
    t: usize,
) -> String {
    let hidden = cin * t;
    let mut y = x.to_string();
    let mut layer = 0;
    if t != 1 {
        y = conv_bn_relu6(
            g,
            &format!("{scope}.conv.{layer}"),
            &y,
            cin,
            hidden,
            1,
            1,
            1,
        );
        layer += 1;
    }
    y = conv_bn_relu6(
        g,
        &format!("{scope}.conv.{layer}"),
        &y,
        hidden,
        hidden,
        3,
        stride,
        hidden,
    );
    let y = g.conv(
        &format!("{scope}.conv.{}", layer + 1),
        &y,
        hidden,
        cout,
        1,
        1,
        1,
    );
    let bn = format!("{scope}.conv.{}", layer + 2);
    if stride == 1 && cin == cout {
        let y = g.batch_norm_scaled(&bn, &y, cout, RESIDUAL_GAIN);
        g.add(scope, x, &y)
    } else {
        g.batch_norm(&bn, &y, cout)
    }
}
