//! Engine plans end to end. Every model of the real-model and zoo suites (tests/models.rs) is built,
//! saved, loaded back and run from the plan, and its outputs compared with onnxruntime's at the same
//! bound (relative L2 ≤ 1e-4). Damaged plans (truncated, bit-flipped, another format version, forged
//! lengths), plans for another backend or precision, and inputs outside a plan's shape profile are
//! clear errors that name the file and say how to rebuild. Missing reference data fails the test
//! with the command that makes it.

mod common;

use common::compare::{compare, relative_l2, Tolerance};
use common::model_refs::load_reference;
use common::tiny;
use rtforge::backend::CompileOptions;
use rtforge::ir::Dim;
use rtforge::onnx::load_model;
use rtforge::plan::{self, BuildRequest, InputProfile, Plan, Profile};
use rtforge::{Session, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The bound of tests/models.rs: the plan must not cost any accuracy.
const MAX_REL_L2: f64 = 1e-4;

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan-tests");
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d.join(name)
}

/// Whether a round trip builds with the reference inputs' shapes bound into the graph, or leaves
/// the model's symbolic dims as they are.
#[derive(Clone, Copy)]
enum Shapes {
    Free,
    Bound,
}

/// build → save → load → run for the model whose reference is `stem`, checked against onnxruntime.
fn round_trip(stem: &str, shapes: Shapes) {
    let reference = load_reference(stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let model = load_model(&reference.model).unwrap_or_else(|e| panic!("{stem}: load: {e}"));
    let mut req = BuildRequest::new(&reference.model.display().to_string(), "cpu");
    if let Shapes::Bound = shapes {
        let inputs = reference
            .inputs
            .iter()
            .map(|(n, t)| InputProfile::fixed(n, t.shape().to_vec()))
            .collect();
        req.profile = Profile { inputs };
    }
    let (built, report) = plan::build(model, &req).unwrap_or_else(|e| panic!("{stem}: build: {e}"));
    if let Shapes::Bound = shapes {
        assert_eq!(report.bound_inputs.len(), reference.inputs.len(), "{stem}");
        for (name, t) in &reference.inputs {
            let g = &built.model.graph;
            let v = g
                .inputs
                .iter()
                .find(|&&v| g.value(v).name == *name)
                .expect("input");
            let want: Vec<Dim> = t.shape().iter().map(|&d| Dim::Fixed(d)).collect();
            assert_eq!(
                g.value(*v).shape.as_ref(),
                Some(&want),
                "{stem}: input '{name}' not bound"
            );
        }
    }
    let path = scratch(&format!("{stem}.plan"));
    let size = built
        .save(&path)
        .unwrap_or_else(|e| panic!("{stem}: save: {e}"));
    assert_eq!(size, std::fs::metadata(&path).expect("plan file").len());
    let (params, bytes) = built.model.parameters();
    assert!(
        size >= bytes as u64,
        "{stem}: a {size}-byte plan cannot hold {bytes} bytes of weights"
    );

    let loaded = Plan::load(&path).unwrap_or_else(|e| panic!("{stem}: load plan: {e}"));
    // Exact equality of the whole graph, subgraphs and weights included; printed briefly on failure.
    assert!(
        loaded.model.graph == built.model.graph,
        "{stem}: the loaded graph differs from the built one"
    );
    assert_eq!(loaded.model.parameters(), (params, bytes), "{stem}");
    assert_eq!(loaded.model.opsets, built.model.opsets, "{stem}");
    assert_eq!(loaded.fingerprint, built.fingerprint, "{stem}");
    assert_eq!(
        (&loaded.build, &loaded.profiles),
        (&built.build, &built.profiles),
        "{stem}"
    );

    let mut session = Session::from_plan(&loaded, "cpu", &CompileOptions::with_threads(Some(2)))
        .unwrap_or_else(|e| panic!("{stem}: session: {e}"));
    let feed: HashMap<String, Tensor> = reference.inputs.iter().cloned().collect();
    let got = session
        .run(&feed)
        .unwrap_or_else(|e| panic!("{stem}: run: {e}"));
    let got_names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    let want_names: Vec<&str> = reference.outputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got_names, want_names, "{stem}");
    let mut failures = vec![];
    for ((name, got), (_, want)) in got.iter().zip(&reference.outputs) {
        if want.dtype().is_float() && got.dtype() == want.dtype() && got.shape() == want.shape() {
            let err = relative_l2(got, want);
            println!(
                "{stem} (plan): {name} {:?} relative L2 {err:.3e}",
                got.shape()
            );
            if err.is_nan() || err > MAX_REL_L2 {
                failures.push(format!(
                    "{name}: relative L2 error {err:.3e} exceeds {MAX_REL_L2:.0e}"
                ));
            }
        } else if let Err(e) = compare(
            got,
            want,
            Tolerance {
                rtol: 0.0,
                atol: 0.0,
            },
        ) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{stem} from a plan differs from onnxruntime:\n  {}",
        failures.join("\n  ")
    );
    std::fs::remove_file(&path).ok();
}

