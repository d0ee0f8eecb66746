//! NVRTC compiles every CUDA kernel of the cuda backend for sm_80 and sm_90. Needs no GPU: NVRTC
//! and the CUDA headers come from the pinned PyPI wheels that `scripts/setup-cuda.sh` installs into
//! `.venv` (or from `RTFORGE_CUDA_INCLUDE` / `RTFORGE_CUDA_LIB` / a CUDA toolkit). When NVRTC is
//! not there at all the test says so loudly and skips; `scripts/test.sh` installs it, so in CI it
//! runs.
#![cfg(feature = "cuda")]

mod common;

use common::tiny;
use rtforge::backend::cuda::arch::CI_ARCHES;
use rtforge::backend::cuda::nvrtc::{compile_all, entry_params, kernel_names, KERNEL_FILES};
use rtforge::backend::cuda::toolkit::SearchPath;
use std::path::Path;

/// The environment's search path, plus this checkout's `.venv` (tests run from the package root,
/// but say so explicitly).
fn search_path() -> SearchPath {
    let mut s = SearchPath::from_env();
    s.add_python_prefix(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    s
}

#[test]
fn every_kernel_compiles_for_ci_arches() {
    let search = search_path();
    if search.find_nvrtc().is_none()
        && rtforge::backend::cuda::toolkit::load_nvrtc(&search).is_err()
    {
        eprintln!(
            "\n*** SKIPPED: NVRTC not found, no CUDA kernel was compiled. Run scripts/setup-cuda.sh \
             (scripts/test.sh does). {}\n",
            search.describe()
        );
        return;
    }
    for arch in CI_ARCHES {
        let t = std::time::Instant::now();
        let modules = compile_all(arch, &search).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(modules.len(), KERNEL_FILES.len());
        for m in &modules {
            assert!(
                m.ptx.contains(&format!(".target {arch}")),
                "{}: PTX for the wrong target",
                m.name
            );
            assert!(m.ptx.contains(".entry"), "{}: no kernel entry", m.name);
            // The engine loads every kernel the source lists; each must be in the PTX.
            let file = KERNEL_FILES.iter().find(|f| f.name == m.name).unwrap();
            let entries = entry_params(&m.ptx);
            let names = kernel_names(file);
            for n in &names {
                assert!(entries.contains_key(n), "{}: {n} is not in the PTX", m.name);
            }
            assert_eq!(names.len(), entries.len(), "{}: unlisted kernels", m.name);
        }
        eprintln!(
            "nvrtc: {} kernel files compiled for {arch} in {:.1} s",
            modules.len(),
            t.elapsed().as_secs_f64()
        );
    }
}

/// `rtforge build --backend cuda --arch sm_80` on a machine without a GPU: the plan carries every
/// kernel as PTX for that architecture, says what could not be checked, and `inspect` shows it;
/// running it here is refused with the reason. With a GPU the same plan is built and checked on it.
#[test]
fn a_cuda_plan_builds_for_an_arch_without_a_gpu() {
    let search = search_path();
    if rtforge::backend::cuda::toolkit::load_nvrtc(&search).is_err() {
        eprintln!(
            "\n*** SKIPPED: NVRTC not found: no CUDA plan was built. {}\n",
            search.describe()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtforge-cuda-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("mnv2.plan");
    let rtforge = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rtforge"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = rtforge(&[
        "build",
        "--onnx",
        "zoo:mobilenetv2",
        "--backend",
        "cuda",
        "--arch",
        "sm_80",
        "--no-tf32",
        "--save-engine",
        plan_path.to_str().unwrap(),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("kernels: compute capability 8.0"), "{text}");
    let gpu = rtforge::backend::cuda::probe::probe();
    if let Err(why) = &gpu {
        assert!(
            text.contains("not checked here: no GPU here") && text.contains(why.as_str()),
            "{text}"
        );
    }

    let plan = rtforge::plan::Plan::load(&plan_path).unwrap();
    assert_eq!(plan.fingerprint.backend, "cuda");
    assert_eq!(plan.fingerprint.compute_capability.as_deref(), Some("8.0"));
    assert!(plan.build.no_tf32 && plan.build.arch.as_deref() == Some("sm_80"));
    assert!(plan
        .rebuild_command("x.plan")
        .ends_with("--no-tf32 --arch sm_80"));
    let modules = rtforge::backend::cuda::nvrtc::from_payloads(&plan.payloads)
        .unwrap()
        .expect("the plan carries its kernels");
    assert_eq!(modules.len(), KERNEL_FILES.len());
    assert!(modules.iter().all(|m| m.ptx.contains(".target sm_80")));

    let inspect = rtforge(&["inspect", plan_path.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        inspect.status.success() && shown.contains("cuda.ptx.sm_80."),
        "{shown}"
    );

    let bench = rtforge(&[
        "bench",
        "--engine",
        plan_path.to_str().unwrap(),
        "--warm-up",
        "0",
        "--duration",
        "0",
        "--iterations",
        "1",
    ]);
    let said = String::from_utf8_lossy(&bench.stderr);
    match gpu {
        Ok(_) => assert!(bench.status.success(), "{said}"),
        Err(why) => assert!(!bench.status.success() && said.contains(&why), "{said}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `y = sin(CumSum(2 · x, axis 1))`, x float32[2, 3, 4]: CumSum has no CUDA kernel.
fn cumsum_model(dir: &Path) -> String {
    let to_proto = rtforge::onnx::tensor_proto::to_proto;
    let two = to_proto("two", &rtforge::Tensor::scalar(2.0f32));
    let axis = to_proto("axis", &rtforge::Tensor::scalar(1i64));
    let m = tiny::model(
        vec![
            tiny::node("Mul", "double", &["x", "two"], &["d"]),
            tiny::node("CumSum", "cumsum", &["d", "axis"], &["c"]),
            tiny::node("Sin", "sin", &["c"], &["y"]),
        ],
        vec![two, axis],
        vec![tiny::value("x", 1, &["2", "3", "4"])],
        vec![tiny::value("y", 1, &["2", "3", "4"])],
    );
    let p = dir.join("cumsum.onnx");
    std::fs::write(&p, tiny::bytes(&m)).unwrap();
    p.display().to_string()
}

/// `rtforge build --backend cuda --arch sm_80` of a model with a node the GPU has no kernel for:
/// refused naming the node, built with `--allow-cpu-fallback`, whose summary and `inspect` list
/// the node and the tensors copied each way; the plan keeps the option for its sessions.
#[test]
fn a_cuda_plan_with_cpu_fallback_lists_the_host_nodes() {
    let search = search_path();
    if rtforge::backend::cuda::toolkit::load_nvrtc(&search).is_err() {
        eprintln!("\n*** SKIPPED: NVRTC not found. {}\n", search.describe());
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtforge-cuda-fallback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = cumsum_model(&dir);
    let plan_path = dir.join("cumsum.plan");
    let plan_arg = plan_path.to_str().unwrap();
    let rtforge = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtforge"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let build = [
        "build",
        "--onnx",
        &model,
        "--backend",
        "cuda",
        "--arch",
        "sm_80",
    ];
    let (ok, text) = rtforge(&[&build[..], &["--save-engine", plan_arg]].concat());
    assert!(!ok && text.contains("node 'cumsum' (CumSum)"), "{text}");

    let (ok, text) = rtforge(
        &[
            &build[..],
            &["--allow-cpu-fallback", "--save-engine", plan_arg],
        ]
        .concat(),
    );
    assert!(ok, "{text}");
    let listed = "cumsum (CumSum): to host d float32[2, 3, 4]; to device c float32[2, 3, 4]";
    assert!(
        text.contains("cpu fallback: 1 node(s) run on the CPU") && text.contains(listed),
        "{text}"
    );
    let plan = rtforge::plan::Plan::load(&plan_path).unwrap();
    assert!(plan.build.allow_cpu_fallback);
    assert!(plan
        .rebuild_command("x.plan")
        .ends_with("--arch sm_80 --allow-cpu-fallback"));

    let (ok, shown) = rtforge(&["inspect", plan_arg]);
    assert!(ok && shown.contains(listed), "{shown}");
    let (ok, shown) = rtforge(&["inspect", plan_arg, "--json"]);
    assert!(ok, "{shown}");
    let j: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let node = &j["plan"]["cpu_fallback"][0];
    assert_eq!(node["name"], "cumsum");
    assert_eq!(node["to_host"][0]["type"], "float32[2, 3, 4]");
    assert_eq!(node["to_device"][0]["name"], "c");

    // With a GPU the plan runs, the CUDA graph option falling back to direct launches.
    if rtforge::backend::cuda::probe::probe().is_ok() {
        let (ok, said) = rtforge(&[
            "bench",
            "--engine",
            plan_arg,
            "--use-cuda-graph",
            "--warm-up",
            "0",
            "--duration",
            "0",
            "--iterations",
            "2",
        ]);
        assert!(ok && said.contains("the CUDA graph is not used"), "{said}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
