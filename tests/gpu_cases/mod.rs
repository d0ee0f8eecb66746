//! Models the CUDA tests run: the zoo (small configurations, built in-process, so the GPU machine
//! needs no files) and the real-weight models under `testdata/models` when they are there (or
//! under `RTFORGE_TESTDATA`), each optimized at -O3 as `rtforge build` does, in FP32 or FP16,
//! with seeded inputs; and one-node graphs for every op family ([`ops`]).
#![allow(dead_code)]

pub mod ops;

use rtforge::backend::CompileOptions;
use rtforge::bench::inputs::{index_bounds, synthesize, ShapeOverrides};
use rtforge::ir::Model;
use rtforge::passes::PassManager;
use rtforge::runtime::Session;
use rtforge::zoo::{self, ZooOptions};
use rtforge::Tensor;
use std::collections::HashMap;
use std::path::PathBuf;

/// One model with its inputs.
pub struct Case {
    pub name: String,
    pub model: Model,
    pub feed: HashMap<String, Tensor>,
    pub fp16: bool,
    /// The model as imported, before the passes (`None` for the one-node op cases).
    pub source: Option<Model>,
}

impl Case {
    /// The inputs in the graph's order.
    pub fn ordered(&self) -> Vec<Tensor> {
        let g = &self.model.graph;
        g.inputs
            .iter()
            .map(|&v| self.feed[&g.value(v).name].clone())
            .collect()
    }
}

impl Case {
    /// The outputs of `backend`, in the graph's order.
    pub fn run_on(&self, backend: &str) -> rtforge::Result<Vec<Tensor>> {
        let mut s = Session::new(&self.model, backend, &CompileOptions::default())?;
        Ok(s.run(&self.feed)?.into_iter().map(|(_, t)| t).collect())
    }
}

/// ‖got − want‖₂ / ‖want‖₂ (the absolute norm when `want` is all zeros).
pub fn relative_l2(got: &Tensor, want: &Tensor) -> f64 {
    let (g, w) = (got.to_vec::<f64>(), want.to_vec::<f64>());
    let num = g
        .iter()
        .zip(&w)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let den = w.iter().map(|b| b * b).sum::<f64>().sqrt();
    if den == 0.0 {
        num
    } else {
        num / den
    }
}

/// Compares outputs in order: shapes and dtypes equal, relative L2 within `tol`. The error
/// names the case and the output.
pub fn check_outputs(name: &str, got: &[Tensor], want: &[Tensor], tol: f64) -> Result<f64, String> {
    if got.len() != want.len() {
        return Err(format!(
            "{name}: {} outputs, expected {}",
            got.len(),
            want.len()
        ));
    }
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.shape() != w.shape() || g.dtype() != w.dtype() {
            return Err(format!(
                "{name}: output {i} is {}{:?}, expected {}{:?}",
                g.dtype(),
                g.shape(),
                w.dtype(),
                w.shape()
            ));
        }
        let e = relative_l2(g, w);
        if e.is_nan() || e > tol {
            return Err(format!(
                "{name}: output {i}: relative L2 {e:.2e} > {tol:.0e}"
            ));
        }
        worst = worst.max(e);
    }
    Ok(worst)
}

/// The relative-L2 bound of a case against the CPU backend: `fp32` for an FP32 graph; for an
/// FP16 graph 1e-2, or 1.5× what the CPU's own FP16 run is from its FP32 run when the model is
/// more sensitive than that (two FP16 engines round differently, and cannot agree more closely
/// than FP16 agrees with FP32).
pub fn tolerance(c: &Case, fp32: f64) -> f64 {
    if !c.fp16 {
        return fp32;
    }
    let Some(fp32) = fp32_twin(c) else {
        return 1e-2;
    };
    let cpu16 = c.run_on("cpu").expect("cpu fp16");
    let cpu32 = fp32.run_on("cpu").expect("cpu fp32");
    let own = cpu16
        .iter()
        .zip(&cpu32)
        .map(|(a, b)| relative_l2(&a.cast(rtforge::DType::F32), &b.cast(rtforge::DType::F32)))
        .fold(0.0, f64::max);
    eprintln!(
        "{}: the CPU's FP16 run is {own:.1e} from its FP32 run",
        c.name
    );
    (1.5 * own).max(1e-2)
}