/// LSTM and `If` branches: the subgraphs and their weights must survive the file.
#[test]
fn silero_vad_16k_op15_from_a_plan() {
    round_trip("silero_vad_16k_op15", Shapes::Free);
}

#[test]
fn silero_vad_16k_sequence_from_a_plan() {
    round_trip("silero_vad_16k_sequence", Shapes::Bound);
}

#[test]
fn magika_from_a_plan() {
    round_trip("magika_standard_v3_3", Shapes::Bound);
}

#[test]
fn ppocr_v4_det_from_a_plan() {
    round_trip("ch_PP-OCRv4_det_infer", Shapes::Bound);
}

#[test]
fn ppocr_v4_rec_from_a_plan() {
    round_trip("ch_PP-OCRv4_rec_infer", Shapes::Bound);
}

#[test]
fn ppocr_mobile_v2_cls_from_a_plan() {
    round_trip("ch_ppocr_mobile_v2.0_cls_infer", Shapes::Free);
}

#[test]
fn zoo_resnet18_from_a_plan() {
    round_trip("resnet18", Shapes::Free);
}

#[test]
fn zoo_mobilenetv2_from_a_plan() {
    round_trip("mobilenetv2", Shapes::Bound);
}

#[test]
fn zoo_bert_from_a_plan() {
    round_trip("bert", Shapes::Bound);
}

// ------------------------------------------------------------------ damaged and mismatched plans

/// `y = x + w` as a plan file; returns its path and bytes.
fn add_plan(name: &str) -> (PathBuf, Vec<u8>) {
    let onnx = scratch(&format!("{name}.onnx"));
    std::fs::write(&onnx, tiny::bytes(&tiny::add_model())).expect("write model");
    let model = load_model(&onnx).expect("load");
    let (p, _) = plan::build(model, &BuildRequest::new("add.onnx", "cpu")).expect("build");
    let path = scratch(&format!("{name}.plan"));
    p.save(&path).expect("save");
    let bytes = std::fs::read(&path).expect("read");
    (path, bytes)
}

/// Writes `bytes` to `path` and returns the error loading it gives.
fn load_error(path: &Path, bytes: &[u8]) -> String {
    std::fs::write(path, bytes).expect("write");
    match Plan::load(path) {
        Ok(_) => panic!("{} loaded although it is damaged", path.display()),
        Err(e) => e.to_string(),
    }
}

