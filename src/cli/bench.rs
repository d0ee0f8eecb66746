//! `rtforge bench [--onnx MODEL | --engine PLAN | --model zoo:NAME] [--backend B,...] ...`: trtexec's
//! benchmark. Seeded random inputs, one output check against the cpu FP32 reference, a warm-up,
//! timed queries until both `--iterations` and `--duration` are reached, trtexec's performance
//! summary per backend and a speedup table; JSON / Markdown reports and the per-query trace on
//! request. With no model it runs `zoo:resnet50` (batch 1) on every available backend.

use super::bench_model::BenchModel;
use super::progress::ProgressLine;
use crate::backend::{self, CompileOptions};
use crate::bench::inputs::{check_shape_names, parse_shapes, synthesize};
use crate::bench::profile::LayerProfile;
use crate::bench::runner::Concurrency;
use crate::bench::{
    check, markdown, runner, speedup, stats, BenchReport, CheckOutcome, Limits, RunReport, RunSetup,
};
use crate::ir::ValueInfo;
use crate::runtime::Session;
use crate::Tensor;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The model `bench` runs when none is given.
pub const DEFAULT_MODEL: &str = "zoo:resnet50";

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// An ONNX model file to benchmark.
    #[arg(long, value_name = "MODEL.onnx", help_heading = "Model", conflicts_with_all = ["engine", "model"])]
    pub onnx: Option<String>,
    /// A plan file written by `rtforge build` (trtexec: --loadEngine).
    #[arg(
        long,
        alias = "loadEngine",
        value_name = "PLAN",
        help_heading = "Model",
        conflicts_with = "model"
    )]
    pub engine: Option<String>,
    /// A built-in model: zoo:NAME or NAME (`rtforge zoo list`). Default, when no model is given:
    /// zoo:resnet50 on every available backend.
    #[arg(long, value_name = "zoo:NAME", help_heading = "Model")]
    pub model: Option<String>,
    /// Batch size of a zoo model (default 1). Model files take their shapes from --shapes.
    #[arg(long, help_heading = "Model")]
    pub batch: Option<usize>,
    /// Graph optimization level of a model file or zoo model, as `rtforge build -O` (default 3;
    /// 0: the graph as imported, which is also the reference of the output check). Plans are
    /// measured as built.
    #[arg(short = 'O', long = "opt-level", value_name = "0..3",
          value_parser = clap::value_parser!(u8).range(0..=3), help_heading = "Model")]
    pub opt_level: Option<u8>,
    /// Concrete input shapes for free dimensions: NAME:1x3x224x224,NAME2:8x128 (trtexec: --shapes).
    #[arg(long, value_name = "NAME:DIMS,...", help_heading = "Model")]
    pub shapes: Option<String>,

    /// Backends to run, comma separated; the first is the run asked for and comes first in the
    /// report. Default: cpu, or every available backend when no model is given.
    #[arg(long, value_delimiter = ',', help_heading = "System")]
    pub backend: Vec<String>,
    /// CPU worker threads (default: one per logical core).
    #[arg(long, help_heading = "System")]
    pub threads: Option<usize>,
    /// Also run each backend that has FP16 kernels in FP16 (the graph rewritten as
    /// `rtforge build --fp16` does), next to its FP32 run (trtexec: --fp16).
    #[arg(long, help_heading = "Build")]
    pub fp16: bool,
    /// GPU: keep FP32 GEMMs and convolutions off TF32 tensor cores (trtexec: --noTF32).
    #[arg(long = "no-tf32", alias = "noTF32", help_heading = "Build")]
    pub no_tf32: bool,
    /// GPU: run a node the device has no kernel for (TopK, ArgMax, CumSum, Einsum, ...) on the
    /// CPU between device steps, its inputs and outputs copied across, instead of refusing the
    /// model. Ops whose output shapes depend on their data (NonZero, Loop) are refused still.
    #[arg(long = "allow-cpu-fallback", help_heading = "Build")]
    pub allow_cpu_fallback: bool,
    /// GPU: capture each stream's work as a CUDA graph and replay it (trtexec: --useCudaGraph).
    #[arg(
        long = "use-cuda-graph",
        alias = "useCudaGraph",
        help_heading = "Inference"
    )]
    pub use_cuda_graph: bool,
    /// Sessions querying concurrently, one host thread and (GPU) one stream each
    /// (trtexec: --infStreams).
    #[arg(
        long,
        alias = "infStreams",
        value_name = "N",
        default_value_t = 1,
        help_heading = "Inference"
    )]
    pub streams: usize,
    /// GPU: leave inputs and outputs on the device: no host-device copies in the timed queries
    /// (trtexec: --noDataTransfers). The output check still runs one query with copies.
    #[arg(
        long = "no-data-transfers",
        alias = "noDataTransfers",
        help_heading = "Inference"
    )]
    pub no_data_transfers: bool,

    /// Run untimed queries for this many milliseconds first (trtexec: --warmUp).
    #[arg(
        long = "warm-up",
        alias = "warmUp",
        value_name = "MS",
        default_value_t = 200.0,
        help_heading = "Inference"
    )]
    pub warm_up: f64,
    /// Time queries for at least this many seconds (and at least --iterations queries).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 3.0,
        help_heading = "Inference"
    )]
    pub duration: f64,
    /// Time at least this many queries (and for at least --duration seconds).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        help_heading = "Inference"
    )]
    pub iterations: usize,
    /// Seed of the random inputs (input k of the model gets seed + k).
    #[arg(long, default_value_t = 0, help_heading = "Inference")]
    pub seed: u64,

    /// Percentiles to report, comma separated, each in [0, 100] (JSON always has p90, p95, p99).
    #[arg(
        long,
        value_name = "P,...",
        default_value = "90,95,99",
        help_heading = "Reporting"
    )]
    pub percentile: String,
    /// Write the first run's per-query times as trtexec's --exportTimes JSON (trtexec: --exportTimes).
    #[arg(
        long = "export-times",
        alias = "exportTimes",
        value_name = "FILE",
        help_heading = "Reporting"
    )]
    pub export_times: Option<PathBuf>,
    /// After the timed queries, time every layer over N more runs and print them slowest first, with
    /// a per-op summary (trtexec: --dumpProfile, with --separateProfileRun).
    #[arg(
        long = "dump-profile",
        alias = "dumpProfile",
        value_name = "RUNS",
        num_args = 0..=1,
        default_missing_value = "20",
        help_heading = "Reporting"
    )]
    pub dump_profile: Option<usize>,
    /// Write a report: FILE.json (every run, the speedup table) or FILE.md (the same as Markdown,
    /// with an SVG chart written beside it as FILE.svg).
    #[arg(long, value_name = "FILE.json|FILE.md", help_heading = "Reporting")]
    pub report: Option<PathBuf>,
}

