//! onnxruntime reference data for the real-model tests: `testdata/refs/<model>/manifest.json` plus
//! the `.npy` inputs and outputs that `scripts/make-refs.py` writes beside it.

use rtforge::tensor::read_npy;
use rtforge::Tensor;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Manifest {
    model: String,
    onnxruntime: String,
    inputs: Vec<Entry>,
    outputs: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    file: String,
}

/// One model's reference run: inputs and expected outputs, named and in graph order.
pub struct Reference {
    pub model: PathBuf,
    pub onnxruntime: String,
    pub inputs: Vec<(String, Tensor)>,
    pub outputs: Vec<(String, Tensor)>,
}

/// The repository's `testdata/` directory.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Loads the reference for the model whose file stem is `stem`. A missing reference or model is an
/// error that says how to make it, so a fresh checkout fails loudly instead of passing vacuously.
pub fn load_reference(stem: &str) -> Result<Reference, String> {
    let dir = testdata_dir().join("refs").join(stem);
    let manifest_path = dir.join("manifest.json");
    let how = "run scripts/test.sh (or scripts/fetch-models.sh, then .venv/bin/python scripts/make-refs.py)";
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        format!(
            "no reference data at {}: {e}; {how}",
            manifest_path.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("{}: bad manifest: {e}", manifest_path.display()))?;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join(&manifest.model);
    if !model.exists() {
        return Err(format!("model {} is missing; {how}", model.display()));
    }
    let read = |entries: &[Entry]| -> Result<Vec<(String, Tensor)>, String> {
        entries
            .iter()
            .map(|e| {
                read_npy(&dir.join(&e.file))
                    .map(|t| (e.name.clone(), t))
                    .map_err(|err| format!("{err}; {how}"))
            })
            .collect()
    };
    Ok(Reference {
        model,
        onnxruntime: manifest.onnxruntime,
        inputs: read(&manifest.inputs)?,
        outputs: read(&manifest.outputs)?,
    })
}
