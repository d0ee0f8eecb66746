//! The CUDA backend against the CPU backend on a real GPU: every op family (one-node graphs,
//! FP32 with TF32 off, and FP16), every zoo model and every real-weight model present (FP32 proper:
//! relative L2 ≤ 1e-3; with TF32 and in FP16: ≤ 1e-2, see `TF32_TOL` and `gpu_cases::tolerance`),
//! CUDA graph replay, stage timing, concurrent sessions and the CPU fallback. Without a GPU
//! each test writes a visible "SKIPPED: no GPU: <reason>" line and returns. Each comparison writes
//! one `gpu-parity:` line, which `scripts/gpu-check.sh` collects into its summary.
#![cfg(feature = "cuda")]

mod gpu_cases;

use gpu_cases::{check_outputs, real_cases, tolerance, zoo_cases, Case};
use rtforge::backend::cuda::{probe, CudaBackend, CudaOptions};
use rtforge::backend::Engine;
use rtforge::Tensor;
use std::io::Write;
use std::sync::Arc;

/// Writes a line to the process's stderr directly, so the test harness does not capture it.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether a GPU is usable; otherwise says why, visibly, naming the test.
fn gpu(test: &str) -> bool {
    match probe::probe() {
        Ok(_) => true,
        Err(why) => {
            say(&format!("SKIPPED: no GPU: {why} [{test}]"));
            false
        }
    }
}

fn options(tf32: bool, cuda_graph: bool) -> CudaOptions {
    CudaOptions {
        tf32,
        cuda_graph,
        arch: None,
        allow_cpu_fallback: false,
    }
}

/// The CUDA engine's outputs for `c`.
fn run_cuda(c: &Case, opts: &CudaOptions) -> rtforge::Result<Vec<Tensor>> {
    let engine = CudaBackend.compile_engine(&c.model, opts, None)?;
    engine.run(c.ordered().into_iter().map(Arc::new).collect())
}

/// Compares `c` on the GPU with the CPU backend; the error says what differs.
fn parity(c: &Case, opts: &CudaOptions, fp32_tol: f64) -> Result<(), String> {
    let want = c
        .run_on("cpu")
        .map_err(|e| format!("{}: cpu: {e}", c.name))?;
    let got = run_cuda(c, opts).map_err(|e| format!("{}: cuda: {e}", c.name))?;
    let tol = tolerance(c, fp32_tol);
    let result = check_outputs(&c.name, &got, &want, tol);
    let (err, verdict) = match &result {
        Ok(e) => (format!("{e:.2e}"), "ok"),
        Err(_) => ("-".into(), "FAIL"),
    };
    say(&format!(
        "gpu-parity: {} | tf32 {} | rel L2 {err} | tol {tol:.0e} | {verdict}",
        c.name, opts.tf32
    ));
    result.map(|_| ())
}

