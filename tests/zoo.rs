//! The built-in zoo: every model is valid ONNX by the `onnx` package's own checker (full check,
//! with strict shape inference), imports into our IR with the declared shapes, is byte-for-byte
//! reproducible from its seed, and ResNet-18 on the CPU backend agrees with onnxruntime.
//!
//! Needs the Python environment of `scripts/setup-python.sh` (onnx, onnxruntime, numpy in `.venv`).

mod common;

use common::compare::relative_l2;
use rtforge::backend::CompileOptions;
use rtforge::ir::Dim;
use rtforge::zoo::{self, Rng, ZooOptions};
use rtforge::{Session, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The options each model is tested with: BERT cut to 2 layers of 16 tokens to stay quick.
fn test_options(name: &str) -> ZooOptions {
    match name {
        "bert" => ZooOptions {
            batch: 2,
            seq: 16,
            layers: Some(2),
            seed: 0,
        },
        _ => ZooOptions::default(),
    }
}

fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup-python.sh to create the Python environment",
        py.display()
    );
    py
}

/// A scratch file unique to this test process.
fn scratch(file: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtforge-zoo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir.join(file)
}

/// Runs a Python snippet with `args`; panics with its stderr when it fails.
fn run_python(code: &str, args: &[&Path]) {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("start python");
    assert!(
        out.status.success(),
        "python failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_with_onnx_checker(name: &str) {
    let path = scratch(&format!("{name}.onnx"));
    zoo::export(name, &test_options(name), &path).expect("export");
    run_python(
        "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
        &[&path],
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn resnet18_passes_the_onnx_checker() {
    check_with_onnx_checker("resnet18");
}

#[test]
fn resnet50_passes_the_onnx_checker() {
    check_with_onnx_checker("resnet50");
}

#[test]
fn mobilenetv2_passes_the_onnx_checker() {
    check_with_onnx_checker("mobilenetv2");
}

#[test]
fn bert_passes_the_onnx_checker() {
    check_with_onnx_checker("bert");
}

#[test]
fn every_listed_model_imports_with_its_declared_shapes() {
    let names: Vec<&str> = zoo::list().iter().map(|e| e.name).collect();
    assert_eq!(names, ["resnet18", "resnet50", "mobilenetv2", "bert"]);
    for name in names {
        let model = zoo::load(name, &test_options(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let g = &model.graph;
        let outs: Vec<(String, Option<Vec<Dim>>)> = g
            .outputs
            .iter()
            .map(|&v| (g.value(v).name.clone(), g.value(v).shape.clone()))
            .collect();
        let fixed = |d: &[usize]| Some(d.iter().map(|&x| Dim::Fixed(x)).collect::<Vec<_>>());
        if name == "bert" {
            assert_eq!(
                outs[0],
                ("last_hidden_state".to_string(), fixed(&[2, 16, 768]))
            );
            assert_eq!(outs[1], ("pooler_output".to_string(), fixed(&[2, 768])));
        } else {
            assert_eq!(outs, [("output".to_string(), fixed(&[1, 1000]))], "{name}");
        }
        assert_eq!(model.producer_name, "rtforge-zoo");
        assert_eq!(model.opsets.get(""), Some(&17));
    }
}

#[test]
fn weights_are_reproducible_from_the_seed() {
    let opts = ZooOptions::default();
    let a = zoo::to_bytes("resnet18", &opts).expect("build");
    let b = zoo::to_bytes("resnet18", &opts).expect("build");
    assert!(a == b, "two builds with seed 0 differ");

    let other = zoo::build(
        "resnet18",
        &ZooOptions {
            seed: 1,
            ..opts.clone()
        },
    )
    .expect("build");
    let base = zoo::build("resnet18", &opts).expect("build");
    let (g0, g1) = (base.graph.expect("graph"), other.graph.expect("graph"));
    // Same architecture, different values.
    assert_eq!(g0.node, g1.node);
    let weight = |g: &rtforge::onnx::proto::GraphProto| {
        g.initializer
            .iter()
            .find(|t| t.name.as_deref() == Some("conv1.weight"))
            .and_then(|t| t.raw_data.clone())
    };
    assert_ne!(weight(&g0), weight(&g1));
}

#[test]
fn unknown_model_is_an_error_naming_the_known_ones() {
    let e = zoo::build("alexnet", &ZooOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("alexnet") && e.contains("resnet50") && e.contains("bert"),
        "{e}"
    );
    let e = zoo::build(
        "bert",
        &ZooOptions {
            seq: 513,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("512"), "{e}");
}

/// ResNet-18, batch 1, on the CPU backend against onnxruntime on the same seeded input.
#[test]
fn resnet18_on_cpu_matches_onnxruntime() {
    let opts = ZooOptions::default();
    let model_path = scratch("resnet18-ort.onnx");
    let input_path = scratch("resnet18-input.npy");
    let ref_path = scratch("resnet18-ort-output.npy");
    zoo::export("resnet18", &opts, &model_path).expect("export");
    let mut x = vec![0f32; 3 * 224 * 224];
    Rng::new(42).fill_uniform(&mut x, -1.0, 1.0);
    let input = Tensor::from_vec(vec![1, 3, 224, 224], x).expect("input");
    rtforge::tensor::write_npy(&input_path, &input).expect("write input");
    run_python(
        "import sys, numpy as np, onnxruntime as ort\n\
         s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n\
         np.save(sys.argv[3], s.run(None, {'input': np.load(sys.argv[2])})[0])",
        &[&model_path, &input_path, &ref_path],
    );
    let want = rtforge::tensor::read_npy(&ref_path).expect("read reference");
    let want_v = want.to_f32_vec();
    // The logits must be worth comparing: finite, and spread out rather than collapsed.
    let mean = want_v.iter().sum::<f32>() / want_v.len() as f32;
    let std = (want_v.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / want_v.len() as f32).sqrt();
    assert!(
        want_v.iter().all(|v| v.is_finite()) && std > 0.05 && std < 100.0,
        "reference logits std {std}"
    );

    let model = zoo::load("resnet18", &opts).expect("load");
    let mut session = Session::new(&model, "cpu", &CompileOptions::default()).expect("compile");
    let outs = session
        .run(&HashMap::from([("input".to_string(), input)]))
        .expect("run");
    assert_eq!(outs[0].0, "output");
    let got = &outs[0].1;
    assert_eq!(got.shape(), [1, 1000]);
    let err = relative_l2(got, &want);
    assert!(err <= 1e-4, "relative L2 error {err:e} against onnxruntime");
    for p in [model_path, input_path, ref_path] {
        std::fs::remove_file(p).ok();
    }
}
