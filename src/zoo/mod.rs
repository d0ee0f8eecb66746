//! The built-in model zoo: real architectures (ResNet-18/50, MobileNetV2, BERT) with seeded random
//! weights, written as ONNX (opset 17, IR version 8) by our own code through the prost types of
//! [`crate::onnx::proto`]. Benchmarks and tests use them without downloading anything: `zoo:NAME`
//! stands for a model wherever a path is accepted. The graphs look like what an eval-mode export
//! writes (Conv and BatchNormalization apart, GELU as its erf formula), so the optimizer passes
//! have real work to do.

mod bert;
pub(crate) mod builder;
mod mobilenet;
mod resnet;
mod weights;

pub use bert::BertConfig;
pub use builder::GraphBuilder;
pub use weights::{Init, Rng};

use crate::error::{Error, Result};
use crate::ir::Model;
use crate::onnx::proto::{ModelProto, OperatorSetIdProto};
use prost::Message;
use std::path::Path;

/// The ONNX opset the zoo writes.
pub const OPSET: i64 = 17;
/// The IR version the zoo writes (the one that goes with opset 17).
pub const IR_VERSION: i64 = 8;

/// How to instantiate a zoo model.
#[derive(Clone, Debug)]
pub struct ZooOptions {
    /// The fixed batch dimension of every input.
    pub batch: usize,
    /// Sequence length (BERT only).
    pub seq: usize,
    /// Encoder layers (BERT only); `None` keeps the architecture's own count.
    pub layers: Option<usize>,
    /// Seed of every weight; the same seed gives byte-identical models.
    pub seed: u64,
}

impl Default for ZooOptions {
    fn default() -> ZooOptions {
        ZooOptions {
            batch: 1,
            seq: 128,
            layers: None,
            seed: 0,
        }
    }
}

/// One model of the zoo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZooEntry {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every zoo model, in the order `rtforge zoo list` prints them.
pub fn list() -> Vec<ZooEntry> {
    let e = |name, description| ZooEntry { name, description };
    vec![
        e("resnet18", "ResNet-18 image classifier, 11.7 M params, input float32[N,3,224,224]"),
        e("resnet50", "ResNet-50 (v1.5) image classifier, 25.6 M params, input float32[N,3,224,224]"),
        e("mobilenetv2", "MobileNetV2 (width 1.0), depthwise convs and ReLU6, 3.5 M params, input float32[N,3,224,224]"),
        e("bert", "BERT-base encoder (768 hidden, 12 heads, 12 layers), inputs int64[N,seq] ids, mask, token types"),
    ]
}

/// Builds the named model.
pub fn build(name: &str, opts: &ZooOptions) -> Result<ModelProto> {
    if opts.batch == 0 {
        return Err(Error::Input("zoo: batch must be at least 1".into()));
    }
    let mut g = GraphBuilder::new(opts.seed);
    match name {
        "resnet18" => resnet::resnet(&mut g, resnet::Block::Basic, [2, 2, 2, 2], opts.batch),
        "resnet50" => resnet::resnet(&mut g, resnet::Block::Bottleneck, [3, 4, 6, 3], opts.batch),
        "mobilenetv2" => mobilenet::mobilenetv2(&mut g, opts.batch),
        "bert" => {
            let mut cfg = BertConfig::base();
            if let Some(l) = opts.layers {
                cfg.layers = l;
            }
            if opts.seq == 0 || opts.seq > cfg.max_positions {
                return Err(Error::Input(format!(
                    "zoo: bert needs 1 <= seq <= {} (its position table), got {}",
                    cfg.max_positions, opts.seq
                )));
            }
            bert::bert(&mut g, &cfg, opts.batch, opts.seq)
        }
        _ => {
            let known: Vec<&str> = list().iter().map(|e| e.name).collect();
            return Err(Error::Input(format!(
                "unknown zoo model '{name}' (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("rtforge-zoo".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!(
            "rtforge zoo model '{name}', random weights from seed {}",
            opts.seed
        )),
        graph: Some(g.finish(name)),
        ..Default::default()
    })
}

/// Builds the named model and returns its serialized ONNX bytes.
pub fn to_bytes(name: &str, opts: &ZooOptions) -> Result<Vec<u8>> {
    Ok(build(name, opts)?.encode_to_vec())
}

/// Builds the named model and writes it as an `.onnx` file.
pub fn export(name: &str, opts: &ZooOptions, path: &Path) -> Result<()> {
    let bytes = to_bytes(name, opts)?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Builds the named model and imports it, ready to compile.
pub fn load(name: &str, opts: &ZooOptions) -> Result<Model> {
    let mp = build(name, opts)?;
    crate::onnx::import_model(&mp, &format!("zoo:{name}"), None)
}

/// `Some("resnet50")` for `"zoo:resnet50"`; `None` for anything else (a path).
pub fn parse_zoo_ref(s: &str) -> Option<&str> {
    s.strip_prefix("zoo:").filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoo_refs_are_recognized() {
        assert_eq!(parse_zoo_ref("zoo:resnet50"), Some("resnet50"));
        assert_eq!(parse_zoo_ref("zoo:"), None);
        assert_eq!(parse_zoo_ref("models/resnet50.onnx"), None);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = build("vgg16", &ZooOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("vgg16") && e.contains("resnet18, resnet50, mobilenetv2, bert"),
            "{e}"
        );
    }

    #[test]
    fn resnet18_has_the_torchvision_parameter_count() {
        let mp = build("resnet18", &ZooOptions::default()).unwrap();
        let g = mp.graph.unwrap();
        // torchvision counts 11,689,512 learnable parameters; BatchNorm running statistics add
        // 2 × 4,800 = 9,600 more.
        let params: i64 = g
            .initializer
            .iter()
            .map(|t| t.dims.iter().product::<i64>())
            .sum();
        assert_eq!(params, 11_689_512 + 9_600);
        let convs = g
            .node
            .iter()
            .filter(|n| n.op_type.as_deref() == Some("Conv"))
            .count();
        assert_eq!(convs, 20);
    }
}