/// The FP32 twin of an FP16 model case.
fn fp32_twin(c: &Case) -> Option<Case> {
    let source = c.source.clone()?;
    Some(Case {
        name: c.name.replace(" fp16", " fp32"),
        model: optimize(source.clone(), false),
        feed: c.feed.clone(),
        fp16: false,
        source: Some(source),
    })
}

/// -O3, then the FP16 rewrite when asked.
pub fn optimize(mut model: Model, fp16: bool) -> Model {
    PassManager::for_level(3)
        .run(&mut model.graph)
        .expect("passes");
    if fp16 {
        rtforge::precision::fp16::convert(&mut model.graph).expect("fp16 rewrite");
    }
    model
}

fn case(name: &str, source: Model, shapes: &[(&str, &[usize])], fp16: bool) -> Case {
    let model = optimize(source.clone(), fp16);
    let g = &model.graph;
    let infos: Vec<_> = g.inputs.iter().map(|&v| g.value(v).clone()).collect();
    let overrides: ShapeOverrides = shapes
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect();
    let feed = synthesize(&infos, &overrides, &index_bounds(g), 7)
        .unwrap_or_else(|e| panic!("{name}: inputs: {e}"));
    let precision = if fp16 { "fp16" } else { "fp32" };
    Case {
        name: format!("{name} {precision}"),
        model,
        feed,
        fp16,
        source: Some(source),
    }
}

/// A zoo model at `batch` (BERT: 2 layers, sequence 32, to keep CPU references quick).
pub fn zoo_case(name: &str, batch: usize, fp16: bool) -> Case {
    let opts = ZooOptions {
        batch,
        seq: 32,
        layers: (name == "bert").then_some(2),
        seed: 0,
    };
    let model = zoo::load(name, &opts).unwrap_or_else(|err| panic!("{name}: {err}"));
    case(name, model, &[], fp16)
}

/// Every zoo model, at batch 2.
pub fn zoo_cases(fp16: bool) -> Vec<Case> {
    zoo::list()
        .iter()
        .map(|e| zoo_case(e.name, 2, fp16))
        .collect()
}

/// Where the real-weight models are (scripts/fetch-models.sh puts them in testdata/models).
pub fn testdata() -> PathBuf {
    std::env::var_os("RTFORGE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/models"))
}

/// Concrete shapes for named inputs.
type Shapes<'a> = &'a [(&'a str, &'a [usize])];

/// The real-weight models that are present, with concrete input shapes for their free dims;
/// the names of those that are not.
pub fn real_cases(fp16: bool) -> (Vec<Case>, Vec<String>) {
    let specs: [(&str, Shapes); 6] = [
        ("ch_ppocr_mobile_v2.0_cls_infer", &[("x", &[1, 3, 48, 192])]),
        ("ch_PP-OCRv4_det_infer", &[("x", &[1, 3, 96, 96])]),
        ("ch_PP-OCRv4_rec_infer", &[("x", &[1, 3, 48, 160])]),
        ("magika_standard_v3_3", &[("bytes", &[1, 2048])]),
        (
            "silero_vad_16k_op15",
            &[("input", &[1, 512]), ("state", &[2, 1, 128])],
        ),
        // 8 frames of 576 samples: an LSTM of 8 steps.
        ("silero_vad_16k_sequence", &[("input", &[8, 576])]),
    ];
    let (mut found, mut missing) = (vec![], vec![]);
    for (name, shapes) in specs {
        let path = testdata().join(format!("{name}.onnx"));
        if !path.is_file() {
            missing.push(name.to_string());
            continue;
        }
        let model = rtforge::onnx::load_model(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        found.push(case(name, model, shapes, fp16));
    }
    (found, missing)
}
