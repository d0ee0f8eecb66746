//! The three engines measured side by side, behind one small enum: rtforge (its cpu backend, the
//! same path `rtforge bench` takes), onnxruntime through `ort` (the library loaded at run time
//! from `ORT_DYLIB_PATH`), and tract-onnx (optimized, single-threaded). Each takes the same
//! rtforge tensors in and gives rtforge tensors back, so outputs compare with one function.

use anyhow::{anyhow, bail, Context, Result};
use ort::session::builder::GraphOptimizationLevel;
use rtforge::backend::CompileOptions;
use rtforge::passes::PassManager;
use rtforge::{DType, Session, Tensor};
use std::collections::HashMap;
use std::path::Path;
use tract_onnx::prelude::{
    tvec, Framework, InferenceFact, InferenceModelExt, IntoTValue, TValue, Tensor as TractTensor, TypedRunnableModel,
};

/// Named inputs, shared by every engine.
pub type Feed = HashMap<String, Tensor>;
/// Named outputs in the model's output order.
pub type Outputs = Vec<(String, Tensor)>;

pub enum Engine {
    Rtforge(Session),
    Ort { session: ort::session::Session, inputs: Vec<String> },
    Tract { plan: std::sync::Arc<TypedRunnableModel>, inputs: Vec<String>, outputs: Vec<String> },
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Rtforge(_) => "rtforge",
            Engine::Ort { .. } => "onnxruntime",
            Engine::Tract { .. } => "tract",
        }
    }

    /// rtforge's cpu backend with `threads` workers, after the optimizer's passes at `opt_level`.
    pub fn rtforge(path: &Path, threads: usize, opt_level: u8) -> Result<Engine> {
        let mut model = rtforge::onnx::load_model(path)?;
        PassManager::for_level(opt_level).run(&mut model.graph)?;
        Ok(Engine::Rtforge(Session::new(&model, "cpu", &CompileOptions::with_threads(Some(threads)))?))
    }

    /// onnxruntime: `threads` intra-op threads, inter-op 1, every graph optimization.
    pub fn ort(env: &ort::environment::Environment, path: &Path, threads: usize) -> Result<Engine> {
        let e = |e: ort::Error<ort::session::builder::SessionBuilder>| anyhow!("onnxruntime: {e}");
        let mut builder = ort::session::Session::builder(env)
            .map_err(|e| anyhow!("onnxruntime: {e}"))?
            .with_intra_threads(threads)
            .map_err(e)?
            .with_inter_threads(1)
            .map_err(e)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(e)?;
        let session = builder.commit_from_file(path).map_err(|e| anyhow!("onnxruntime: {e}"))?;
        let inputs = session.inputs().iter().map(|i| i.name().to_string()).collect();
        Ok(Engine::Ort { session, inputs })
    }

    /// tract: the model with its input facts pinned to the feed's dtypes and shapes, optimized.
    pub fn tract(path: &Path, feed: &Feed) -> Result<Engine> {
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(|e| anyhow!("tract: {e:?}"))?;
        let inputs: Vec<String> = model.input_outlets().map_err(|e| anyhow!("tract: {e}"))?.iter().map(|o| model.node(o.node).name.clone()).collect();
        for (i, name) in inputs.iter().enumerate() {
            let t = feed.get(name).with_context(|| format!("tract: no input named '{name}' in the feed"))?;
            let fact = InferenceFact::dt_shape(to_tract(t)?.datum_type(), t.shape());
            model = model.with_input_fact(i, fact).map_err(|e| anyhow!("tract: {e}"))?;
        }
        // An output is known by its outlet label (the ONNX value name), not by its node's name.
        let outputs = model
            .output_outlets()
            .map_err(|e| anyhow!("tract: {e}"))?
            .iter()
            .map(|&o| model.outlet_label(o).map_or_else(|| model.node(o.node).name.clone(), str::to_string))
            .collect();
        let plan = model
            .into_optimized()
            .and_then(|m| tract_onnx::prelude::IntoRunnable::into_runnable(m))
            .map_err(|e| anyhow!("tract: {e:?}"))?;
        Ok(Engine::Tract { plan, inputs, outputs })
    }

    /// One inference on `feed`.
    pub fn run(&mut self, feed: &Feed) -> Result<Outputs> {
        match self {
            Engine::Rtforge(s) => Ok(s.run(feed)?),
            Engine::Ort { session, inputs } => {
                let mut values: Vec<(String, ort::value::DynValue)> = vec![];
                for name in inputs.iter() {
                    let t = feed.get(name).with_context(|| format!("onnxruntime: no input named '{name}'"))?;
                    values.push((name.clone(), to_ort(t)?));
                }
                let out = session.run(values).map_err(|e| anyhow!("onnxruntime: {e}"))?;
                out.iter().map(|(name, v)| Ok((name.to_string(), from_ort(name, &v)?))).collect()
            }
            Engine::Tract { plan, inputs, outputs } => {
                let mut values = tvec![];
                for name in inputs.iter() {
                    let t = feed.get(name).with_context(|| format!("tract: no input named '{name}'"))?;
                    values.push(to_tract(t)?.into_tvalue());
                }
                let out = plan.run(values).map_err(|e| anyhow!("tract: {e:?}"))?;
                outputs.iter().zip(out).map(|(n, v)| Ok((n.clone(), from_tract(n, &v)?))).collect()
            }
        }
    }
}

