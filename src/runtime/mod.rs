//! `Session`: runs an [`Engine`] on named inputs. It checks every input against what the model
//! declares (name, dtype, rank, fixed dims, and symbolic dims bound consistently across inputs)
//! before anything runs, and returns named outputs.

use crate::backend::{self, CompileOptions, Engine};
use crate::error::{Error, Result};
use crate::ir::{Dim, Model, ValueInfo};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::Arc;

/// A model compiled for one backend, ready to run.
pub struct Session {
    engine: Arc<dyn Engine>,
    inputs: Vec<ValueInfo>,
    outputs: Vec<ValueInfo>,
}

impl Session {
    /// Compiles `model` on the named backend.
    pub fn new(model: &Model, backend: &str, opts: &CompileOptions) -> Result<Session> {
        let b = backend::by_name(backend)?;
        let engine = b.compile(model, opts)?;
        let g = &model.graph;
        Ok(Session {
            engine,
            inputs: g.inputs.iter().map(|&v| g.value(v).clone()).collect(),
            outputs: g.outputs.iter().map(|&v| g.value(v).clone()).collect(),
        })
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

    /// Runs on named inputs; returns `(name, tensor)` per model output, in order.
    pub fn run(&mut self, inputs: &HashMap<String, Tensor>) -> Result<Vec<(String, Tensor)>> {
        let ordered = self.bind(inputs)?;
        let outs = self.engine.run(ordered)?;
        Ok(self.outputs.iter().map(|v| v.name.clone()).zip(outs).collect())
    }

    /// Orders and checks inputs. Missing inputs are one error listing everything the model needs.
    fn bind(&self, inputs: &HashMap<String, Tensor>) -> Result<Vec<Arc<Tensor>>> {
        for name in inputs.keys() {
            if !self.inputs.iter().any(|v| &v.name == name) {
                return Err(Error::Input(format!(
                    "the model has no input named '{name}'; it needs: {}",
                    describe_inputs(&self.inputs)
                )));
            }
        }
        let missing: Vec<&ValueInfo> = self.inputs.iter().filter(|v| !inputs.contains_key(&v.name)).collect();
        if !missing.is_empty() {
            return Err(Error::Input(format!(
                "missing input(s) {}; the model needs: {}",
                missing.iter().map(|v| format!("'{}'", v.name)).collect::<Vec<_>>().join(", "),
                describe_inputs(&self.inputs)
            )));
        }
        let mut symbols: HashMap<&str, (usize, &str)> = HashMap::new();
        let mut out = Vec::with_capacity(self.inputs.len());
        for info in &self.inputs {
            let t = &inputs[&info.name];
            check_input(info, t, &mut symbols)?;
            out.push(Arc::new(t.clone()));
        }
        Ok(out)
    }
}

/// `'x' float32[batch, 3]; 'y' int64[2]`.
pub fn describe_inputs(inputs: &[ValueInfo]) -> String {
    inputs.iter().map(|v| format!("'{}' {}", v.name, v.describe())).collect::<Vec<_>>().join("; ")
}

fn check_input<'a>(info: &'a ValueInfo, t: &Tensor, symbols: &mut HashMap<&'a str, (usize, &'a str)>) -> Result<()> {
    if let Some(dt) = info.dtype {
        if dt != t.dtype() {
            return Err(Error::tensor(&info.name, format!("expected dtype {dt}, got {}", t.dtype())));
        }
    }
    if let Some(shape) = &info.shape {
        let wrong = || Error::tensor(&info.name, format!("expected shape {}, got {:?}", info.describe(), t.shape()));
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
                                format!("dimension '{s}' is {actual} here but {bound} in input '{by}'"),
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
