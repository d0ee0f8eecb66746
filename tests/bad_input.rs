//! Malformed models and inputs: each must give a clear error naming the file, node or tensor, and
//! never a panic, an abort or a huge allocation.

mod common;

use common::tiny::{self, node, value};
use rtforge::backend::CompileOptions;
use rtforge::onnx::{import_bytes, load_model, proto::TensorProto};
use rtforge::{Error, Session, Tensor};
use std::collections::HashMap;

fn load_err(bytes: &[u8]) -> String {
    match import_bytes(bytes, "bad.onnx", None) {
        Ok(_) => panic!("a malformed model loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_file_is_an_error() {
    let e = load_err(&[]);
    assert!(e.contains("bad.onnx") && e.contains("empty"), "{e}");
}

#[test]
fn truncated_model_is_an_error() {
    let bytes = tiny::bytes(&tiny::add_model());
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let e = load_err(&bytes[..cut]);
        assert!(e.contains("bad.onnx"), "cut {cut}: {e}");
    }
}

#[test]
fn random_bytes_are_an_error() {
    let mut x = 0x1234_5678_9abc_def0u64;
    for len in [7usize, 100, 4096] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let e = load_err(&bytes);
        assert!(e.contains("bad.onnx"), "{e}");
    }
}

#[test]
fn missing_file_names_the_path() {
    let e = load_model(std::path::Path::new("no/such/model.onnx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/model.onnx"), "{e}");
}

#[test]
fn initializer_size_must_match_dims() {
    let mut m = tiny::add_model();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.raw_data.as_mut().unwrap().truncate(20);
    let e = load_err(&tiny::bytes(&m));
    assert!(e.contains("'w'") && e.contains("20 bytes"), "{e}");
}

#[test]
fn overflowing_or_huge_dims_do_not_allocate() {
    for dims in [
        vec![1i64 << 40, 1 << 40],
        vec![1 << 20, 1 << 20, 1 << 10],
        vec![-3, 2],
    ] {
        let mut m = tiny::add_model();
        let w = &mut m.graph.as_mut().unwrap().initializer[0];
        *w = TensorProto {
            name: Some("w".into()),
            dims: dims.clone(),
            data_type: Some(1),
            ..Default::default()
        };
        let e = load_err(&tiny::bytes(&m));
        assert!(e.contains("'w'"), "{dims:?}: {e}");
    }
}

#[test]
fn huge_constant_of_shape_is_an_error_at_run_time() {
    let shape = rtforge::onnx::tensor_proto::to_proto(
        "s",
        &Tensor::from_vec(vec![3], vec![1i64 << 20, 1 << 20, 1 << 20]).unwrap(),
    );
    let m = tiny::model(
        vec![node("ConstantOfShape", "big", &["s"], &["y"])],
        vec![shape],
        vec![],
        vec![value("y", 1, &["?", "?", "?"])],
    );
    let model = import_bytes(&tiny::bytes(&m), "big.onnx", None).expect("loads");
    let mut s = Session::new(&model, "cpu", &CompileOptions::default()).unwrap();
    let e = s.run(&HashMap::new()).unwrap_err().to_string();
    assert!(e.contains("big") && e.contains("ConstantOfShape"), "{e}");
}

#[test]
fn graph_cycle_is_an_error() {
    let m = tiny::model(
        vec![
            node("Add", "a", &["x", "c"], &["b"]),
            node("Relu", "r", &["b"], &["c"]),
        ],
        vec![],
        vec![value("x", 1, &["2"])],
        vec![value("c", 1, &["2"])],
    );
    let e = load_err(&tiny::bytes(&m));
    assert!(
        e.contains("cycle") && (e.contains("'a'") || e.contains("'r'")),
        "{e}"
    );
}

#[test]
fn undefined_value_is_an_error() {
    let m = tiny::model(
        vec![node("Relu", "r", &["nowhere"], &["y"])],
        vec![],
        vec![],
        vec![value("y", 1, &["2"])],
    );
    let e = load_err(&tiny::bytes(&m));
    assert!(e.contains("nowhere"), "{e}");
}

#[test]
fn unsupported_ops_are_listed_together() {
    let m = tiny::model(
        vec![
            node("FancyOp", "f1", &["x"], &["a"]),
            node("OtherOp", "o1", &["a"], &["b"]),
            node("FancyOp", "f2", &["b"], &["y"]),
        ],
        vec![],
        vec![value("x", 1, &["2"])],
        vec![value("y", 1, &["2"])],
    );
    let err = import_bytes(&tiny::bytes(&m), "ops.onnx", None).unwrap_err();
    match &err {
        Error::UnsupportedOps { ops, .. } => {
            assert_eq!(ops.len(), 2);
            assert_eq!(
                (
                    ops[0].op_type.as_str(),
                    ops[0].first_node.as_str(),
                    ops[0].opset
                ),
                ("FancyOp", "f1", 17)
            );
            assert_eq!(ops[1].op_type, "OtherOp");
        }
        other => panic!("wrong error: {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("ops.onnx") && text.contains("FancyOp") && text.contains("OtherOp"),
        "{text}"
    );
}

#[test]
fn wrong_input_dtype_or_shape_names_the_tensor() {
    let model = import_bytes(&tiny::bytes(&tiny::add_model()), "add.onnx", None).unwrap();
    let mut s = Session::new(&model, "cpu", &CompileOptions::default()).unwrap();
    let mut feed = HashMap::new();
    feed.insert(
        "x".to_string(),
        Tensor::from_vec(vec![2, 3], vec![1i64; 6]).unwrap(),
    );
    let e = s.run(&feed).unwrap_err().to_string();
    assert!(
        e.contains("'x'") && e.contains("float32") && e.contains("int64"),
        "{e}"
    );
    feed.insert(
        "x".to_string(),
        Tensor::from_vec(vec![3, 2], vec![1.0f32; 6]).unwrap(),
    );
    let e = s.run(&feed).unwrap_err().to_string();
    assert!(e.contains("'x'") && e.contains("[3, 2]"), "{e}");
    let e = s.run(&HashMap::new()).unwrap_err().to_string();
    assert!(
        e.contains("missing") && e.contains("'x' float32[2, 3]"),
        "{e}"
    );
}

#[test]
fn add_model_runs() {
    let model = import_bytes(&tiny::bytes(&tiny::add_model()), "add.onnx", None).unwrap();
    let mut s = Session::new(&model, "cpu", &CompileOptions::default()).unwrap();
    let mut feed = HashMap::new();
    feed.insert(
        "x".to_string(),
        Tensor::from_vec(vec![2, 3], vec![10.0f32; 6]).unwrap(),
    );
    let out = s.run(&feed).unwrap();
    assert_eq!(
        out[0].1.as_slice::<f32>().unwrap(),
        &[11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    );
}
