//! `rtforge bench` as a user runs it: trtexec's summary, the JSON and Markdown reports, the
//! `--export-times` trace, trtexec's option spellings, and the error for a model whose inputs
//! cannot be made up without `--shapes`. Short runs (`--iterations 5 --duration 0 --warm-up 0`)
//! on tiny models: these check what is reported, never how fast.

mod common;

use common::tiny;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rtforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtforge"))
        .args(args)
        .output()
        .expect("spawn rtforge")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_model(dir: &Path, name: &str, m: &rtforge::onnx::proto::ModelProto) -> String {
    let p = dir.join(name);
    std::fs::write(&p, tiny::bytes(m)).unwrap();
    p.to_str().unwrap().to_string()
}

/// `y = relu(x)` with x float32[N, 3]: N has no value until --shapes gives one.
fn symbolic_relu() -> rtforge::onnx::proto::ModelProto {
    tiny::model(
        vec![tiny::node("Relu", "relu0", &["x"], &["y"])],
        vec![],
        vec![tiny::value("x", 1, &["N", "3"])],
        vec![tiny::value("y", 1, &["N", "3"])],
    )
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).expect("valid JSON")
}

const SHORT: [&str; 6] = ["--iterations", "5", "--duration", "0", "--warm-up", "0"];

#[test]
fn bench_prints_trtexec_summary_and_writes_report_and_times() {
    let d = tmp_dir("cli_bench_summary");
    let m = write_model(&d, "add.onnx", &tiny::add_model());
    let (report, times) = (d.join("r.json"), d.join("times.json"));
    let mut args = vec![
        "bench",
        "--onnx",
        &m,
        "--threads",
        "1",
        "--percentile",
        "50,99",
    ];
    args.extend(SHORT);
    args.extend([
        "--report",
        report.to_str().unwrap(),
        "--export-times",
        times.to_str().unwrap(),
    ]);
    let o = rtforge(&args);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for line in [
        "Inputs (seeded random, seed 0): 'x' float32[2, 3]",
        "Warmup completed 0 queries",
        "Timing trace has 5 queries",
        "=== Performance summary ===",
        "Throughput: ",
        "Latency: min = ",
        "percentile(50%) = ",
        "percentile(99%) = ",
        "Enqueue Time: min = ",
        "H2D Latency: not applicable (the cpu backend has no host-to-device copy)",
        "GPU Compute Time: not applicable (the cpu backend computes on the host: see Latency)",
        "D2H Latency: not applicable (the cpu backend has no device-to-host copy)",
        "Total Host Walltime: ",
        "Total GPU Compute Time: not applicable",
        // At the default -O3 the optimized graph is checked against the graph as imported.
        "Output check vs cpu fp32 -O0: passed (max relative error 0.00e0",
        "=== Speedup (median latency; 1 CPU thread(s)) ===",
    ] {
        assert!(t.contains(line), "missing {line:?} in:\n{t}");
    }
    assert!(
        !t.contains("percentile(90%)"),
        "only the asked percentiles are printed:\n{t}"
    );

    let j = read_json(&report);
    assert_eq!(j["model"], m.as_str());
    assert_eq!(j["threads"], 1);
    let r = &j["results"][0];
    assert_eq!(j["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (r["backend"].as_str(), r["precision"].as_str()),
        (Some("cpu"), Some("fp32"))
    );
    // x is float32[2, 3]: its first dim is the batch.
    assert_eq!(
        (
            r["batch"].as_u64(),
            r["threads"].as_u64(),
            r["queries"].as_u64()
        ),
        (Some(2), Some(1), Some(5))
    );
    let lat = &r["latency_ms"];
    let v = |k: &str| {
        lat[k]
            .as_f64()
            .unwrap_or_else(|| panic!("latency_ms.{k} in {lat}"))
    };
    for k in ["mean", "p50", "p90", "p95", "p99"] {
        assert!(v("min") <= v(k) && v(k) <= v("max"), "{k}: {lat}");
    }
    assert!(
        v("min") > 0.0 && r["throughput_qps"].as_f64().is_some_and(|q| q > 0.0),
        "{r}"
    );
    assert!(
        r["peak_memory_bytes"].is_null() || r["peak_memory_bytes"].is_u64(),
        "{r}"
    );
    assert!(
        r["h2d_ms"].is_null() && r["compute_ms"].is_null() && r["d2h_ms"].is_null(),
        "{r}"
    );
    assert_eq!(r["check"]["status"], "passed");
    assert_eq!(r["check"]["max_error"], 0.0);
    assert_eq!(j["speedups"][0]["speedup_vs_cpu_fp32"], 1.0);

    let times = read_json(&times);
    let rows = times.as_array().expect("an array of queries");
    assert_eq!(rows.len(), 5);
    let mut last_end = 0.0;
    for q in rows {
        let f = |k: &str| q[k].as_f64().unwrap_or_else(|| panic!("{k} in {q}"));
        assert!(
            (f("endEnqMs") - f("startEnqMs") - f("enqueueMs")).abs() < 1e-9,
            "{q}"
        );
        assert!(
            (f("latencyMs") - (f("endHostMs") - f("startHostMs"))).abs() < 1e-9,
            "{q}"
        );
        assert!(f("startEnqMs") >= last_end, "queries run back to back: {q}");
        last_end = f("endEnqMs");
        for k in ["computeMs", "h2dMs", "d2hMs", "startComputeMs", "endD2hMs"] {
            assert!(q[k].is_null(), "{k} must be null on the cpu backend: {q}");
        }
    }
}

#[test]
fn bench_markdown_report_has_the_table_and_a_chart_beside_it() {
    let d = tmp_dir("cli_bench_md");
    let m = write_model(&d, "add.onnx", &tiny::add_model());
    let md = d.join("report.md");
    // trtexec's spellings: --warmUp, --exportTimes.
    let times = d.join("t.json");
    let o = rtforge(&[
        "bench",
        "--onnx",
        &m,
        "--iterations",
        "3",
        "--duration",
        "0",
        "--warmUp",
        "0",
        "--threads",
        "1",
        "-O",
        "0",
        "--report",
        md.to_str().unwrap(),
        "--exportTimes",
        times.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("Output check: skipped (this run is the cpu fp32 -O0 reference itself"),
        "{t}"
    );
    let text_md = std::fs::read_to_string(&md).unwrap();
    assert!(
        text_md.contains("| cpu | fp32 | 2 |") && text_md.contains("1.00×"),
        "{text_md}"
    );
    assert!(
        text_md.contains("![median latency per run, ms](report.svg)"),
        "{text_md}"
    );
    assert!(
        text_md.contains("| H2D Latency | not applicable: no host-to-device copy |"),
        "{text_md}"
    );
    assert!(text_md.contains("- Output check: skipped"), "{text_md}");
    let svg = std::fs::read_to_string(d.join("report.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("cpu fp32 b2"),
        "{svg}"
    );
    assert_eq!(read_json(&times).as_array().map(Vec::len), Some(3));
}

#[test]
fn bench_needs_shapes_for_free_dims_and_says_so() {
    let d = tmp_dir("cli_bench_shapes");
    let m = write_model(&d, "sym.onnx", &symbolic_relu());
    let mut args = vec!["bench", "--onnx", &m];
    args.extend(SHORT);
    let o = rtforge(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("input 'x' float32[N, 3] has the free dimension 'N'")
            && t.contains("--shapes x:1x3"),
        "{t}"
    );

    let report = d.join("r.json");
    args.extend(["--shapes", "x:4x3", "--report", report.to_str().unwrap()]);
    let o = rtforge(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(read_json(&report)["results"][0]["batch"], 4);

    let o = rtforge(&["bench", "--onnx", &m, "--shapes", "nope:1x3"]);
    assert!(
        !o.status.success() && text(&o).contains("'nope'"),
        "{}",
        text(&o)
    );
}

#[test]
fn bench_refuses_bad_options_before_running() {
    let d = tmp_dir("cli_bench_bad");
    let m = write_model(&d, "add.onnx", &tiny::add_model());
    // Exit status 1: rtforge's own checks; 2: clap's (a value out of an option's range).
    for (extra, needle, code) in [
        (vec!["--iterations", "0"], "--iterations", 1),
        (vec!["--percentile", "120"], "120", 1),
        (vec!["--report", "r.txt"], ".json or .md", 1),
        (vec!["--backend", "tpu"], "tpu", 1),
        (vec!["--batch", "4"], "--batch", 1),
        (vec!["-O", "4"], "4 is not in 0..=3", 2),
    ] {
        let mut args = vec!["bench", "--onnx", m.as_str()];
        args.extend(extra);
        let o = rtforge(&args);
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        assert!(text(&o).contains(needle), "{needle}: {}", text(&o));
    }
}

/// `--fp16` adds an FP16 run of every backend with FP16 kernels, checked against the FP32
/// reference at the FP16 tolerance; `--streams 2` queries from two sessions at once and the report
/// says so; the speedup table points at where the baseline is measured against onnxruntime.
#[test]
fn bench_fp16_runs_and_streams_are_reported() {
    let d = tmp_dir("cli_bench_fp16_streams");
    let m = write_model(&d, "add.onnx", &tiny::add_model());
    let report = d.join("r.json");
    let mut args = vec![
        "bench",
        "--onnx",
        &m,
        "--threads",
        "1",
        "--fp16",
        "--streams",
        "2",
        "--report",
    ];
    args.push(report.to_str().unwrap());
    args.extend(SHORT);
    let o = rtforge(&args);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for line in [
        "on cpu fp32, cpu fp16;",
        "Run: cpu fp16, batch 2, 1 CPU thread(s), 2 stream(s)",
        "Output check vs cpu fp32 -O0: passed",
        "tolerance 1e-2",
        "docs/performance.md",
    ] {
        assert!(t.contains(line), "missing {line:?} in:\n{t}");
    }
    let j = read_json(&report);
    let runs: Vec<(String, u64)> = j["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["precision"].as_str().unwrap().to_string(),
                r["streams"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(runs, [("fp32".to_string(), 2), ("fp16".to_string(), 2)]);
    assert!(j["speedups"][1]["speedup_vs_cpu_fp32"].as_f64().unwrap() > 0.0);

    let o = rtforge(&["bench", "--onnx", &m, "--streams", "0"]);
    assert!(!o.status.success() && text(&o).contains("--streams must be at least 1"));
}