fn all_pass(results: Vec<Result<(), String>>) {
    let failed: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn every_op_matches_the_cpu() {
    if !gpu("every_op_matches_the_cpu") {
        return;
    }
    let opts = options(false, false);
    all_pass(
        gpu_cases::ops::op_cases()
            .iter()
            .map(|c| parity(c, &opts, 1e-4))
            .collect(),
    );
}

/// TF32 keeps FP16's 10-bit mantissa for the GEMM operands, so a TF32 run is held to the FP16
/// bound; FP32 proper (TF32 off) to the FP32 one. On an H100, TF32 put PP-OCRv4 det 8.2e-3 from
/// the CPU and TF32 off 5.6e-6: the format's error, not the kernels'.
const TF32_TOL: f64 = 1e-2;

/// `c` in FP32 proper at 1e-3, then with TF32 at [`TF32_TOL`].
fn fp32_and_tf32(c: &Case) -> Vec<Result<(), String>> {
    vec![
        parity(c, &options(false, false), 1e-3),
        parity(c, &options(true, false), TF32_TOL),
    ]
}

#[test]
fn zoo_models_match_the_cpu_in_fp32_and_tf32() {
    if !gpu("zoo_models_match_the_cpu_in_fp32_and_tf32") {
        return;
    }
    all_pass(zoo_cases(false).iter().flat_map(fp32_and_tf32).collect());
}

#[test]
fn zoo_models_match_the_cpu_in_fp16() {
    if !gpu("zoo_models_match_the_cpu_in_fp16") {
        return;
    }
    let opts = options(true, false);
    all_pass(
        zoo_cases(true)
            .iter()
            .map(|c| parity(c, &opts, 1e-3))
            .collect(),
    );
}

#[test]
fn real_weight_models_match_the_cpu() {
    if !gpu("real_weight_models_match_the_cpu") {
        return;
    }
    let (cases, missing) = real_cases(false);
    if !missing.is_empty() {
        say(&format!(
            "SKIPPED real-weight models not present: {}",
            missing.join(", ")
        ));
    }
    let mut results = vec![];
    for c in &cases {
        match rtforge::backend::cuda::lower::support::check(&c.model.graph) {
            Ok(()) => results.extend(fp32_and_tf32(c)),
            Err(e) => {
                let e = e.to_string().replace('\n', " ");
                say(&format!("gpu-parity: {} | not on the GPU: {e}", c.name));
                results.push(Err(format!("{}: not on the GPU: {e}", c.name)));
            }
        }
    }
    all_pass(results);
}

#[test]
fn cuda_graph_replays_match_direct_runs() {
    if !gpu("cuda_graph_replays_match_direct_runs") {
        return;
    }
    let c = gpu_cases::zoo_case("resnet18", 2, false);
    let direct = CudaBackend
        .compile_engine(&c.model, &options(true, false), None)
        .unwrap();
    let graph = CudaBackend
        .compile_engine(&c.model, &options(true, true), None)
        .unwrap();
    for seed in 0..3u64 {
        // New inputs each time: a replay must read what was copied in, not what was captured.
        let x =
            rtforge::tensor::random::random_tensor(rtforge::DType::F32, &[2, 3, 224, 224], seed)
                .unwrap();
        let a = direct.run(vec![Arc::new(x.clone())]).unwrap();
        let b = graph.run(vec![Arc::new(x)]).unwrap();
        assert_eq!(a, b, "replay {seed} differs from a direct run");
    }
}

#[test]
fn stage_times_and_concurrent_sessions() {
    if !gpu("stage_times_and_concurrent_sessions") {
        return;
    }
    let c = gpu_cases::zoo_case("mobilenetv2", 2, false);
    let engine = Arc::new(
        CudaBackend
            .compile_engine(&c.model, &CudaOptions::default(), None)
            .unwrap(),
    );
    let inputs: Vec<Arc<Tensor>> = c.ordered().into_iter().map(Arc::new).collect();
    let (want, times) = engine.run_timed(inputs.clone(), true).unwrap();
    let times = times.expect("the CUDA engine times its stages");
    assert!(
        times.h2d_ms > 0.0 && times.compute_ms > 0.0 && times.d2h_ms > 0.0,
        "{times:?}"
    );
    say(&format!("gpu-timing: mobilenetv2 batch 2: {times:?}"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (e, i) = (engine.clone(), inputs.clone());
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| e.run(i.clone()).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for got in t.join().unwrap() {
            assert_eq!(got, want, "a concurrent run differs");
        }
    }
    // Without transfers nothing comes back, the copies take no time, and the inputs left on the
    // device still give the same answer to the next query that does copy the outputs back.
    let (none, t) = engine.run_timed(inputs.clone(), false).unwrap();
    let t = t.expect("stage times");
    assert!(none.is_empty() && t.compute_ms > 0.0, "{t:?}");
    assert_eq!(engine.run(inputs.clone()).unwrap(), want);
    let (_, layers) = engine.run_profiled(inputs).unwrap();
    let layers = layers.expect("the CUDA engine times layers");
    assert!(!layers.is_empty() && layers.iter().all(|l| l.seconds >= 0.0));
}

#[test]
fn bench_says_why_cuda_is_unavailable_or_runs() {
    // The binary beside the carried test binary on a GPU machine (scripts/gpu-check.sh sets it);
    // cargo's own otherwise.
    let bin =
        std::env::var_os("RTFORGE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_rtforge").into());
    let out = std::process::Command::new(bin)
        .args(["bench", "--backend", "cuda", "--model", "zoo:resnet18"])
        .args(["--warm-up", "0", "--duration", "0", "--iterations", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match probe::probe() {
        Ok(_) => assert!(out.status.success(), "{stderr}"),
        Err(why) => {
            say(&format!(
                "SKIPPED: no GPU: {why} [bench_says_why_cuda_is_unavailable_or_runs: checked \
                 that bench reports it]"
            ));
            assert!(!out.status.success());
            assert!(
                stderr.contains("backend 'cuda': unavailable:") && stderr.contains(&why),
                "{stderr}"
            );
        }
    }
}

/// Nodes without a kernel run on the CPU between device steps with `--allow-cpu-fallback`, with
/// and without `--use-cuda-graph` (a graph captured for each run of device steps between the host
/// steps), twice each so the second query reuses the program and replays its graphs; without the
/// option the engine is refused.
#[test]
fn cpu_fallback_nodes_match_the_cpu() {
    if !gpu("cpu_fallback_nodes_match_the_cpu") {
        return;
    }
    let mut results = vec![];
    for (c, host_nodes) in gpu_cases::ops::fallback::cases() {
        let refused = CudaBackend
            .compile_engine(&c.model, &options(false, false), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains(host_nodes[0]), "{}: {refused}", c.name);
        for graph in [false, true] {
            let opts = CudaOptions {
                allow_cpu_fallback: true,
                ..options(false, graph)
            };
            results.push(parity(&c, &opts, 1e-5));
            let engine = CudaBackend.compile_engine(&c.model, &opts, None).unwrap();
            let inputs: Vec<Arc<Tensor>> = c.ordered().into_iter().map(Arc::new).collect();
            let first = engine.run(inputs.clone()).unwrap();
            let again = engine.run(inputs).unwrap();
            assert_eq!(first, again, "{}", c.name);
        }
    }
    all_pass(results);
}
