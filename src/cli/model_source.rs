//! Resolves the MODEL argument of every subcommand: a path to an .onnx file, a plan written by
//! `rtforge build` (recognized by its magic bytes, whatever its extension), or `zoo:NAME` for a
//! built-in model.

use crate::backend::CompileOptions;
use crate::plan::{self, Plan};
use crate::zoo::{self, ZooOptions};
use crate::{Model, Session};
use anyhow::{Context, Result};
use std::path::Path;

/// What a MODEL argument resolved to: a model to compile as it is, or a plan with its profiles,
/// precision and fingerprint.
// One per command: the size of the unboxed model variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Loaded {
    Model(Model),
    Plan(Box<Plan>),
}

impl Loaded {
    /// The graph and weights (for a plan: its optimized graph).
    pub fn model(&self) -> &Model {
        match self {
            Loaded::Model(m) => m,
            Loaded::Plan(p) => &p.model,
        }
    }

    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Loaded::Model(_) => None,
            Loaded::Plan(p) => Some(p),
        }
    }

    /// The backend a run uses when the user names none: the plan's, or `cpu`.
    pub fn default_backend(&self) -> &str {
        self.plan().map_or("cpu", |p| p.backend())
    }

    /// A session on `backend` (`None`: [`Loaded::default_backend`]). For a plan this checks that it
    /// was built for that backend and enforces its shape profiles.
    pub fn session(&self, backend: Option<&str>, opts: &CompileOptions) -> crate::Result<Session> {
        let backend = backend.unwrap_or(self.default_backend());
        match self {
            Loaded::Model(m) => Session::new(m, backend, opts),
            Loaded::Plan(p) => Session::from_plan(p, backend, opts),
        }
    }
}

/// Loads a model file, a plan, or a zoo model (`zoo:resnet50`, built with batch size `batch`).
pub fn open(spec: &str, batch: Option<usize>) -> Result<Loaded> {
    if let Some(name) = zoo::parse_zoo_ref(spec) {
        let mut opts = ZooOptions::default();
        if let Some(b) = batch {
            opts.batch = b;
        }
        return Ok(Loaded::Model(
            zoo::load(name, &opts).with_context(|| format!("building {spec}"))?,
        ));
    }
    let path = Path::new(spec);
    if !path.exists() {
        anyhow::bail!(
            "{spec}: no such file (give an .onnx path, a plan from `rtforge build`, or zoo:NAME; \
             `rtforge zoo list` shows the names)"
        );
    }
    if plan::is_plan_file(path) {
        if batch.is_some() {
            anyhow::bail!(
                "--batch applies to zoo:NAME models; the shapes of the plan {spec} were set when it was built"
            );
        }
        return Ok(Loaded::Plan(Box::new(Plan::load(path)?)));
    }
    Ok(Loaded::Model(crate::onnx::load_model(path)?))
}