/// The kind of report `--report` asked for, from the file's extension.
enum ReportKind {
    Json,
    Markdown,
}

pub fn run(a: BenchArgs) -> Result<()> {
    // Everything that can be wrong with the options is reported before minutes of measuring.
    let limits = Limits::new(a.warm_up, a.duration, a.iterations)?;
    let percentiles = stats::parse_percentiles(&a.percentile)?;
    let report_kind = a.report.as_deref().map(report_kind).transpose()?;
    if a.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if a.streams == 0 {
        bail!("--streams must be at least 1");
    }
    let (spec, default_run) = model_spec(&a)?;
    let asked = backends_asked(&a.backend)?;
    let threads = a.threads.unwrap_or_else(num_cpus::get);

    let mut model = BenchModel::open(&spec, a.batch, a.opt_level)?;
    let backends = match (asked.is_empty(), default_run) {
        (false, _) => asked,
        (true, true) => backend::available()
            .iter()
            .map(|b| b.name().to_string())
            .collect(),
        (true, false) => vec![model.default_backend().to_string()],
    };
    // The default run (no model) shows every backend's FP16 too, except the CPU's, whose FP16 is
    // f16 storage around f32 arithmetic and only asked for explicitly.
    let runs = plan_runs(&backends, model.precision(), a.fp16, default_run)?;
    if runs.iter().any(|(_, p)| p != model.precision()) {
        model.enable_fp16()?;
    }
    let infos = model.inputs();
    let shapes = a
        .shapes
        .as_deref()
        .map(parse_shapes)
        .transpose()?
        .unwrap_or_default();
    check_shape_names(&infos, &shapes)?;
    let feed = synthesize(&infos, &shapes, &model.index_bounds(), a.seed)
        .with_context(|| format!("{spec}: cannot make random inputs for this model"))?;
    let batch = batch_of(&infos, &feed);

    let shown_runs: Vec<String> = runs.iter().map(|(b, p)| format!("{b} {p}")).collect();
    println!(
        "rtforge bench: {spec} (batch {batch}, {}) on {}; {threads} CPU thread(s), {} logical cores",
        model.describe(),
        shown_runs.join(", "),
        num_cpus::get()
    );
    println!(
        "Limits: warm-up {:.0} ms, then at least {} queries and {} s",
        limits.warm_up.as_secs_f64() * 1e3,
        limits.iterations,
        limits.duration.as_secs_f64()
    );
    let shown: Vec<String> = infos
        .iter()
        .map(|i| {
            format!(
                "'{}' {}{:?}",
                i.name,
                feed[&i.name].dtype(),
                feed[&i.name].shape()
            )
        })
        .collect();
    println!(
        "Inputs (seeded random, seed {}): {}",
        a.seed,
        shown.join("; ")
    );

    let opts = CompileOptions {
        threads: a.threads,
        tf32: !a.no_tf32,
        cuda_graph: a.use_cuda_graph,
        arch: None,
        allow_cpu_fallback: a.allow_cpu_fallback,
    };
    let how = Concurrency {
        streams: a.streams,
        transfers: !a.no_data_transfers,
    };
    let mut reference: Option<Vec<(String, Tensor)>> = None;
    let mut results: Vec<RunReport> = vec![];
    for (name, precision) in &runs {
        let mut session = model
            .session(name, precision, &opts)
            .with_context(|| format!("compiling {spec} for {name} {precision}"))?;
        let outputs = session
            .run(&feed)
            .with_context(|| format!("running {spec} on {name}"))?;
        let check = if model.is_reference(name, precision) {
            CheckOutcome::Skipped(format!(
                "this run is the {} reference itself: nothing to check it against",
                model.reference_label()
            ))
        } else {
            if reference.is_none() {
                let mut cpu = model
                    .reference_session(&opts)
                    .context("compiling the cpu reference")?;
                reference = Some(cpu.run(&feed).context("running the cpu reference")?);
            }
            let want = reference.as_deref().unwrap_or_default();
            CheckOutcome::compare(
                model.reference_label(),
                &outputs,
                want,
                check::tolerance_for_run(name, precision, !a.no_tf32),
            )
        };
        drop(outputs);
        let mut progress = ProgressLine::new(&format!("{name} {precision}"));
        let trace = runner::measure(&mut session, &feed, &limits, how, &mut |p| {
            progress.update(p)
        })?;
        progress.finish();
        let setup = RunSetup {
            backend: name.clone(),
            precision: precision.clone(),
            batch,
            threads,
            streams: a.streams,
        };
        let report = RunReport::new(
            setup,
            &trace,
            &percentiles,
            session.peak_memory_bytes(),
            check,
        )?;
        println!("\n{}", report.summary_text());
        if let Some(runs) = a.dump_profile {
            print_profile(&mut session, &feed, runs.max(1), name)?;
        }
        if results.is_empty() {
            if let Some(path) = &a.export_times {
                trace.write_export_times(path)?;
                println!("wrote {} ({} queries)", path.display(), trace.queries.len());
            }
        }
        results.push(report);
    }

    let rows = speedup::speedups(&results);
    println!("\n{}", speedup::table_text(&rows, threads));
    let report = BenchReport {
        model: spec.clone(),
        cpu_cores: num_cpus::get(),
        seed: a.seed,
        results,
        speedups: rows,
    };
    if let (Some(path), Some(kind)) = (&a.report, report_kind) {
        write_report(&report, path, kind)?;
    }
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.check.passed() == Some(false))
        .map(|r| format!("{} {}", r.setup.backend, r.setup.precision))
        .collect();
    if !failed.is_empty() {
        bail!(
            "output check failed for {}: its outputs differ from the cpu fp32 reference",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Runs `runs` profiled queries and prints the per-layer table.
fn print_profile(
    session: &mut Session,
    feed: &HashMap<String, Tensor>,
    runs: usize,
    backend: &str,
) -> Result<()> {
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        match session.run_profiled(feed)? {
            Some(layers) => all.push(layers),
            None => {
                println!(
                    "\n(--dump-profile: the {backend} backend does not time layers one by one)"
                );
                return Ok(());
            }
        }
    }
    match LayerProfile::average(&all) {
        Some(p) => println!("\n{}", p.text(25)),
        None => println!("\n(--dump-profile: runs executed different layers; no average)"),
    }
    Ok(())
}

/// The (backend, precision) runs: each backend in the loaded precision, then in FP16 where asked
/// (`fp16`, or the default run for GPU backends) and the backend has FP16 kernels.
fn plan_runs(
    backends: &[String],
    loaded: &str,
    fp16: bool,
    default_run: bool,
) -> Result<Vec<(String, String)>> {
    let mut runs = vec![];
    for name in backends {
        runs.push((name.clone(), loaded.to_string()));
        if loaded == "fp16" || !(fp16 || (default_run && name != "cpu")) {
            continue;
        }
        let has_fp16 = backend::named(name)?
            .precisions()
            .contains(&crate::plan::Precision::Fp16);
        if has_fp16 {
            runs.push((name.clone(), "fp16".to_string()));
        } else if fp16 {
            println!("note: backend {name} has no FP16 kernels; it runs in {loaded} only");
        }
    }
    Ok(runs)
}

/// The model to load and whether this is the default run (no model given).
fn model_spec(a: &BenchArgs) -> Result<(String, bool)> {
    let spec = match (&a.onnx, &a.engine, &a.model) {
        (Some(p), _, _) | (None, Some(p), _) => {
            if a.batch.is_some() {
                bail!("--batch sets the batch of zoo models; for a model file give --shapes NAME:DIMS");
            }
            p.clone()
        }
        (None, None, Some(m)) if m.starts_with("zoo:") => m.clone(),
        (None, None, Some(m)) => format!("zoo:{m}"),
        (None, None, None) => return Ok((DEFAULT_MODEL.to_string(), true)),
    };
    Ok((spec, false))
}

/// The backends named by `--backend`, each checked to exist and be available here before
/// anything is loaded; duplicates dropped.
fn backends_asked(asked: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = vec![];
    for b in asked.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        backend::by_name(b)?;
        if !out.iter().any(|o| o == b) {
            out.push(b.to_string());
        }
    }
    Ok(out)
}

