//! Resolves the MODEL argument: a path to an .onnx file, or `zoo:NAME` for a built-in model.

use anyhow::{Context, Result};
use crate::zoo::{self, ZooOptions};
use crate::Model;
use std::path::Path;

/// Loads a model file or builds a zoo model (`zoo:resnet50`) with the given batch size.
pub fn load(spec: &str, batch: Option<usize>) -> Result<Model> {
    if let Some(name) = zoo::parse_zoo_ref(spec) {
        let mut opts = ZooOptions::default();
        if let Some(b) = batch {
            opts.batch = b;
        }
        return zoo::load(name, &opts).with_context(|| format!("building {spec}"));
    }
    let path = Path::new(spec);
    if !path.exists() {
        anyhow::bail!("{spec}: no such file (give an .onnx path, or zoo:NAME; `rtforge zoo list` shows the names)");
    }
    Ok(crate::onnx::load_model(path)?)
}