fn to_ort(t: &Tensor) -> Result<ort::value::DynValue> {
    let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let e = |e: ort::Error| anyhow!("onnxruntime: {e}");
    Ok(match t.dtype() {
        DType::F32 => ort::value::Tensor::from_array((shape, t.to_vec::<f32>())).map_err(e)?.into_dyn(),
        DType::F64 => ort::value::Tensor::from_array((shape, t.to_vec::<f64>())).map_err(e)?.into_dyn(),
        DType::I64 => ort::value::Tensor::from_array((shape, t.to_vec::<i64>())).map_err(e)?.into_dyn(),
        DType::I32 => ort::value::Tensor::from_array((shape, t.to_vec::<i32>())).map_err(e)?.into_dyn(),
        DType::Bool => ort::value::Tensor::from_array((shape, t.to_vec::<bool>())).map_err(e)?.into_dyn(),
        other => bail!("the peer benchmark does not pass {other} inputs to onnxruntime"),
    })
}

fn from_ort(name: &str, v: &ort::value::DynValue) -> Result<Tensor> {
    use ort::value::TensorElementType as T;
    let ty = v.dtype().tensor_type().with_context(|| format!("onnxruntime output '{name}' is not a tensor"))?;
    let e = |e: ort::Error| anyhow!("onnxruntime output '{name}': {e}");
    let shape = |s: &ort::value::Shape| s.iter().map(|&d| d as usize).collect::<Vec<_>>();
    Ok(match ty {
        T::Float32 => {
            let (s, d) = v.try_extract_tensor::<f32>().map_err(e)?;
            Tensor::from_vec(shape(s), d.to_vec())?
        }
        T::Int64 => {
            let (s, d) = v.try_extract_tensor::<i64>().map_err(e)?;
            Tensor::from_vec(shape(s), d.to_vec())?
        }
        T::Int32 => {
            let (s, d) = v.try_extract_tensor::<i32>().map_err(e)?;
            Tensor::from_vec(shape(s), d.to_vec())?
        }
        T::Bool => {
            let (s, d) = v.try_extract_tensor::<bool>().map_err(e)?;
            Tensor::from_vec(shape(s), d.to_vec())?
        }
        other => bail!("onnxruntime output '{name}' has element type {other:?}, which the peer benchmark does not read"),
    })
}

fn to_tract(t: &Tensor) -> Result<TractTensor> {
    let s = t.shape();
    let r = match t.dtype() {
        DType::F32 => TractTensor::from_shape(s, &t.to_vec::<f32>()),
        DType::F64 => TractTensor::from_shape(s, &t.to_vec::<f64>()),
        DType::I64 => TractTensor::from_shape(s, &t.to_vec::<i64>()),
        DType::I32 => TractTensor::from_shape(s, &t.to_vec::<i32>()),
        DType::Bool => TractTensor::from_shape(s, &t.to_vec::<bool>()),
        other => bail!("the peer benchmark does not pass {other} inputs to tract"),
    };
    r.map_err(|e| anyhow!("tract: {e}"))
}

fn from_tract(name: &str, v: &TValue) -> Result<Tensor> {
    use tract_onnx::prelude::DatumType as D;
    let shape = v.shape().to_vec();
    let e = |e: tract_onnx::prelude::TractError| anyhow!("tract output '{name}': {e}");
    Ok(match v.datum_type() {
        D::F32 => Tensor::from_vec(shape, v.to_plain_array_view::<f32>().map_err(e)?.iter().copied().collect())?,
        D::I64 => Tensor::from_vec(shape, v.to_plain_array_view::<i64>().map_err(e)?.iter().copied().collect())?,
        D::I32 => Tensor::from_vec(shape, v.to_plain_array_view::<i32>().map_err(e)?.iter().copied().collect())?,
        D::Bool => Tensor::from_vec(shape, v.to_plain_array_view::<bool>().map_err(e)?.iter().copied().collect())?,
        other => bail!("tract output '{name}' has element type {other:?}, which the peer benchmark does not read"),
    })
}
