//! `rtforge run MODEL [--input NAME=FILE.npy | NAME=EXPR]... [--output-dir DIR] [--json]`.

use super::input_expr::{parse_arg, parse_expr, InputSpec};
use super::model_source;
use super::summary::{sanitize, Summary};
use anyhow::{bail, Context, Result};
use clap::Args;
use crate::backend::CompileOptions;
use crate::ir::Dim;
use crate::runtime::describe_inputs;
use crate::tensor::{random::random_tensor, read_npy, write_npy};
use crate::{Session, Tensor};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// An .onnx file, or zoo:NAME.
    pub model: String,
    /// An input as NAME=FILE.npy or NAME=EXPR (a nested list such as "x=[[1,2,3]]", cast to the
    /// input's dtype). Repeat for each input.
    #[arg(long = "input", short = 'i', value_name = "NAME=FILE|EXPR")]
    pub inputs: Vec<String>,
    /// Fill every input not given with seeded random values (floats in [-1,1), integers in [0,10)).
    #[arg(long)]
    pub random_inputs: bool,
    /// Seed for --random-inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Concrete shapes for symbolic input dims with --random-inputs: NAME:1x3x224x224,...
    #[arg(long)]
    pub shapes: Option<String>,
    /// Batch size for zoo:NAME models.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Write each output to DIR/<name>.npy.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Backend to run on.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `NAME:1x3x224x224,NAME2:...`.
pub fn parse_shapes(s: &str) -> Result<HashMap<String, Vec<usize>>> {
    let mut m = HashMap::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, dims) = part.rsplit_once(':').with_context(|| format!("--shapes '{part}': expected NAME:DIMS"))?;
        let dims: Vec<usize> = if dims.is_empty() {
            vec![]
        } else {
            dims.split('x')
                .map(|d| d.parse::<usize>().with_context(|| format!("--shapes '{part}': '{d}' is not a dimension")))
                .collect::<Result<_>>()?
        };
        m.insert(name.to_string(), dims);
    }
    Ok(m)
}

pub fn run(a: RunArgs) -> Result<()> {
    let model = model_source::load(&a.model, a.batch)?;
    if a.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let mut session = Session::new(&model, &a.backend, &CompileOptions { threads: a.threads })?;
    let infos = session.inputs().to_vec();
    let shapes = a.shapes.as_deref().map(parse_shapes).transpose()?.unwrap_or_default();
    for name in shapes.keys() {
        if !infos.iter().any(|i| &i.name == name) {
            bail!("--shapes names '{name}', which is not an input; the model needs: {}", describe_inputs(&infos));
        }
    }
    let mut feed: HashMap<String, Tensor> = HashMap::new();
    for arg in &a.inputs {
        let (name, spec) = parse_arg(arg)?;
        let Some(info) = infos.iter().find(|i| i.name == name) else {
            bail!("--input names '{name}', which is not an input; the model needs: {}", describe_inputs(&infos));
        };
        let t = match spec {
            InputSpec::File(f) => read_npy(std::path::Path::new(&f))?,
            InputSpec::Expr(e) => parse_expr(&e, info.dtype).with_context(|| format!("--input {name}"))?,
        };
        feed.insert(name, t);
    }
    let missing: Vec<_> = infos.iter().filter(|i| !feed.contains_key(&i.name)).collect();
    if !missing.is_empty() {
        if !a.random_inputs {
            bail!(
                "missing input(s) {}; the model needs: {}\n(give --input NAME=FILE.npy or NAME=EXPR, or --random-inputs)",
                missing.iter().map(|i| format!("'{}'", i.name)).collect::<Vec<_>>().join(", "),
                describe_inputs(&infos)
            );
        }
        for (k, info) in missing.into_iter().enumerate() {
            let shape = match shapes.get(&info.name) {
                Some(s) => s.clone(),
                None => concrete_shape(&info.name, info.shape.as_deref())?,
            };
            let dtype = info.dtype.with_context(|| format!("input '{}' has no declared dtype", info.name))?;
            let t = random_tensor(dtype, &shape, a.seed.wrapping_add(k as u64))?;
            feed.insert(info.name.clone(), t);
        }
    }
    let start = Instant::now();
    let outputs = session.run(&feed)?;
    let elapsed = start.elapsed();
    let mut written = vec![];
    if let Some(dir) = &a.output_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, t) in &outputs {
            let path = dir.join(format!("{}.npy", sanitize(name)));
            write_npy(&path, t)?;
            written.push(path);
        }
    }
    let summaries: Vec<Summary> = outputs.iter().map(|(n, t)| Summary::of(n, t)).collect();
    if a.json {
        let outs: Vec<_> = summaries
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut j = s.to_json();
                if let Some(p) = written.get(i) {
                    j["file"] = serde_json::json!(p.display().to_string());
                }
                j
            })
            .collect();
        let doc = serde_json::json!({
            "model": a.model,
            "backend": session.backend(),
            "latency_ms": elapsed.as_secs_f64() * 1e3,
            "outputs": outs,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (i, s) in summaries.iter().enumerate() {
            match written.get(i) {
                Some(p) => println!("{}: {}{:?} -> {}", s.name, s.dtype, s.shape, p.display()),
                None => println!("{}", s.to_text()),
            }
        }
        println!("ran {} on {} in {:.2} ms", a.model, session.backend(), elapsed.as_secs_f64() * 1e3);
    }
    Ok(())
}

/// The declared shape when every dim is fixed; otherwise an error asking for --shapes.
fn concrete_shape(name: &str, shape: Option<&[Dim]>) -> Result<Vec<usize>> {
    let shape = shape.with_context(|| format!("input '{name}' has no declared shape; give --shapes {name}:DIMS"))?;
    shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Ok(*n),
            other => bail!("input '{name}' has the free dimension '{other}'; give --shapes {name}:DIMS (e.g. 1x3x224x224)"),
        })
        .collect()
}
