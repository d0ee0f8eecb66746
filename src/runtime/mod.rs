//! `Session`: runs an [`Engine`] on named inputs. It checks every input against what the model
//! declares (name, dtype, rank, fixed dims, and symbolic dims bound consistently across inputs)
//! before anything runs, and returns named outputs. A session made from a [`Plan`] also holds the
//! plan's shape profiles and refuses inputs outside them.

use crate::backend::{self, CompileOptions, Engine, LayerTime, StageTimes};
use crate::error::{Error, Result};
use crate::ir::{Dim, Model, ValueInfo};
use crate::plan::{check_profiles, Plan, Profile};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::Arc;

/// A model compiled for one backend, ready to run. Clones share the engine: each runs its own
/// queries, concurrently with the others where the backend can (one stream each on a GPU).
#[derive(Clone)]
pub struct Session {
    engine: Arc<dyn Engine>,
    inputs: Vec<ValueInfo>,
    outputs: Vec<ValueInfo>,
    /// Shape ranges from a plan; empty for a model loaded from ONNX.
    profiles: Vec<Profile>,
}

impl Session {
    /// Compiles `model` on the named backend.
    pub fn new(model: &Model, backend: &str, opts: &CompileOptions) -> Result<Session> {
        let engine = backend::by_name(backend)?.compile(model, opts)?;
        Ok(Session::of_engine(model, engine))
    }

    fn of_engine(model: &Model, engine: Arc<dyn Engine>) -> Session {
        let g = &model.graph;
        Session {
            engine,
            inputs: g.inputs.iter().map(|&v| g.value(v).clone()).collect(),
            outputs: g.outputs.iter().map(|&v| g.value(v).clone()).collect(),
            profiles: vec![],
        }
    }

    /// Compiles a plan on the named backend. The plan must have been built for that backend, in a
    /// precision it has kernels for; its shape profiles are enforced on every run. Threads default
    /// to the plan's `--threads` when `opts` leaves them open.
    pub fn from_plan(plan: &Plan, backend: &str, opts: &CompileOptions) -> Result<Session> {
        plan.check_backend(backend)?;
        let b = backend::by_name(backend)?;
        if !b.precisions().contains(&plan.precision()) {
            let path = &plan.model.source;
            return Err(Error::Plan {
                path: path.clone(),
                msg: format!(
                    "this plan is {}, which backend '{backend}' cannot run in this build",
                    plan.precision()
                ),
                rebuild: plan.rebuild_command(path).replace(" --fp16", ""),
            });
        }
        let opts = CompileOptions {
            threads: opts.threads.or(plan.build.threads),
            tf32: opts.tf32 && !plan.build.no_tf32,
            allow_cpu_fallback: opts.allow_cpu_fallback || plan.build.allow_cpu_fallback,
            ..opts.clone()
        };
        let engine = b.compile_plan(&plan.model, &plan.payloads, &opts)?;
        let mut s = Session::of_engine(&plan.model, engine);
        s.profiles = plan.profiles.clone();
        Ok(s)
    }

    /// The shape profiles inputs must fit (empty: any shape the model accepts).
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// What the model needs, in order.
    pub fn inputs(&self) -> &[ValueInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[ValueInfo] {
        &self.outputs
    }

    pub fn backend(&self) -> &'static str {
        self.engine.backend()
    }