/// Re-seals a patched file with a valid checksum, so only the check under test can catch it.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 8;
    let sum = plan::checksum(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn truncated_plans_are_errors_that_say_how_to_rebuild() {
    let (path, bytes) = add_plan("truncated");
    let p = path.display().to_string();
    for cut in [1, 8, 60, 104, bytes.len() / 2, bytes.len() - 1] {
        let e = load_error(&path, &bytes[..cut]);
        assert!(
            e.starts_with(&format!("{p}: truncated: {cut}")),
            "cut at {cut}: {e}"
        );
        assert!(
            e.ends_with(&format!(
                "rebuild it with `rtforge build --onnx MODEL --save-engine {p}`"
            )),
            "{e}"
        );
    }
    let e = load_error(&path, &[]);
    assert!(e.contains("not an rtforge plan"), "{e}");
}

#[test]
fn a_flipped_bit_anywhere_fails_the_checksum() {
    let (path, bytes) = add_plan("flipped");
    // In the header, the graph, a weight, and the checksum itself.
    for at in [120, bytes.len() / 2, bytes.len() - 68, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[at] ^= 0x04;
        let e = load_error(&path, &b);
        assert!(
            e.contains("checksum mismatch") && e.contains("the file is corrupted"),
            "byte {at}: {e}"
        );
    }
}

#[test]
fn another_magic_or_version_is_refused() {
    let (path, bytes) = add_plan("version");
    let p = path.display().to_string();
    let mut b = bytes.clone();
    b[..4].copy_from_slice(b"ONNX");
    let e = load_error(&path, &b);
    assert!(e.starts_with(&format!("{p}: not an rtforge plan")), "{e}");
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut b);
    let e = load_error(&path, &b);
    assert!(
        e.starts_with(&format!("{p}: plan format version 2, but this rtforge")),
        "{e}"
    );
    assert!(
        e.contains("reads version 1; rebuild it with `rtforge build --onnx MODEL"),
        "{e}"
    );
    let mut b = bytes.clone();
    b.extend_from_slice(b"tail");
    let e = load_error(&path, &b);
    assert!(e.contains("data was appended"), "{e}");
}

#[test]
fn forged_lengths_are_errors_not_allocations() {
    let (path, bytes) = add_plan("forged");
    // The weights section's length, then the header's, set huge behind a valid checksum.
    for at in [64, 32] {
        let mut b = bytes.clone();
        b[at..at + 8].copy_from_slice(&(u64::MAX - 7).to_le_bytes());
        reseal(&mut b);
        let e = load_error(&path, &b);
        assert!(
            e.contains("section") && e.contains("lies outside the file"),
            "{e}"
        );
    }
}

