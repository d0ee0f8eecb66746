//! The peer benchmark: rtforge vs onnxruntime (`ort`, the pinned pip wheel's library loaded through
//! `ORT_DYLIB_PATH`) vs tract-onnx, in one process, on the same model file, the same seeded inputs
//! and the same thread count (tract: single-threaded), interleaved after warm-up. Outputs are checked
//! against onnxruntime's first: a fast wrong answer is a failure (exit status 1). Prints median and
//! p90 latency per engine and the ratios rtforge/onnxruntime and rtforge/tract (below 1: rtforge is
//! faster). Run it through `scripts/bench-peers.sh`.

mod engines;
mod rounds;

use anyhow::{Context, Result};
use clap::Parser;
use engines::{Engine, Feed};
use rounds::{median_p90, RoundLimits};
use rtforge::bench::check::{CheckOutcome, FP32_TOLERANCE};
use rtforge::bench::inputs::{check_shape_names, index_bounds, parse_shapes, synthesize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// rtforge vs onnxruntime vs tract on the same ONNX models, inputs and threads.
#[derive(Parser, Debug)]
struct Args {
    /// ONNX model files.
    #[arg(required = true)]
    models: Vec<PathBuf>,
    /// Threads for rtforge and onnxruntime's intra-op pool (onnxruntime inter-op: 1; tract: 1).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// rtforge's graph optimization level (the passes of `PassManager::for_level`).
    #[arg(long, default_value_t = 3)]
    opt_level: u8,
    /// Seed of the random inputs (the same rule as `rtforge bench --seed`).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Concrete shapes for free input dimensions: NAME:1x3x224x224,...
    #[arg(long)]
    shapes: Option<String>,
    /// Untimed runs of each engine before the rounds.
    #[arg(long, default_value_t = 2)]
    warm_up: usize,
    /// At least this many interleaved rounds.
    #[arg(long, default_value_t = 5)]
    min_rounds: usize,
    /// At most this many rounds.
    #[arg(long, default_value_t = 50)]
    max_rounds: usize,
    /// Rounds continue (up to --max-rounds) until this many seconds have passed.
    #[arg(long, default_value_t = 10.0)]
    min_seconds: f64,
    /// Also write every row as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// One engine's result on one model.
struct Cell {
    engine: &'static str,
    /// Median and p90 in ms; `None` when the engine could not run the model.
    times: Option<(f64, f64)>,
    check: String,
    ok: bool,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let dylib = std::env::var("ORT_DYLIB_PATH").context("set ORT_DYLIB_PATH to libonnxruntime.so (scripts/bench-peers.sh does)")?;
    let env = ort::init_from(&dylib)
        .with_context(|| format!("loading onnxruntime from {dylib}"))?
        .build()
        .map_err(|e| anyhow::anyhow!("onnxruntime environment: {e}"))?;
    let limits = RoundLimits {
        warm_up: a.warm_up,
        min_rounds: a.min_rounds.max(1),
        max_rounds: a.max_rounds.max(a.min_rounds.max(1)),
        min_time: Duration::from_secs_f64(a.min_seconds.max(0.0)),
    };
    println!(
        "peers: {} thread(s) for rtforge (-O{}) and onnxruntime (intra-op; inter-op 1, all graph optimizations); tract single-threaded; {} logical cores",
        a.threads,
        a.opt_level,
        num_cpus::get()
    );
    let mut rows = vec![];
    let mut all_ok = true;
    for path in &a.models {
        let (label, batch, cells) = bench_model(&a, &env, path, &limits)?;
        all_ok &= cells.iter().all(|c| c.ok);
        rows.push((label, batch, cells));
    }
    println!("\n{}", table(&rows, a.threads));
    if let Some(p) = &a.json {
        let doc = json!({
            "threads": a.threads, "opt_level": a.opt_level, "seed": a.seed, "cpu_cores": num_cpus::get(),
            "rows": rows.iter().map(|(label, batch, cells)| json!({
                "model": label, "batch": batch,
                "engines": cells.iter().map(|c| json!({
                    "engine": c.engine, "median_ms": c.times.map(|t| t.0), "p90_ms": c.times.map(|t| t.1),
                    "check": c.check, "ok": c.ok,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        std::fs::write(p, serde_json::to_string_pretty(&doc)? + "\n").with_context(|| format!("writing {}", p.display()))?;
    }
    if !all_ok {
        anyhow::bail!("an engine gave wrong outputs or could not run a model (see the check column)");
    }
    Ok(())
}

/// Loads one model into every engine, checks outputs against onnxruntime, measures.
fn bench_model(a: &Args, env: &ort::environment::Environment, path: &Path, limits: &RoundLimits) -> Result<(String, usize, Vec<Cell>)> {
    let label = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model").to_string();
    let model = rtforge::onnx::load_model(path)?;
    let g = &model.graph;
    let infos: Vec<_> = g.inputs.iter().map(|&v| g.value(v).clone()).collect();
    let shapes = a.shapes.as_deref().map(parse_shapes).transpose()?.unwrap_or_default();
    check_shape_names(&infos, &shapes)?;
    let feed: Feed = synthesize(&infos, &shapes, &index_bounds(g), a.seed)?;
    let batch = infos.first().and_then(|i| feed[&i.name].shape().first().copied()).unwrap_or(1);
    drop(model);
    println!("\n{label} (batch {batch}): loading");

    let mut engines = vec![Engine::ort(env, path, a.threads)?];
    let mut cells = vec![];
    match Engine::rtforge(path, a.threads, a.opt_level) {
        Ok(e) => engines.push(e),
        Err(e) => cells.push(Cell { engine: "rtforge", times: None, check: format!("cannot run: {e:#}"), ok: false }),
    }
    match Engine::tract(path, &feed) {
        Ok(e) => engines.push(e),
        Err(e) => cells.push(Cell { engine: "tract", times: None, check: format!("cannot run: {e:#}"), ok: false }),
    }
    // The first engine is onnxruntime: the reference every other engine is checked against.
    let reference = engines[0].run(&feed)?;
    let mut checks = vec![("reference".to_string(), true)];
    for e in engines.iter_mut().skip(1) {
        let c = CheckOutcome::compare("onnxruntime", &e.run(&feed)?, &reference, FP32_TOLERANCE);
        let ok = c.passed() == Some(true);
        let text = format!("{} rel. error {:.1e}", if ok { "ok," } else { "WRONG," }, c.worst_error().unwrap_or(0.0));
        println!("  {}: {}", e.name(), c.to_text());
        checks.push((text, ok));
    }
    println!("  measuring {} engines, interleaved", engines.len());
    let times = rounds::measure(&mut engines, &feed, limits)?;
    for ((e, t), (check, ok)) in engines.iter().zip(&times).zip(checks) {
        let mp = median_p90(t);
        if let Some((m, p)) = mp {
            println!("  {:<12} median {m:>9.2} ms  p90 {p:>9.2} ms  ({} runs)", e.name(), t.len());
        }
        cells.push(Cell { engine: e.name(), times: mp, check, ok });
    }
    cells.sort_by_key(|c| ["rtforge", "onnxruntime", "tract"].iter().position(|n| *n == c.engine));
    Ok((label, batch, cells))
}

/// The Markdown table: medians, p90s, and rtforge's latency ratios to each peer.
fn table(rows: &[(String, usize, Vec<Cell>)], threads: usize) -> String {
    let mut s = format!(
        "rtforge vs peers, {threads} thread(s) (tract: 1), median / p90 latency in ms; ratio = rtforge median / peer median (< 1: rtforge faster)\n\n\
         | model | batch | rtforge | onnxruntime | tract | rtforge/onnxruntime | rtforge/tract | outputs vs onnxruntime |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for (label, batch, cells) in rows {
        let get = |n: &str| cells.iter().find(|c| c.engine == n);
        let time = |n: &str| get(n).and_then(|c| c.times).map_or("n/a".into(), |(m, p)| format!("{m:.2} / {p:.2}"));
        let ratio = |n: &str| match (get("rtforge").and_then(|c| c.times), get(n).and_then(|c| c.times)) {
            (Some((r, _)), Some((p, _))) if p > 0.0 => format!("{:.2}", r / p),
            _ => "n/a".into(),
        };
        let checks: Vec<String> = cells.iter().filter(|c| c.engine != "onnxruntime").map(|c| format!("{}: {}", c.engine, c.check)).collect();
        s.push_str(&format!(
            "| {label} | {batch} | {} | {} | {} | {} | {} | {} |\n",
            time("rtforge"),
            time("onnxruntime"),
            time("tract"),
            ratio("onnxruntime"),
            ratio("tract"),
            checks.join("; ")
        ));
    }
    s
}
