//! The CPU backend: runs the graph node by node on host tensors, each kernel parallel on a rayon pool
//! sized by `--threads`. Always built; the reference every other backend is compared with.

pub mod buffers;
mod exec;
pub mod ops;
pub mod prepack;
pub mod sgemm;

pub use exec::{run_graph, run_graph_metered, Meter};

use super::{Backend, CompileOptions, Engine, LayerTime, Unavailable};
use crate::error::{Error, Result};
use crate::ir::{Graph, Model};
use crate::plan::Precision;
use crate::tensor::Tensor;
use buffers::BufferPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct CpuBackend;

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    /// FP16 plans store weights and activations as f16; the kernels widen to f32 and accumulate
    /// in f32.
    fn precisions(&self) -> &'static [Precision] {
        &[Precision::Fp32, Precision::Fp16]
    }

    fn compile(&self, model: &Model, opts: &CompileOptions) -> Result<Arc<dyn Engine>> {
        let threads = opts.threads.unwrap_or_else(num_cpus::get).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rtforge-cpu-{i}"))
            .build()
            .map_err(|e| Error::Backend {
                backend: "cpu".into(),
                msg: format!("thread pool: {e}"),
            })?;
        let packed = prepack::prepack(&model.graph)?;
        Ok(Arc::new(CpuEngine {
            graph: model.graph.clone(),
            packed,
            pool,
            threads,
            peak: AtomicU64::new(0),
            pools: Mutex::new(vec![]),
        }))
    }
}

pub struct CpuEngine {
    graph: Graph,
    /// Weights packed for the kernels at compile, per node.
    packed: Vec<Option<prepack::Prepacked>>,
    pool: rayon::ThreadPool,
    threads: usize,
    /// Most bytes of intermediate tensors any run held at once.
    peak: AtomicU64,
    /// Parked activation buffers, one pool per concurrent run (see [`buffers`]).
    pools: Mutex<Vec<BufferPool>>,
}

impl CpuEngine {
    pub fn threads(&self) -> usize {
        self.threads
    }
}

impl Engine for CpuEngine {
    fn backend(&self) -> &'static str {
        "cpu"
    }

    fn run(&self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<Tensor>> {
        Ok(self.run_metered(inputs, Meter::default())?.0)
    }

    fn run_profiled(
        &self,
        inputs: Vec<Arc<Tensor>>,
    ) -> Result<(Vec<Tensor>, Option<Vec<LayerTime>>)> {
        let meter = Meter {
            layers: Some(vec![]),
            ..Meter::default()
        };
        let (outs, meter) = self.run_metered(inputs, meter)?;
        Ok((outs, meter.layers))
    }

    fn peak_memory_bytes(&self) -> Option<u64> {
        Some(self.peak.load(Ordering::Relaxed))
    }
}

impl CpuEngine {
    /// Runs the graph on a parked buffer pool, metering memory (and layer times when asked).
    fn run_metered(
        &self,
        inputs: Vec<Arc<Tensor>>,
        mut meter: Meter,
    ) -> Result<(Vec<Tensor>, Meter)> {
        let pool = self
            .pools
            .lock()
            .map(|mut p| p.pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        let (outs, pool) = self.pool.install(|| {
            buffers::scoped(pool, || {
                run_graph_metered(&self.graph, &inputs, &[], &self.packed, &mut meter)
            })
        });
        if let Ok(mut p) = self.pools.lock() {
            p.push(pool);
        }
        let outs = outs?;
        self.peak.fetch_max(meter.peak, Ordering::Relaxed);
        let outs = outs
            .into_iter()
            .map(|t| Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone()))
            .collect();
        Ok((outs, meter))
    }
}
