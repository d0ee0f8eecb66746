//! The CUDA backend (feature `cuda`, on by default): rtforge's own engine on NVIDIA GPUs through
//! cudarc, with every CUDA library loaded at run time, so building it needs no CUDA anywhere and a
//! machine without a GPU gets a clear "unavailable: why" instead of a crash.
//!
//! ```text
//!  Model ─► lower::support::check (every node has a kernel, or runs on the host; with
//!           --allow-cpu-fallback, a node without one runs on the CPU between device steps)
//!        ─► nvrtc: kernels/*.cu → PTX for the device's arch ─► device: context, modules, weights
//!  query ─► lower (once per input shapes): nodes → kernel launches + cuBLASLt GEMMs, arena plan
//!        ─► bind (constants, kernels, GEMM algorithms) ─► worker: pinned H2D → steps / CUDA graph
//!           → D2H on the session's own stream, events between the stages
//! ```
//!
//! - [`probe`]: is there a driver, a device of compute capability ≥ 7.0, cuBLASLt, NVRTC?
//! - [`toolkit`]: where NVRTC and the CUDA headers are (pip wheels, toolkit, environment).
//! - [`nvrtc`], [`arch`]: compiling the kernels for an architecture, with or without a GPU.
//! - [`lower`], [`program`], [`arena`], [`codes`]: the GPU-free half, unit tested on any machine.
//! - [`device`], [`blas`], [`bind`], [`worker`], [`engine`]: the half that talks to the GPU.

pub mod arch;
pub mod arena;
mod bind;
pub mod blas;
mod cache;
pub mod codes;
mod device;
pub mod engine;
pub mod lower;
pub mod nvrtc;
pub mod probe;
pub mod program;
mod segments;
pub mod toolkit;
mod worker;

pub use engine::CudaEngine;

use super::{Backend, CompileOptions, Engine, PlanArtifacts, Unavailable};
use crate::error::{Error, Result};
use crate::ir::Model;
use crate::plan::Precision;
use arch::Arch;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The CUDA backend's reading of [`CompileOptions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaOptions {
    /// FP32 GEMMs and convolutions on TF32 tensor cores (trtexec's default; `--no-tf32` turns it
    /// off).
    pub tf32: bool,
    /// Capture each session's work as a CUDA graph on its first query and replay it after
    /// (`--use-cuda-graph`).
    pub cuda_graph: bool,
    /// Compile the kernels for this architecture instead of the device's (`--arch`).
    pub arch: Option<Arch>,
    /// Run a node without a device kernel on the CPU between device steps
    /// (`--allow-cpu-fallback`; see [`lower::support::check_with`]).
    pub allow_cpu_fallback: bool,
}

impl Default for CudaOptions {
    fn default() -> Self {
        CudaOptions {
            tf32: true,
            cuda_graph: false,
            arch: None,
            allow_cpu_fallback: false,
        }
    }
}

impl CudaOptions {
    pub fn from_compile(opts: &CompileOptions) -> Result<CudaOptions> {
        Ok(CudaOptions {
            tf32: opts.tf32,
            cuda_graph: opts.cuda_graph,
            arch: opts.arch.as_deref().map(Arch::parse).transpose()?,
            allow_cpu_fallback: opts.allow_cpu_fallback,
        })
    }
}

/// The CUDA backend, registered as `cuda`.
#[derive(Clone, Debug, Default)]
pub struct CudaBackend;

impl CudaBackend {
    /// Compiles `model` into the concrete engine type, with the kernels of `ptx` (a plan's) or,
    /// when `None`, kernels compiled now for the device or `options.arch`.
    pub fn compile_engine(
        &self,
        model: &Model,
        options: &CudaOptions,
        ptx: Option<Vec<nvrtc::PtxModule>>,
    ) -> Result<CudaEngine> {
        CudaEngine::new(model, Self::device()?, options, ptx.map(Arc::new))
    }

    fn device() -> Result<probe::DeviceInfo> {
        probe::probe().map_err(|why| Error::Backend {
            backend: "cuda".into(),
            msg: format!("unavailable: {why}"),
        })
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn available(&self) -> Result<(), Unavailable> {
        probe::probe().map(|_| ()).map_err(Unavailable)
    }

    fn compile(&self, model: &Model, opts: &CompileOptions) -> Result<Arc<dyn Engine>> {
        let options = CudaOptions::from_compile(opts)?;
        Ok(Arc::new(self.compile_engine(model, &options, None)?))
    }

    /// Runs the plan's PTX; a plan without kernels (none stored) gets them compiled now.
    fn compile_plan(
        &self,
        model: &Model,
        payloads: &BTreeMap<String, Vec<u8>>,
        opts: &CompileOptions,
    ) -> Result<Arc<dyn Engine>> {
        let options = CudaOptions::from_compile(opts)?;
        let ptx = nvrtc::from_payloads(payloads)?;
        Ok(Arc::new(self.compile_engine(model, &options, ptx)?))
    }

    /// Checks every node has a device kernel (or, with fallback allowed, can run on the CPU),
    /// compiles the kernels for `--arch` or the device's
    /// architecture, and, where there is a GPU, builds the engine with them.
    fn plan_artifacts(&self, model: &Model, opts: &CompileOptions) -> Result<PlanArtifacts> {
        let options = CudaOptions::from_compile(opts)?;
        let on_cpu = lower::support::check_with(&model.graph, options.allow_cpu_fallback)?;
        let device = probe::probe();
        let arch = match (options.arch, &device) {
            (Some(a), _) => a,
            (None, Ok(d)) => d.arch,
            (None, Err(why)) => {
                return Err(Error::Backend {
                    backend: "cuda".into(),
                    msg: format!(
                        "no GPU to build for ({why}); name the target with --arch sm_80|sm_86|sm_89|sm_90 to build a plan without one"
                    ),
                })
            }
        };
        let ptx = nvrtc::compile_cached(arch, &toolkit::SearchPath::from_env())?;
        let mut out = PlanArtifacts {
            payloads: nvrtc::to_payloads(&ptx),
            device_name: None,
            compute_capability: Some(arch.capability()),
            unverified: None,
        };
        match device {
            Ok(d) if d.arch >= arch => {
                out.device_name = Some(d.name.clone());
                CudaEngine::new(model, d, &options, Some(ptx))?;
            }
            Ok(d) => {
                out.unverified = Some(format!(
                    "the kernels were compiled for {arch}, which this machine's {} ({}) cannot run, so the engine was not built on it",
                    d.name, d.arch
                ))
            }
            Err(why) => {
                let nodes = if on_cpu.is_empty() {
                    "every node has one"
                } else {
                    "every node has one or runs on the CPU"
                };
                out.unverified = Some(format!(
                    "no GPU here ({why}): the kernels were compiled for {arch} and {nodes}, but the engine was not built on a device"
                ))
            }
        }
        Ok(out)
    }

    /// FP16 plans run with f16 storage and f32 accumulation (tensor cores in the GEMMs).
    fn precisions(&self) -> &'static [Precision] {
        &[Precision::Fp32, Precision::Fp16]
    }
}
