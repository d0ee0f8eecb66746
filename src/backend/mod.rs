//! Backends: the one `dyn` boundary. A [`Backend`] compiles a model for a device into an [`Engine`];
//! an engine runs it. `cpu` is always built and is the reference every other backend is tested
//! against; [`available`] lists the backends that can run on this machine, each checked at run time.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::error::{Error, Result};
use crate::ir::Model;
use crate::plan::Precision;
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a backend cannot run here (no driver, no device, library missing, ...).
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

/// Options a backend is compiled with. The CPU backend reads `threads`; the GPU fields are
/// trtexec's flags and mean nothing to the CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    /// Worker threads (CPU). `None`: one per core.
    pub threads: Option<usize>,
    /// GPU: FP32 GEMMs and convolutions may use TF32 tensor cores (trtexec's default; `--no-tf32`).
    pub tf32: bool,
    /// GPU: capture each session's work as a CUDA graph and replay it (`--use-cuda-graph`).
    pub cuda_graph: bool,
    /// GPU: compile the kernels for this architecture (`sm_90`) instead of the device's (`--arch`).
    pub arch: Option<String>,
    /// GPU: run a node the device has no kernel for on the CPU, between device steps, instead of
    /// refusing the model (`--allow-cpu-fallback`).
    pub allow_cpu_fallback: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            threads: None,
            tf32: true,
            cuda_graph: false,
            arch: None,
            allow_cpu_fallback: false,
        }
    }
}

impl CompileOptions {
    /// The defaults with `threads` CPU workers.
    pub fn with_threads(threads: Option<usize>) -> CompileOptions {
        CompileOptions {
            threads,
            ..CompileOptions::default()
        }
    }
}

/// How long each stage of one query took on a device, from events on its stream.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    pub h2d_ms: f64,
    pub compute_ms: f64,
    pub d2h_ms: f64,
}

/// What a backend stores in a plan besides the graph, made at build time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanArtifacts {
    /// Compiled code by payload name (PTX modules).
    pub payloads: BTreeMap<String, Vec<u8>>,
    /// The device the plan was built on, when there was one.
    pub device_name: Option<String>,
    /// The compute capability the code was compiled for (`9.0`).
    pub compute_capability: Option<String>,
    /// What the build could not check here (the engine was not compiled on a device), said to the
    /// user by `rtforge build`.
    pub unverified: Option<String>,
}

/// A device rtforge can compile for.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// `Ok` when this machine can run the backend, otherwise the reason it cannot.
    fn available(&self) -> Result<(), Unavailable>;
    fn compile(&self, model: &Model, opts: &CompileOptions) -> Result<Arc<dyn Engine>>;
    /// Compiles a plan's model with the artifacts its build stored ([`Backend::plan_artifacts`]).
    fn compile_plan(
        &self,
        model: &Model,
        _payloads: &BTreeMap<String, Vec<u8>>,
        opts: &CompileOptions,
    ) -> Result<Arc<dyn Engine>> {
        self.compile(model, opts)
    }
    /// Builds what a plan for this backend carries and checks the model compiles. The default
    /// compiles an engine and stores nothing; a GPU backend compiles its kernels, which with
    /// `opts.arch` needs no device.
    fn plan_artifacts(&self, model: &Model, opts: &CompileOptions) -> Result<PlanArtifacts> {
        self.available().map_err(|u| Error::Backend {
            backend: self.name().to_string(),
            msg: format!("unavailable: {}", u.0),
        })?;
        self.compile(model, opts)?;
        Ok(PlanArtifacts::default())
    }
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
    /// [`Engine::run`], also returning the device stage times of the query; `None` for them on a
    /// backend that runs on the host. With `transfers` false (bench `--no-data-transfers`) the
    /// inputs already on the device from an earlier query are reused, nothing is copied back and
    /// no outputs are returned; a host backend ignores it.
    fn run_timed(
        &self,
        inputs: Vec<Arc<Tensor>>,
        _transfers: bool,
    ) -> Result<(Vec<Tensor>, Option<StageTimes>)> {
        Ok((self.run(inputs)?, None))
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
    /// The kernels the layer ran as, each with its seconds, where the backend splits a node into
    /// several (a CUDA convolution: im2col, GEMM, epilogue); empty otherwise.
    pub kernels: Vec<(String, f64)>,
}

/// Every backend compiled into this build, available or not.
pub fn all() -> Vec<Box<dyn Backend>> {
    vec![
        Box::new(cpu::CpuBackend),
        #[cfg(feature = "cuda")]
        Box::new(cuda::CudaBackend::default()),
    ]
}

/// The backends that can run on this machine.
pub fn available() -> Vec<Box<dyn Backend>> {
    all()
        .into_iter()
        .filter(|b| b.available().is_ok())
        .collect()
}

/// Looks a backend up by name, available here or not; an unknown one is an error listing the
/// backends of this build.
pub fn named(name: &str) -> Result<Box<dyn Backend>> {
    let all = all();
    let names: Vec<&str> = all.iter().map(|b| b.name()).collect();
    let names = names.join(", ");
    all.into_iter().find(|b| b.name() == name).ok_or_else(|| {
        Error::Other(format!(
            "unknown backend '{name}' (this build has: {names})"
        ))
    })
}

/// Looks a backend up by name; an unknown or unavailable one is an error that says why.
pub fn by_name(name: &str) -> Result<Box<dyn Backend>> {
    let b = named(name)?;
    b.available().map_err(|u| Error::Backend {
        backend: name.to_string(),
        msg: format!("unavailable: {}", u.0),
    })?;
    Ok(b)
}