/// The batch the report states: the first dimension of the first input (1 for a scalar input).
fn batch_of(infos: &[ValueInfo], feed: &HashMap<String, Tensor>) -> usize {
    infos
        .first()
        .and_then(|i| feed.get(&i.name))
        .and_then(|t| t.shape().first().copied())
        .unwrap_or(1)
}

fn report_kind(path: &Path) -> Result<ReportKind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(ReportKind::Json),
        Some("md") => Ok(ReportKind::Markdown),
        _ => bail!("--report {}: give a .json or .md file", path.display()),
    }
}

fn write_report(report: &BenchReport, path: &Path, kind: ReportKind) -> Result<()> {
    let write = |p: &Path, text: String| {
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
    };
    match kind {
        ReportKind::Json => write(
            path,
            serde_json::to_string_pretty(&report.to_json())? + "\n",
        )?,
        ReportKind::Markdown => {
            let svg = path.with_extension("svg");
            let svg_name = svg
                .file_name()
                .and_then(|n| n.to_str())
                .context("the report's file name is not UTF-8")?;
            write(&svg, markdown::svg_chart(report))?;
            write(path, markdown::to_markdown(report, Some(svg_name)))?;
            println!("wrote {}", svg.display());
        }
    }
    println!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Dim;
    use crate::DType;

    #[test]
    fn the_batch_is_the_first_dim_of_the_first_input() {
        let info = ValueInfo {
            name: "x".into(),
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::Symbol("N".into()), Dim::Fixed(3)]),
        };
        let feed = HashMap::from([(
            "x".to_string(),
            Tensor::zeros(DType::F32, vec![8, 3]).unwrap(),
        )]);
        assert_eq!(batch_of(&[info], &feed), 8);
        assert_eq!(batch_of(&[], &feed), 1);
    }

    #[test]
    fn unknown_backends_and_report_types_are_refused_early() {
        assert!(backends_asked(&["tpu".into()])
            .unwrap_err()
            .to_string()
            .contains("tpu"));
        assert_eq!(
            backends_asked(&["cpu".into(), " cpu".into()]).unwrap(),
            vec!["cpu"]
        );
        assert!(backends_asked(&[]).unwrap().is_empty());
        assert!(report_kind(Path::new("r.txt")).is_err());
        assert!(matches!(
            report_kind(Path::new("r.md")),
            Ok(ReportKind::Markdown)
        ));
    }
}
