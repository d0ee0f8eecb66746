//! The `rtforge` binary as a user runs it: inspect, run (npy and literal inputs, missing inputs,
//! output files), zoo export, and clear errors for bad files.

mod common;

use common::tiny;
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

fn add_model(dir: &Path) -> PathBuf {
    let p = dir.join("add.onnx");
    std::fs::write(&p, tiny::bytes(&tiny::add_model())).unwrap();
    p
}

#[test]
fn inspect_shows_inputs_outputs_and_ops() {
    let d = tmp_dir("cli_inspect");
    let m = add_model(&d);
    let o = rtforge(&["inspect", m.to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("x: float32[2, 3]") && t.contains("y: float32[2, 3]") && t.contains("Add"),
        "{t}"
    );
    assert!(t.contains("parameters: 6"), "{t}");
    let o = rtforge(&["inspect", m.to_str().unwrap(), "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["inputs"][0]["name"], "x");
    assert_eq!(j["inputs"][0]["shape"], serde_json::json!([2, 3]));
    assert_eq!(j["op_counts"]["Add"], 1);
    assert_eq!(j["parameter_bytes"], 24);
}

#[test]
fn run_with_literal_and_npy_inputs() {
    let d = tmp_dir("cli_run");
    let m = add_model(&d);
    let out = d.join("out");
    let o = rtforge(&[
        "run",
        m.to_str().unwrap(),
        "--input",
        "x=[[1,1,1],[2,2,2]]",
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let y = rtforge::tensor::read_npy(&out.join("y.npy")).unwrap();
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[2.0, 3.0, 4.0, 6.0, 7.0, 8.0]
    );

    // The saved output fed back as an .npy input.
    let o = rtforge(&[
        "run",
        m.to_str().unwrap(),
        "--input",
        &format!("x={}", out.join("y.npy").display()),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["outputs"][0]["name"], "y");
    assert_eq!(j["outputs"][0]["min"], 3.0);
    assert_eq!(j["outputs"][0]["max"], 14.0);
}

#[test]
fn run_without_inputs_lists_what_is_needed() {
    let d = tmp_dir("cli_missing");
    let m = add_model(&d);
    let o = rtforge(&["run", m.to_str().unwrap()]);
    let t = text(&o);
    assert!(!o.status.success());
    assert!(
        t.contains("missing input")
            && t.contains("'x' float32[2, 3]")
            && t.contains("--random-inputs"),
        "{t}"
    );
    let o = rtforge(&["run", m.to_str().unwrap(), "--random-inputs", "--seed", "3"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn run_rejects_wrong_npy() {
    let d = tmp_dir("cli_wrong_npy");
    let m = add_model(&d);
    let bad = d.join("bad.npy");
    rtforge::tensor::write_npy(
        &bad,
        &rtforge::Tensor::from_vec(vec![3], vec![1i32, 2, 3]).unwrap(),
    )
    .unwrap();
    let o = rtforge(&[
        "run",
        m.to_str().unwrap(),
        "--input",
        &format!("x={}", bad.display()),
    ]);
    let t = text(&o);
    assert!(!o.status.success());
    assert!(t.contains("'x'") && t.contains("int32"), "{t}");
    let o = rtforge(&["run", m.to_str().unwrap(), "--input", "nope=[1]"]);
    assert!(text(&o).contains("'nope'"), "{}", text(&o));
}

#[test]
fn bad_model_files_are_clear_errors() {
    let d = tmp_dir("cli_bad");
    let empty = d.join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let junk = d.join("junk.onnx");
    std::fs::write(
        &junk,
        b"\x08\x07\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage",
    )
    .unwrap();
    let full = tiny::bytes(&tiny::add_model());
    let cut = d.join("cut.onnx");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    for f in [&empty, &junk, &cut] {
        for cmd in ["inspect", "run"] {
            let o = rtforge(&[cmd, f.to_str().unwrap()]);
            let t = text(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} {}: {t}", f.display());
            assert!(
                t.contains(f.to_str().unwrap()) && t.starts_with("error:"),
                "{t}"
            );
        }
    }
    let o = rtforge(&["inspect", "does-not-exist.onnx"]);
    assert!(text(&o).contains("does-not-exist.onnx"));
}

#[test]
fn zoo_list_and_export() {
    let o = rtforge(&["zoo", "list"]);
    let t = text(&o);
    for name in ["resnet18", "resnet50", "mobilenetv2", "bert"] {
        assert!(t.contains(name), "{t}");
    }
    let d = tmp_dir("cli_zoo");
    let f = d.join("r18.onnx");
    let o = rtforge(&["zoo", "export", "resnet18", "-o", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = rtforge(&["inspect", f.to_str().unwrap(), "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["inputs"][0]["shape"], serde_json::json!([1, 3, 224, 224]));
    assert_eq!(j["op_counts"]["Conv"], 20);
    let o = rtforge(&["zoo", "export", "nosuchnet", "-o", f.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).contains("resnet50"),
        "{}",
        text(&o)
    );
}
