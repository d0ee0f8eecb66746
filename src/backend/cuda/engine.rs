//! The CUDA engine: the graph, the device with its kernels and uploaded weights, one bound program
//! per set of input shapes (lowered and bound on first use, then cached), and a pool of workers,
//! one per concurrent query, each with its own stream, so sessions on several threads run side by
//! side on the GPU.

use super::bind::{BoundProgram, Weights};
use super::blas::workspace_bytes;
use super::cache::{Lru, MAX_PROGRAMS};
use super::device::Device;
use super::lower::{self, support};
use super::nvrtc::{self, PtxModule};
use super::probe::DeviceInfo;
use super::toolkit::SearchPath;
use super::worker::{Mode, Worker};
use super::CudaOptions;
use crate::backend::{Engine, LayerTime, StageTimes};
use crate::error::{Error, Result};
use crate::ir::{Graph, Model};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Outputs, stage times, per-step milliseconds (profiling) and the program that ran.
type QueryResult = (Vec<Tensor>, StageTimes, Option<Vec<f64>>, Arc<BoundProgram>);

/// Input dtypes and shapes, and the values of small integer inputs (see [`lower::InputSpec`]):
/// what a program is specialised for.
type ShapeKey = Vec<lower::InputSpec>;

pub struct CudaEngine {
    // Dropped first: the workers' streams and buffers, then programs and weights, then the device.
    workers: Mutex<Vec<Worker>>,
    programs: Mutex<Lru<ShapeKey, Arc<BoundProgram>>>,
    weights: Weights,
    device: Arc<Device>,
    graph: Graph,
    options: CudaOptions,
    /// Largest activation arena of any program so far.
    peak: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Other("the CUDA engine's state was poisoned by a panic".into()))
}

impl CudaEngine {
    /// Checks the graph has a kernel for every node, compiles the kernels for the device (or
    /// `options.arch`) unless `ptx` brings them (from a plan), opens the device and uploads the
    /// weights.
    pub fn new(
        model: &Model,
        info: DeviceInfo,
        options: &CudaOptions,
        ptx: Option<Arc<Vec<PtxModule>>>,
    ) -> Result<CudaEngine> {
        support::check_with(&model.graph, options.allow_cpu_fallback)?;
        let arch = ptx
            .as_ref()
            .and_then(|m| m.first().map(|m| m.arch))
            .or(options.arch)
            .unwrap_or(info.arch);
        if arch > info.arch {
            return Err(Error::Backend {
                backend: "cuda".into(),
                msg: format!(
                    "kernels for {arch} cannot run on {} ({})",
                    info.name, info.arch
                ),
            });
        }
        let modules = match ptx {
            Some(m) => m,
            None => nvrtc::compile_cached(arch, &SearchPath::from_env())?,
        };
        let device = Device::open(info, &modules)?;
        let mut weights = HashMap::new();
        for (v, t) in &model.graph.initializers {
            weights.insert(*v, device.upload(t)?);
        }
        Ok(CudaEngine {
            workers: Mutex::new(vec![]),
            programs: Mutex::new(Lru::new(MAX_PROGRAMS)),
            weights,
            device: Arc::new(device),
            graph: model.graph.clone(),
            options: options.clone(),
            peak: AtomicU64::new(0),
        })
    }

    /// The device this engine runs on.
    pub fn device(&self) -> &DeviceInfo {
        &self.device.info
    }

    /// The program for these inputs' shapes, lowered and bound on first use.
    fn program(&self, inputs: &[Arc<Tensor>]) -> Result<Arc<BoundProgram>> {
        let key: ShapeKey = lower::input_specs(&self.graph, inputs)?;
        let mut programs = lock(&self.programs)?;
        if let Some(p) = programs.get(&key) {
            return Ok(p.clone());
        }
        let program = lower::lower_with(&self.graph, &key, self.options.allow_cpu_fallback)?;
        self.device.bind()?;
        let ws = workspace_bytes(self.device.info.arch.major);
        let bound = Arc::new(BoundProgram::bind(
            &self.device,
            &self.weights,
            program,
            self.options.tf32,
            ws,
        )?);
        self.peak
            .fetch_max(bound.program.arena_bytes as u64, Ordering::Relaxed);
        programs.insert(key, bound.clone());
        Ok(bound)
    }

    /// Runs one query with a pooled worker; a worker whose run failed is dropped, not reused.
    fn run_mode(&self, inputs: &[Arc<Tensor>], mode: Mode, transfers: bool) -> Result<QueryResult> {
        // `program` checks the input count first.
        let program = self.program(inputs)?;
        let pooled = lock(&self.workers)?.pop();
        let mut worker = match pooled {
            Some(w) => w,
            None => {
                self.device.bind()?;
                Worker::new(&self.device)?
            }
        };
        let key = program.id;
        let (outs, times, layers) = worker.run(
            &self.device,
            &self.weights,
            &program,
            key,
            inputs,
            mode,
            transfers,
        )?;
        lock(&self.workers)?.push(worker);
        Ok((outs, times, layers, program))
    }

    fn mode(&self) -> Mode {
        if self.options.cuda_graph {
            Mode::Graph
        } else {
            Mode::Direct
        }
    }
}

impl Engine for CudaEngine {
    fn backend(&self) -> &'static str {
        "cuda"
    }

    fn run(&self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<Tensor>> {
        Ok(self.run_mode(&inputs, self.mode(), true)?.0)
    }

    /// Stage times from events recorded on the worker's stream around the copies and the compute.
    fn run_timed(
        &self,
        inputs: Vec<Arc<Tensor>>,
        transfers: bool,
    ) -> Result<(Vec<Tensor>, Option<StageTimes>)> {
        let (outs, times, _, _) = self.run_mode(&inputs, self.mode(), transfers)?;
        Ok((outs, Some(times)))
    }

    /// Times every step with events and sums them per node (a node may be several launches).
    fn run_profiled(
        &self,
        inputs: Vec<Arc<Tensor>>,
    ) -> Result<(Vec<Tensor>, Option<Vec<LayerTime>>)> {
        let (outs, _, ms, program) = self.run_mode(&inputs, Mode::Profile, true)?;
        let mut layers: Vec<LayerTime> = vec![];
        let mut last_node = None;
        for ((step, node), ms) in program.program.steps.iter().zip(ms.unwrap_or_default()) {
            let kernel = (step.label(), ms / 1e3);
            if last_node == Some(*node) {
                if let Some(l) = layers.last_mut() {
                    l.seconds += ms / 1e3;
                    l.kernels.push(kernel);
                }
                continue;
            }
            last_node = Some(*node);
            let n = &self.graph.nodes[*node];
            layers.push(LayerTime {
                name: n.name.clone(),
                op: n.op.name(),
                seconds: ms / 1e3,
                kernels: vec![kernel],
            });
        }
        Ok((outs, Some(layers)))
    }

    fn peak_memory_bytes(&self) -> Option<u64> {
        Some(self.peak.load(Ordering::Relaxed))
    }
}
