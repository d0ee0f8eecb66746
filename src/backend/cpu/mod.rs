//! The CPU backend: runs the graph node by node on host tensors, each kernel parallel on a rayon pool
//! sized by `--threads`. Always built; the reference every other backend is compared with.

mod exec;
pub mod ops;

pub use exec::run_graph;

use super::{Backend, CompileOptions, Engine, Unavailable};
use crate::error::{Error, Result};
use crate::ir::{Graph, Model};
use crate::tensor::Tensor;
use std::sync::Arc;

pub struct CpuBackend;

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn available(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    fn compile(&self, model: &Model, opts: &CompileOptions) -> Result<Arc<dyn Engine>> {
        let threads = opts.threads.unwrap_or_else(num_cpus::get).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rtforge-cpu-{i}"))
            .build()
            .map_err(|e| Error::Backend { backend: "cpu".into(), msg: format!("thread pool: {e}") })?;
        Ok(Arc::new(CpuEngine { graph: model.graph.clone(), pool, threads }))
    }
}

pub struct CpuEngine {
    graph: Graph,
    pool: rayon::ThreadPool,
    threads: usize,
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
        let outs = self.pool.install(|| run_graph(&self.graph, &inputs, &[]))?;
        Ok(outs.into_iter().map(|t| Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone())).collect())
    }
}
