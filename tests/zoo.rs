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

/// A scratch folder unique to this test process and `tag` (tests run in parallel threads).
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("rtforge-zoo-test-{}", std::process::id()))
        .join(tag);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
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
    let dir = scratch(&format!("{name}-check"));
    let path = dir.join(format!("{name}.onnx"));
    zoo::export(name, &test_options(name), &path).expect("export");
    run_python(
        "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
        &[&path],
    );
    std::fs::remove_dir_all(&dir).ok();
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

/// Runs zoo model `name` on `feeds` on the CPU backend and in onnxruntime; returns, per output,
/// its name, the relative L2 error, and the reference tensor.
fn compare_with_onnxruntime(
    name: &str,
    opts: &ZooOptions,
    feeds: HashMap<String, Tensor>,
) -> Vec<(String, f64, Tensor)> {
    let dir = scratch(&format!("{name}-ort"));
    let model_path = dir.join(format!("{name}.onnx"));
    zoo::export(name, opts, &model_path).expect("export");
    let mut args = vec![model_path.clone()];
    for (k, t) in &feeds {
        let p = dir.join(format!("in-{k}.npy"));
        rtforge::tensor::write_npy(&p, t).expect("write input");
        args.push(PathBuf::from(format!("{k}={}", p.display())));
    }
    args.insert(1, dir.clone());
    let arg_refs: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    run_python(
        "import sys, os, numpy as np, onnxruntime as ort\n\
         s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n\
         feeds = {a.split('=', 1)[0]: np.load(a.split('=', 1)[1]) for a in sys.argv[3:]}\n\
         for o, v in zip(s.get_outputs(), s.run(None, feeds)): np.save(os.path.join(sys.argv[2], o.name + '.npy'), v)",
        &arg_refs,
    );

    let model = zoo::load(name, opts).expect("load");
    let mut session = Session::new(&model, "cpu", &CompileOptions::default()).expect("compile");
    let outs = session.run(&feeds).expect("run");
    let mut result = vec![];
    for (out_name, got) in outs {
        let want = rtforge::tensor::read_npy(&dir.join(format!("{out_name}.npy")))
            .expect("read reference");
        assert_eq!(got.shape(), want.shape(), "{name} output '{out_name}'");
        let err = relative_l2(&got, &want);
        eprintln!("{name} '{out_name}' vs onnxruntime: relative L2 {err:e}");
        result.push((out_name, err, want));
    }
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// Mean and standard deviation of a float tensor.
fn mean_std(t: &Tensor) -> (f32, f32) {
    let v = t.to_f32_vec();
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32;
    (mean, var.sqrt())
}

/// ResNet-18, batch 1, on the CPU backend against onnxruntime on the same seeded input.
#[test]
fn resnet18_on_cpu_matches_onnxruntime() {
    let mut x = vec![0f32; 3 * 224 * 224];
    Rng::new(42).fill_uniform(&mut x, -1.0, 1.0);
    let input = Tensor::from_vec(vec![1, 3, 224, 224], x).expect("input");
    let outs = compare_with_onnxruntime(
        "resnet18",
        &ZooOptions::default(),
        HashMap::from([("input".into(), input)]),
    );
    let (name, err, want) = &outs[0];
    assert_eq!(name, "output");
    assert_eq!(want.shape(), [1, 1000]);
    // The logits must be worth comparing: finite, and spread out rather than collapsed.
    let (_, std) = mean_std(want);
    assert!(
        std.is_finite() && std > 0.05 && std < 100.0,
        "reference logits std {std}"
    );
    assert!(
        *err <= 1e-4,
        "relative L2 error {err:e} against onnxruntime"
    );
}

/// A 2-layer BERT on 2 sequences of 16 tokens, the last 4 of the second one masked.
#[test]
fn small_bert_on_cpu_matches_onnxruntime() {
    let opts = test_options("bert");
    let (n, s) = (opts.batch, opts.seq);
    let mut rng = Rng::new(7);
    let ids: Vec<i64> = (0..n * s)
        .map(|_| (rng.next_u64() % 30522) as i64)
        .collect();
    let mask: Vec<i64> = (0..n * s)
        .map(|i| i64::from(i < s || i % s < s - 4))
        .collect();
    let types: Vec<i64> = (0..n * s).map(|i| i64::from(i % s >= s / 2)).collect();
    let t = |v: Vec<i64>| Tensor::from_vec(vec![n, s], v).expect("input");
    let feeds = HashMap::from([
        ("input_ids".to_string(), t(ids)),
        ("attention_mask".to_string(), t(mask)),
        ("token_type_ids".to_string(), t(types)),
    ]);
    let outs = compare_with_onnxruntime("bert", &opts, feeds);
    let names: Vec<&str> = outs.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(names, ["last_hidden_state", "pooler_output"]);
    for (name, err, want) in &outs {
        let (_, std) = mean_std(want);
        assert!(
            std.is_finite() && std > 0.05,
            "reference '{name}' std {std}"
        );
        assert!(
            *err <= 1e-4,
            "'{name}': relative L2 error {err:e} against onnxruntime"
        );
    }
}
