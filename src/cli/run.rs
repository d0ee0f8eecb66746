//! `rtforge run MODEL [--input NAME=FILE.npy | NAME=EXPR]... [--output-dir DIR] [--json]`.

use super::input_expr::{parse_arg, parse_expr, InputSpec};
use super::model_source;
use super::summary::{sanitize, Summary};
use crate::backend::CompileOptions;
use crate::bench::inputs::{check_shape_names, index_bounds, parse_shapes, synthesize};
use crate::ir::ValueInfo;
use crate::runtime::describe_inputs;
use crate::tensor::{read_npy, write_npy};
use crate::Tensor;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// An .onnx file, a plan from `rtforge build`, or zoo:NAME.
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
    /// Backend to run on (default: the plan's backend, or cpu for a model).
    #[arg(long)]
    pub backend: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// GPU: run a node the device has no kernel for (TopK, ArgMax, CumSum, Einsum, ...) on the
    /// CPU between device steps, its inputs and outputs copied across, instead of refusing the
    /// model. Ops whose output shapes depend on their data (NonZero, Loop) are refused still.
    #[arg(long = "allow-cpu-fallback")]
    pub allow_cpu_fallback: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: RunArgs) -> Result<()> {
    let loaded = model_source::open(&a.model, a.batch)?;
    if a.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let mut session = loaded.session(
        a.backend.as_deref(),
        &CompileOptions {
            allow_cpu_fallback: a.allow_cpu_fallback,
            ..CompileOptions::with_threads(a.threads)
        },
    )?;
    let infos = session.inputs().to_vec();
    let mut shapes = a
        .shapes
        .as_deref()
        .map(parse_shapes)
        .transpose()?
        .unwrap_or_default();
    check_shape_names(&infos, &shapes)?;
    // Random inputs for a plan default to the shapes its profile is tuned for.
    for ip in loaded
        .plan()
        .and_then(|p| p.profiles.first())
        .map_or(&[][..], |p| &p.inputs[..])
    {
        shapes
            .entry(ip.name.clone())
            .or_insert_with(|| ip.opt.clone());
    }
    let mut feed: HashMap<String, Tensor> = HashMap::new();
    for arg in &a.inputs {
        let (name, spec) = parse_arg(arg)?;
        let Some(info) = infos.iter().find(|i| i.name == name) else {
            bail!(
                "--input names '{name}', which is not an input; the model needs: {}",
                describe_inputs(&infos)
            );
        };
        let t = match spec {
            InputSpec::File(f) => read_npy(std::path::Path::new(&f))?,
            InputSpec::Expr(e) => {
                parse_expr(&e, info.dtype).with_context(|| format!("--input {name}"))?
            }
        };
        feed.insert(name, t);
    }
    let missing: Vec<_> = infos
        .iter()
        .filter(|i| !feed.contains_key(&i.name))
        .collect();
    if !missing.is_empty() {
        if !a.random_inputs {
            bail!(
                "missing input(s) {}; the model needs: {}\n(give --input NAME=FILE.npy or NAME=EXPR, or --random-inputs)",
                missing.iter().map(|i| format!("'{}'", i.name)).collect::<Vec<_>>().join(", "),
                describe_inputs(&infos)
            );
        }
        let missing: Vec<ValueInfo> = missing.into_iter().cloned().collect();
        feed.extend(synthesize(
            &missing,
            &shapes,
            &index_bounds(&loaded.model().graph),
            a.seed,
        )?);
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
        println!(
            "ran {} on {} in {:.2} ms",
            a.model,
            session.backend(),
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