/// The error of something that must fail.
fn refused<T>(r: rtforge::Result<T>) -> String {
    match r {
        Ok(_) => panic!("accepted, but it must be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_plan_for_another_backend_or_precision_is_refused() {
    let (path, _) = add_plan("backend");
    let mut p = Plan::load(&path).expect("load");
    p.fingerprint.backend = "tensorrt".into();
    p.save(&path).expect("save");
    let p = Plan::load(&path).expect("a plan for another backend still loads");
    let e = refused(Session::from_plan(&p, "cpu", &CompileOptions::default()));
    let f = path.display();
    assert!(
        e.starts_with(&format!(
            "{f}: this plan was built for backend 'tensorrt', not 'cpu'"
        )),
        "{e}"
    );
    let rebuild = format!(
        "rebuild it with `rtforge build --onnx add.onnx --save-engine {f} --backend cpu -O 3`"
    );
    assert!(e.ends_with(&rebuild), "{e}");
}

// ------------------------------------------------------------------ profiles at run time

/// `y = x + w` with x float32[N, 3] and w = [1, 2, 3], built with `profile`.
fn batch_plan(name: &str, profile: Profile) -> Plan {
    let w = rtforge::onnx::tensor_proto::to_proto(
        "w",
        &Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap(),
    );
    let m = tiny::model(
        vec![tiny::node("Add", "add0", &["x", "w"], &["y"])],
        vec![w],
        vec![tiny::value("x", 1, &["N", "3"])],
        vec![tiny::value("y", 1, &["N", "3"])],
    );
    let onnx = scratch(&format!("{name}.onnx"));
    std::fs::write(&onnx, tiny::bytes(&m)).expect("write");
    let mut req = BuildRequest::new("batch.onnx", "cpu");
    req.profile = profile;
    let (p, _) = plan::build(load_model(&onnx).expect("load"), &req).expect("build");
    let path = scratch(&format!("{name}.plan"));
    p.save(&path).expect("save");
    Plan::load(&path).expect("load plan")
}

fn run_rows(s: &mut Session, rows: usize) -> Result<Vec<f32>, String> {
    let x = Tensor::from_vec(vec![rows, 3], vec![10.0f32; rows * 3]).unwrap();
    let out = s
        .run(&HashMap::from([("x".to_string(), x)]))
        .map_err(|e| e.to_string())?;
    Ok(out[0].1.as_slice::<f32>().unwrap().to_vec())
}

#[test]
fn inputs_outside_a_range_profile_are_refused_with_the_range() {
    let profile = Profile {
        inputs: vec![InputProfile {
            name: "x".into(),
            min: vec![1, 3],
            opt: vec![2, 3],
            max: vec![4, 3],
        }],
    };
    let p = batch_plan("range", profile);
    assert_eq!(
        p.model.graph.value(p.model.graph.inputs[0]).shape,
        Some(vec![Dim::Symbol("N".into()), Dim::Fixed(3)])
    );
    let mut s = Session::from_plan(&p, "cpu", &CompileOptions::default()).expect("session");
    assert_eq!(
        run_rows(&mut s, 2).unwrap(),
        [11.0, 12.0, 13.0, 11.0, 12.0, 13.0]
    );
    assert_eq!(run_rows(&mut s, 4).unwrap().len(), 12);
    assert_eq!(
        run_rows(&mut s, 8).unwrap_err(),
        "input 'x' dim 0 is 8, the plan's profile allows 1..4; rebuild with --max-shapes x:8x3"
    );
    assert_eq!(
        run_rows(&mut s, 0).unwrap_err(),
        "input 'x' dim 0 is 0, the plan's profile allows 1..4; rebuild with --min-shapes x:0x3"
    );
}

#[test]
fn a_fixed_profile_binds_the_graph_and_refuses_other_shapes() {
    let p = batch_plan(
        "fixed",
        Profile {
            inputs: vec![InputProfile::fixed("x", vec![2, 3])],
        },
    );
    let g = &p.model.graph;
    let fixed = Some(vec![Dim::Fixed(2), Dim::Fixed(3)]);
    assert_eq!(g.value(g.inputs[0]).shape, fixed);
    assert_eq!(g.value(g.outputs[0]).shape, fixed);
    let mut s = Session::from_plan(&p, "cpu", &CompileOptions::default()).expect("session");
    assert_eq!(
        run_rows(&mut s, 2).unwrap(),
        [11.0, 12.0, 13.0, 11.0, 12.0, 13.0]
    );
    assert_eq!(
        run_rows(&mut s, 3).unwrap_err(),
        "input 'x' dim 0 is 3, the plan's profile allows only 2; rebuild with --shapes x:3x3"
    );
}

#[test]
fn profiles_that_contradict_the_model_do_not_build() {
    let w = rtforge::onnx::tensor_proto::to_proto(
        "w",
        &Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap(),
    );
    let m = tiny::model(
        vec![tiny::node("Add", "add0", &["x", "w"], &["y"])],
        vec![w],
        vec![tiny::value("x", 1, &["N", "3"])],
        vec![tiny::value("y", 1, &["N", "3"])],
    );
    let onnx = scratch("contradict.onnx");
    std::fs::write(&onnx, tiny::bytes(&m)).expect("write");
    let model = load_model(&onnx).expect("load");
    let err = |inputs: Vec<InputProfile>| {
        let mut req = BuildRequest::new("c.onnx", "cpu");
        req.profile = Profile { inputs };
        refused(plan::build(model.clone(), &req))
    };
    assert_eq!(
        err(vec![InputProfile::fixed("images", vec![1, 3])]),
        "the shape profile names 'images', which is not an input; the model needs: 'x' float32[N, 3]"
    );
    assert_eq!(
        err(vec![InputProfile::fixed("x", vec![1, 3, 1])]),
        "input 'x' is float32[N, 3] (rank 2), but the profile gives rank 3 (1x3x1)"
    );
    assert_eq!(
        err(vec![InputProfile::fixed("x", vec![1, 4])]),
        "input 'x' dim 1 is fixed at 3 by the model (float32[N, 3]), but the profile's min shape 1x4 has 4"
    );
    assert_eq!(
        err(vec![InputProfile {
            name: "x".into(),
            min: vec![4, 3],
            opt: vec![2, 3],
            max: vec![8, 3]
        }]),
        "input 'x' dim 0: needs min ≤ opt ≤ max, got min 4, opt 2, max 8"
    );
}

#[test]
fn two_builds_give_the_same_bytes() {
    let (_, a) = add_plan("same-a");
    let (_, b) = add_plan("same-b");
    assert!(a == b, "plans of one model differ between builds");
    assert_eq!(&a[..8], plan::MAGIC);
}
