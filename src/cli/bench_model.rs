//! The model `bench` measures, and the reference its outputs are checked against. A model file or
//! zoo model is optimized at `-O` as `rtforge build` would, and the graph as imported, run on the
//! cpu backend, is the reference; a plan is measured as built, and its own graph on the cpu
//! backend is the reference.

use super::model_source::{self, Loaded};
use crate::backend::CompileOptions;
use crate::bench::inputs::{index_bounds, IndexBounds};
use crate::bench::FP32;
use crate::ir::ValueInfo;
use crate::passes::PassManager;
use crate::{Model, Session};
use anyhow::{bail, Context, Result};

/// The optimization level of `bench` when none is given: the same as `rtforge build`'s.
pub const DEFAULT_OPT_LEVEL: u8 = 3;

/// A loaded model or plan, ready to compile for each backend.
pub struct BenchModel {
    loaded: Loaded,
    /// The optimized graph of a model file or zoo model (`None` for a plan: it already is).
    optimized: Option<Model>,
    /// The optimized graph rewritten to FP16, once an FP16 run is asked for.
    half: Option<Model>,
    opt_level: u8,
    precision: String,
}

impl BenchModel {
    /// Opens `spec` (model file, plan, or zoo:NAME) and optimizes a model at `opt_level`
    /// ([`DEFAULT_OPT_LEVEL`] when `None`). `-O` with a plan is an error: it was set at build.
    pub fn open(spec: &str, batch: Option<usize>, opt_level: Option<u8>) -> Result<BenchModel> {
        let loaded = model_source::open(spec, batch)?;
        let (optimized, opt_level, precision) = match &loaded {
            Loaded::Model(m) => {
                let level = opt_level.unwrap_or(DEFAULT_OPT_LEVEL);
                let mut m = m.clone();
                PassManager::for_level(level)
                    .run(&mut m.graph)
                    .with_context(|| format!("optimizing {spec} at -O{level}"))?;
                (Some(m), level, FP32.to_string())
            }
            Loaded::Plan(p) => {
                if let Some(level) = opt_level {
                    bail!(
                        "-O {level}: the plan {spec} was optimized when it was built (-O{}); rebuild it to change that",
                        p.build.opt_level
                    );
                }
                (None, p.build.opt_level, p.precision().name().to_string())
            }
        };
        Ok(BenchModel {
            loaded,
            optimized,
            half: None,
            opt_level,
            precision,
        })
    }

    /// Makes the FP16 graph `--fp16` runs measure: the optimized graph through the same rewrite as
    /// `rtforge build --fp16`. A plan's precision was set when it was built.
    pub fn enable_fp16(&mut self) -> Result<()> {
        if self.half.is_some() {
            return Ok(());
        }
        let Some(m) = &self.optimized else {
            bail!(
                "--fp16: a plan runs in the precision it was built with ({}); build an FP16 plan with rtforge build --fp16",
                self.precision
            );
        };
        let mut half = m.clone();
        crate::precision::fp16::convert(&mut half.graph).context("rewriting the graph to FP16")?;
        self.half = Some(half);
        Ok(())
    }

    /// The graph that is measured.
    pub fn measured(&self) -> &Model {
        self.optimized
            .as_ref()
            .unwrap_or_else(|| self.loaded.model())
    }

    /// The inputs the measured graph needs, in order.
    pub fn inputs(&self) -> Vec<ValueInfo> {
        let g = &self.measured().graph;
        g.inputs.iter().map(|&v| g.value(v).clone()).collect()
    }

    /// Bounds for integer inputs used as Gather indices, from the graph as loaded.
    pub fn index_bounds(&self) -> IndexBounds {
        index_bounds(&self.loaded.model().graph)
    }

    /// The precision of the graph as loaded: a plan's, or fp32.
    pub fn precision(&self) -> &str {
        &self.precision
    }

    /// The backend a run uses when none is named: a plan's own, else cpu.
    pub fn default_backend(&self) -> &str {
        self.loaded.default_backend()
    }

    /// `-O3`, or `plan (cpu, fp32, built at -O3)`.
    pub fn describe(&self) -> String {
        match self.loaded.plan() {
            Some(p) => format!(
                "plan ({}, {}, built at -O{})",
                p.backend(),
                self.precision,
                self.opt_level
            ),
            None => format!("-O{}", self.opt_level),
        }
    }

    /// A session of the measured graph on `backend`, in `precision` (the loaded precision, or
    /// fp16 after [`BenchModel::enable_fp16`]).
    pub fn session(
        &self,
        backend: &str,
        precision: &str,
        opts: &CompileOptions,
    ) -> crate::Result<Session> {
        if precision != self.precision {
            let half = self.half.as_ref().filter(|_| precision == "fp16");
            return match half {
                Some(m) => Session::new(m, backend, opts),
                None => Err(crate::Error::Other(format!(
                    "no {precision} graph of this model to run"
                ))),
            };
        }
        match &self.optimized {
            Some(m) => Session::new(m, backend, opts),
            None => self.loaded.session(Some(backend), opts),
        }
    }

    /// True when a run on `backend` in `precision` would be the reference itself (cpu, FP32, on
    /// the reference graph), so checking it against the reference would prove nothing.
    pub fn is_reference(&self, backend: &str, precision: &str) -> bool {
        backend == "cpu" && precision == FP32 && (self.optimized.is_none() || self.opt_level == 0)
    }

    /// What the reference is, for the check line: `cpu fp32 -O0` or `cpu fp32 (the plan's graph)`.
    pub fn reference_label(&self) -> &'static str {
        if self.optimized.is_some() {
            "cpu fp32 -O0"
        } else {
            "cpu fp32 (the plan's graph)"
        }
    }

    /// The reference: the graph as loaded, on the cpu backend.
    pub fn reference_session(&self, opts: &CompileOptions) -> crate::Result<Session> {
        Session::new(self.loaded.model(), "cpu", opts)
    }
}