    /// Peak activation memory of any run so far, where the backend tracks it.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        self.engine.peak_memory_bytes()
    }

    /// Runs on named inputs; returns `(name, tensor)` per model output, in order.
    pub fn run(&mut self, inputs: &HashMap<String, Tensor>) -> Result<Vec<(String, Tensor)>> {
        let ordered = self.bind(inputs)?;
        let outs = self.engine.run(ordered)?;
        Ok(self.name_outputs(outs))
    }

    /// [`Session::run`], also returning the device stage times where the backend has them.
    /// `transfers` false: see [`Engine::run_timed`] (no outputs come back).
    pub fn run_timed<V: InputTensor>(
        &mut self,
        inputs: &HashMap<String, V>,
        transfers: bool,
    ) -> Result<(Vec<(String, Tensor)>, Option<StageTimes>)> {
        let ordered = self.bind(inputs)?;
        let (outs, times) = self.engine.run_timed(ordered, transfers)?;
        Ok((self.name_outputs(outs), times))
    }

    fn name_outputs(&self, outs: Vec<Tensor>) -> Vec<(String, Tensor)> {
        self.outputs
            .iter()
            .map(|v| v.name.clone())
            .zip(outs)
            .collect()
    }

    /// [`Session::run`], also timing each layer where the backend can (`None` otherwise).
    pub fn run_profiled<V: InputTensor>(
        &mut self,
        inputs: &HashMap<String, V>,
    ) -> Result<Option<Vec<LayerTime>>> {
        let ordered = self.bind(inputs)?;
        Ok(self.engine.run_profiled(ordered)?.1)
    }

    /// Orders and checks inputs. Missing inputs are one error listing everything the model needs.
    fn bind<V: InputTensor>(&self, inputs: &HashMap<String, V>) -> Result<Vec<Arc<Tensor>>> {
        for name in inputs.keys() {
            if !self.inputs.iter().any(|v| &v.name == name) {
                return Err(Error::Input(format!(
                    "the model has no input named '{name}'; it needs: {}",
                    describe_inputs(&self.inputs)
                )));
            }
        }
        let missing: Vec<&ValueInfo> = self
            .inputs
            .iter()
            .filter(|v| !inputs.contains_key(&v.name))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Input(format!(
                "missing input(s) {}; the model needs: {}",
                missing
                    .iter()
                    .map(|v| format!("'{}'", v.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                describe_inputs(&self.inputs)
            )));
        }
        let shapes: Vec<(&str, &[usize])> = self
            .inputs
            .iter()
            .map(|v| (v.name.as_str(), inputs[&v.name].tensor().shape()))
            .collect();
        check_profiles(&self.profiles, &shapes)?;
        let mut symbols: HashMap<&str, (usize, &str)> = HashMap::new();
        let mut out = Vec::with_capacity(self.inputs.len());
        for info in &self.inputs {
            let t = &inputs[&info.name];
            check_input(info, t.tensor(), &mut symbols)?;
            out.push(t.shared());
        }
        Ok(out)
    }
}

/// An input a session takes: an owned [`Tensor`], copied once into the query, or an
/// `Arc<Tensor>`, handed over without a copy (what a caller running the same inputs many times,
/// such as `bench`, uses).
pub trait InputTensor {
    fn tensor(&self) -> &Tensor;
    fn shared(&self) -> Arc<Tensor>;
}

impl InputTensor for Tensor {
    fn tensor(&self) -> &Tensor {
        self
    }
    fn shared(&self) -> Arc<Tensor> {
        Arc::new(self.clone())
    }
}

impl InputTensor for Arc<Tensor> {
    fn tensor(&self) -> &Tensor {
        self
    }
    fn shared(&self) -> Arc<Tensor> {
        Arc::clone(self)
    }
}

/// `'x' float32[batch, 3]; 'y' int64[2]`.
pub fn describe_inputs(inputs: &[ValueInfo]) -> String {
    inputs
        .iter()
        .map(|v| format!("'{}' {}", v.name, v.describe()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_input<'a>(
    info: &'a ValueInfo,
    t: &Tensor,
    symbols: &mut HashMap<&'a str, (usize, &'a str)>,
) -> Result<()> {
    if let Some(dt) = info.dtype {
        if dt != t.dtype() {
            return Err(Error::tensor(
                &info.name,
                format!("expected dtype {dt}, got {}", t.dtype()),
            ));
        }
    }
    if let Some(shape) = &info.shape {
        let wrong = || {
            Error::tensor(
                &info.name,
                format!("expected shape {}, got {:?}", info.describe(), t.shape()),
            )
        };
        if shape.len() != t.rank() {
            return Err(wrong());
        }
        for (d, &actual) in shape.iter().zip(t.shape()) {
            match d {
                Dim::Fixed(f) if *f != actual => return Err(wrong()),
                Dim::Symbol(s) => {
                    if let Some(&(bound, by)) = symbols.get(s.as_str()) {
                        if bound != actual {
                            return Err(Error::tensor(
                                &info.name,
                                format!(
                                    "dimension '{s}' is {actual} here but {bound} in input '{by}'"
                                ),
                            ));
                        }
                    } else {
                        symbols.insert(s, (actual, &info.name));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
