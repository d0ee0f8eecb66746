//! `rtforge build` as a user runs it: trtexec's spellings, the default output path, plans accepted by
//! `run` and `inspect` (recognized by content, not extension), and options that contradict the model
//! refused with errors that say what the model has.

mod common;

use common::tiny;
use rtforge::onnx::tensor_proto::to_proto;
use rtforge::Tensor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rtforge_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtforge"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn rtforge")
}

fn rtforge(args: &[&str]) -> Output {
    rtforge_in(Path::new(env!("CARGO_TARGET_TMPDIR")), args)
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

/// `y = x + w`, x float32[2, 3] (all dims fixed).
fn add_model(dir: &Path) -> String {
    let p = dir.join("add.onnx");
    std::fs::write(&p, tiny::bytes(&tiny::add_model())).unwrap();
    p.display().to_string()
}

/// `y = x + w`, x float32[N, 3], w = [1, 2, 3].
fn batch_model(dir: &Path) -> String {
    let w = to_proto(
        "w",
        &Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap(),
    );
    let m = tiny::model(
        vec![tiny::node("Add", "add0", &["x", "w"], &["y"])],
        vec![w],
        vec![tiny::value("x", 1, &["N", "3"])],
        vec![tiny::value("y", 1, &["N", "3"])],
    );
    let p = dir.join("batch.onnx");
    std::fs::write(&p, tiny::bytes(&m)).unwrap();
    p.display().to_string()
}

#[test]
fn build_then_run_and_inspect_the_plan() {
    let d = tmp_dir("build_cli_add");
    let m = add_model(&d);
    // Saved under an .onnx name on purpose: plans are recognized by their magic bytes.
    let plan = d.join("add-plan.onnx").display().to_string();
    let o = rtforge(&[
        "build",
        "--onnx",
        &m,
        "--saveEngine",
        &plan,
        "-O",
        "0",
        "--threads",
        "2",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains(&format!("built {plan} from {m}")), "{t}");
    assert!(
        t.contains("backend cpu, fp32, -O0") && t.contains("nodes: 1 -> 1"),
        "{t}"
    );
    assert!(t.contains("passes (changes): none at -O0"), "{t}");

    let o = rtforge(&["run", &plan, "--input", "x=[[1,1,1],[2,2,2]]", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["backend"], "cpu");
    assert_eq!(
        j["outputs"][0]["first"],
        serde_json::json!([2.0, 3.0, 4.0, 6.0, 7.0, 8.0])
    );

    let o = rtforge(&["inspect", &plan]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("x: float32[2, 3]") && t.contains("backend: cpu   precision: fp32"),
        "{t}"
    );
    assert!(
        t.contains(&format!("built from: {m}   -O0   threads: 2")),
        "{t}"
    );
    assert!(t.contains("profiles: none"), "{t}");
    let o = rtforge(&["inspect", &plan, "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["plan"]["fingerprint"]["backend"], "cpu");
    assert_eq!(j["plan"]["fingerprint"]["rtforge"], rtforge::VERSION);
    assert_eq!(j["plan"]["precision"], "fp32");
    assert_eq!(j["plan"]["build"]["opt_level"], 0);
    assert_eq!(j["parameter_bytes"], 24);

    // A plan for a backend this build does not have.
    let o = rtforge(&["run", &plan, "--backend", "tpu", "--random-inputs"]);
    assert!(
        text(&o).contains("this plan was built for backend 'cpu', not 'tpu'"),
        "{}",
        text(&o)
    );
}

#[test]
fn default_output_goes_to_engines() {
    let d = tmp_dir("build_cli_default");
    add_model(&d);
    let o = rtforge_in(&d, &["build", "--onnx", "add.onnx", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["plan"], "engines/add.plan");
    let size = std::fs::metadata(d.join("engines/add.plan"))
        .expect("plan written")
        .len();
    assert_eq!(j["bytes"], size);
    assert_eq!(j["opt_level"], 3);
}

#[test]
fn a_range_profile_is_kept_and_enforced() {
    let d = tmp_dir("build_cli_range");
    let m = batch_model(&d);
    let plan = d.join("batch.plan").display().to_string();
    let o = rtforge(&[
        "build",
        "--onnx",
        &m,
        "--save-engine",
        &plan,
        "--minShapes",
        "x:1x3",
        "--optShapes",
        "x:2x3",
        "--maxShapes",
        "x:4x3",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("profile: x min 1x3 opt 2x3 max 4x3"), "{t}");
    let o = rtforge(&["inspect", &plan]);
    assert!(
        text(&o).contains("x: min 1x3  opt 2x3  max 4x3"),
        "{}",
        text(&o)
    );
    let o = rtforge(&["run", &plan, "--random-inputs", "--shapes", "x:4x3"]);
    assert!(o.status.success(), "{}", text(&o));
    // Without --shapes, random inputs take the profile's opt shape.
    let o = rtforge(&["run", &plan, "--random-inputs", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["outputs"][0]["shape"], serde_json::json!([2, 3]));
    let o = rtforge(&["run", &plan, "--random-inputs", "--shapes", "x:16x3"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let want =
        "input 'x' dim 0 is 16, the plan's profile allows 1..4; rebuild with --max-shapes x:16x3";
    assert!(t.contains(want), "{t}");
}

#[test]
fn fixed_shapes_are_bound_into_the_plan() {
    let d = tmp_dir("build_cli_fixed");
    let m = batch_model(&d);
    let plan = d.join("fixed.plan").display().to_string();
    let o = rtforge(&[
        "build",
        "--onnx",
        &m,
        "--save-engine",
        &plan,
        "--shapes",
        "x:2x3",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("shape bound: x = 2x3"), "{t}");
    let o = rtforge(&["inspect", &plan, "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["inputs"][0]["shape"], serde_json::json!([2, 3]));
    assert_eq!(j["outputs"][0]["shape"], serde_json::json!([2, 3]));
    assert_eq!(
        j["plan"]["profiles"][0]["inputs"][0]["max"],
        serde_json::json!([2, 3])
    );
}

#[test]
fn options_that_contradict_the_model_are_errors() {
    let d = tmp_dir("build_cli_bad");
    let m = batch_model(&d);
    let out = d.join("never.plan").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--shapes", "images:1x3"],
            "the shape profile names 'images', which is not an input; the model needs: 'x' float32[N, 3]",
        ),
        (&["--shapes", "x:1x3x1"], "input 'x' is float32[N, 3] (rank 2), but the profile gives rank 3 (1x3x1)"),
        (&["--shapes", "x:1x4"], "input 'x' dim 1 is fixed at 3 by the model (float32[N, 3])"),
        (&["--min-shapes", "x:4x3", "--opt-shapes", "x:2x3", "--max-shapes", "x:8x3"], "got min 4, opt 2, max 8"),
        (&["--max-shapes", "x:8x3"], "input 'x' has no --min-shapes"),
        (&["--shapes", "x:2x3", "--min-shapes", "x:1x3", "--max-shapes", "x:4x3"], "give one fixed shape or a range"),
        (&["--shapes", "x:2xB"], "--shapes 'x:2xB': 'B' is not a dimension"),
        (&["--backend", "tpu"], "unknown backend 'tpu'"),
        (&["--threads", "0"], "--threads must be at least 1"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["build", "--onnx", m.as_str(), "--save-engine", out.as_str()];
        args.extend_from_slice(extra);
        let o = rtforge(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {t}");
        assert!(
            t.starts_with("error:") && t.contains(want),
            "{extra:?}: {t}"
        );
    }
    assert!(!Path::new(&out).exists(), "a refused build wrote a plan");
    let o = rtforge(&["build", "--onnx", &m, "-O", "4"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_plan_is_not_a_build_input_and_damage_is_reported() {
    let d = tmp_dir("build_cli_damage");
    let m = add_model(&d);
    let plan = d.join("p.plan").display().to_string();
    assert!(rtforge(&["build", "--onnx", &m, "--save-engine", &plan])
        .status
        .success());
    let o = rtforge(&["build", "--onnx", &plan]);
    let t = text(&o);
    assert!(
        t.contains("is already a plan") && t.contains(&format!("rtforge build --onnx {m}")),
        "{t}"
    );

    let bytes = std::fs::read(&plan).unwrap();
    std::fs::write(&plan, &bytes[..bytes.len() - 3]).unwrap();
    for cmd in ["inspect", "run"] {
        let o = rtforge(&[cmd, &plan]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        let rebuild = "rtforge build --onnx MODEL --save-engine";
        assert!(
            t.contains(&format!("{plan}: truncated")) && t.contains(rebuild),
            "{t}"
        );
    }
}

#[test]
fn zoo_models_build_by_name() {
    let d = tmp_dir("build_cli_zoo");
    let o = rtforge_in(&d, &["build", "--onnx", "zoo:mobilenetv2", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["plan"], "engines/mobilenetv2.plan");
    assert_eq!(j["model"], "zoo:mobilenetv2");
    let (before, after) = (
        j["nodes_before"].as_u64().unwrap(),
        j["nodes_after"].as_u64().unwrap(),
    );
    assert!(after > 50 && after <= before, "nodes {before} -> {after}");
    assert_eq!(j["bound_inputs"], serde_json::json!([]));
    let o = rtforge_in(&d, &["inspect", "engines/mobilenetv2.plan"]);
    assert!(
        text(&o).contains("input: float32[1, 3, 224, 224]"),
        "{}",
        text(&o)
    );
}

#[test]
fn fp16_build_reports_its_accuracy_cost_and_runs() {
    let d = tmp_dir("build_cli_fp16");
    let m = batch_model(&d);
    let plan = d.join("half.plan").display().to_string();
    let o = rtforge(&[
        "build",
        "--onnx",
        &m,
        "--save-engine",
        &plan,
        "--fp16",
        "--shapes",
        "x:4x3",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("fp16: 1 nodes in f16, 0 kept in f32 by the policy, 1 weights stored as f16"),
        "{t}"
    );
    assert!(
        t.contains("fp16 accuracy vs fp32 (seeded inputs, fp16 run on cpu): 'y' relative L2"),
        "{t}"
    );
    let o = rtforge(&["inspect", &plan]);
    assert!(text(&o).contains("fp16"), "{}", text(&o));
    let o = rtforge(&[
        "run",
        &plan,
        "--input",
        "x=[[1,2,3],[0,0,0],[1,1,1],[2,2,2]]",
        "--json",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    // 1+1, 2+2, 3+3 are exact in f16.
    assert!(t.contains("2.0") && t.contains("6.0"), "{t}");
}
