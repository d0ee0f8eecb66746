//! Backends: the one `dyn` boundary. A [`Backend`] compiles a model for a device into an [`Engine`];
//! an engine runs it. `cpu` is always built and is the reference every other backend is tested
//! against; [`available`] lists the backends that can run on this machine, each checked at run time.

pub mod cpu;

use crate::error::{Error, Result};
use crate::ir::Model;
use crate::plan::Precision;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Why a backend cannot run here (no driver, no device, library missing, ...).
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

/// Options every backend understands.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Worker threads (CPU). `None`: one per core.
    pub threads: Option<usize>,
}

/// A device rtforge can compile for.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// `Ok` when this machine can run the backend, otherwise the reason it cannot.
    fn available(&self) -> Result<(), Unavailable>;
    fn compile(&self, model: &Model, opts: &CompileOptions) -> Result<Arc<dyn Engine>>;
    /// The precisions this backend has kernels for; `rtforge build` refuses any other.
    fn precisions(&self) -> &'static [Precision] {
        &[Precision::Fp32]
    }
}

/// A compiled model, shared by sessions.
pub trait Engine: Send + Sync {
    fn backend(&self) -> &'static str;
    /// Runs the model on inputs given in the order of the graph's inputs; returns the outputs in the
    /// order of the graph's outputs.
    fn run(&self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<Tensor>>;
    /// The most bytes of activations (intermediate tensors, not weights or inputs) held at once by
    /// any run so far; `None` when the backend does not track it.
    fn peak_memory_bytes(&self) -> Option<u64> {
        None
    }
    /// [`Engine::run`], also timing each layer; `None` for the layers when the backend cannot
    /// time them one by one.
    fn run_profiled(
        &self,
        inputs: Vec<Arc<Tensor>>,
    ) -> Result<(Vec<Tensor>, Option<Vec<LayerTime>>)> {
        Ok((self.run(inputs)?, None))
    }
}

/// One node's share of a profiled run.
#[derive(Debug, Clone)]
pub struct LayerTime {
    /// The node's name (or the fused node's, which names what it absorbed).
    pub name: String,
    pub op: &'static str,
    pub seconds: f64,
}

/// Every backend compiled into this build, available or not.
pub fn all() -> Vec<Box<dyn Backend>> {
    vec![Box::new(cpu::CpuBackend)]
}

/// The backends that can run on this machine.
pub fn available() -> Vec<Box<dyn Backend>> {
    all()
        .into_iter()
        .filter(|b| b.available().is_ok())
        .collect()
}

/// Looks a backend up by name; an unknown or unavailable one is an error that says why.
pub fn by_name(name: &str) -> Result<Box<dyn Backend>> {
    let all = all();
    let names: Vec<&str> = all.iter().map(|b| b.name()).collect();
    let names = names.join(", ");
    let b = all.into_iter().find(|b| b.name() == name).ok_or_else(|| {
        Error::Other(format!(
            "unknown backend '{name}' (this build has: {names})"
        ))
    })?;
    b.available().map_err(|u| Error::Backend {
        backend: name.to_string(),
        msg: format!("unavailable: {}", u.0),
    })?;
    Ok(b)
}
