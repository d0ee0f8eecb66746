//! The build pipeline behind `rtforge build`: check the request against the backend and the model,
//! bind fixed input shapes, run the optimization passes of the level, compile once on the backend
//! (so a plan that builds is a plan that loads), and wrap the result in a [`Plan`].

use super::bind_shapes::bind_fixed_shapes;
use super::{BuildOptions, Fingerprint, Plan, Precision, Profile};
use crate::backend::{self, CompileOptions};
use crate::bench::inputs::{index_bounds, synthesize, ShapeOverrides};
use crate::error::{Error, Result};
use crate::ir::{Graph, Model};
use crate::passes::PassManager;
use crate::precision::accuracy::{measure, OutputError};
use crate::precision::fp16::{self, Fp16Report};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What to build: everything `rtforge build` takes besides the model itself.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// Backend name (`cpu`).
    pub backend: String,
    /// 0 (no passes) ..= 3 (every pass).
    pub opt_level: u8,
    pub precision: Precision,
    /// Shape ranges; an input it fixes (min = max) is bound into the graph.
    pub profile: Profile,
    /// The model as the user named it (`model.onnx`, `zoo:resnet50`), kept in the plan.
    pub source: String,
    pub batch: Option<usize>,
    pub threads: Option<usize>,
    /// GPU: no TF32 tensor cores for FP32 (`--no-tf32`).
    pub no_tf32: bool,
    /// GPU: the architecture to compile for (`--arch sm_90`), so a plan builds without a GPU.
    pub arch: Option<String>,
    /// GPU: nodes without a device kernel run on the CPU (`--allow-cpu-fallback`).
    pub allow_cpu_fallback: bool,
}

impl BuildRequest {
    /// An FP32, -O3, profile-less build for `backend`.
    pub fn new(source: &str, backend: &str) -> BuildRequest {
        BuildRequest {
            backend: backend.to_string(),
            opt_level: 3,
            precision: Precision::Fp32,
            profile: Profile::default(),
            source: source.to_string(),
            batch: None,
            threads: None,
            no_tf32: false,
            arch: None,
            allow_cpu_fallback: false,
        }
    }
}

/// What a build did, for the summary `rtforge build` prints.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// Nodes before and after the passes, subgraphs included.
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// How often each pass of the level changed the graph.
    pub passes: Vec<(&'static str, usize)>,
    pub ops_before: BTreeMap<&'static str, usize>,
    pub ops_after: BTreeMap<&'static str, usize>,
    /// Inputs whose shapes were bound to the profile's fixed shape.
    pub bound_inputs: Vec<String>,
    /// For an FP16 build: what the rewrite did, and the accuracy cost against the FP32 graph on
    /// seeded inputs (or why it could not be measured).
    pub fp16: Option<(Fp16Report, std::result::Result<Vec<OutputError>, String>)>,
    /// The backend the FP16 graph ran on for that measurement: the plan's, or cpu where the
    /// plan's backend cannot run here.
    pub fp16_measured_on: String,
    /// What could not be checked on this machine (a GPU plan built without the GPU).
    pub unverified: Option<String>,
    pub elapsed: Duration,
}

/// The FP16 graph's outputs against the FP32 graph's on seeded inputs (shaped by the profile's
/// opt shapes where the model leaves dims free).
fn fp16_accuracy(
    reference: &Model,
    half: &Model,
    profile: &Profile,
    backend: &str,
    threads: Option<usize>,
) -> std::result::Result<Vec<OutputError>, String> {
    let g = &reference.graph;
    let infos: Vec<_> = g.inputs.iter().map(|&v| g.value(v).clone()).collect();
    let shapes: ShapeOverrides = profile
        .inputs
        .iter()
        .map(|p| (p.name.clone(), p.opt.clone()))
        .collect();
    let feed = synthesize(&infos, &shapes, &index_bounds(g), 0).map_err(|e| e.to_string())?;
    measure(reference, half, backend, &feed, threads).map_err(|e| e.to_string())
}

fn count_nodes(g: &Graph) -> usize {
    let mut n = 0;
    g.visit_nodes(&mut |_| n += 1);
    n
}

/// Builds a plan from an imported model.
pub fn build(mut model: Model, req: &BuildRequest) -> Result<(Plan, BuildReport)> {
    let start = Instant::now();
    if req.opt_level > 3 {
        return Err(Error::Input(format!(
            "optimization level {} does not exist (0..=3)",
            req.opt_level
        )));
    }
    // The backend checks the model compiles (on its device where there is one) as part of the
    // build; a GPU backend given an architecture builds its kernels without a device.
    let b = backend::named(&req.backend)?;
    if !b.precisions().contains(&req.precision) {
        let have: Vec<&str> = b.precisions().iter().map(|p| p.name()).collect();
        return Err(Error::Backend {
            backend: req.backend.clone(),
            msg: format!(
                "{} is not yet supported on backend {} (it has {} kernels); build without --{}",
                req.precision.name().to_uppercase(),
                req.backend,
                have.join(", ").to_uppercase(),
                req.precision
            ),
        });
    }
    req.profile.validate(&model)?;
    let bound_inputs = bind_fixed_shapes(&mut model, &req.profile)?;
    let nodes_before = count_nodes(&model.graph);
    let ops_before = model.graph.op_counts();
    let passes = PassManager::for_level(req.opt_level).run(&mut model.graph)?;
    let fp16_measured_on = if b.available().is_ok() {
        req.backend.clone()
    } else {
        "cpu".to_string()
    };
    let fp16 = match req.precision {
        Precision::Fp32 => None,
        Precision::Fp16 => {
            let reference = model.clone();
            let report = fp16::convert(&mut model.graph)?;
            Some((
                report,
                fp16_accuracy(
                    &reference,
                    &model,
                    &req.profile,
                    &fp16_measured_on,
                    req.threads,
                ),
            ))
        }
    };
    let nodes_after = count_nodes(&model.graph);
    let ops_after = model.graph.op_counts();
    let artifacts = b.plan_artifacts(
        &model,
        &CompileOptions {
            threads: Some(1),
            tf32: !req.no_tf32,
            cuda_graph: false,
            arch: req.arch.clone(),
            allow_cpu_fallback: req.allow_cpu_fallback,
        },
    )?;
    let plan = Plan {
        model,
        fingerprint: Fingerprint {
            rtforge: crate::VERSION.to_string(),
            backend: req.backend.clone(),
            precision: req.precision,
            device_name: artifacts.device_name,
            compute_capability: artifacts.compute_capability,
        },
        build: BuildOptions {
            source: req.source.clone(),
            batch: req.batch,
            opt_level: req.opt_level,
            threads: req.threads,
            no_tf32: req.no_tf32,
            arch: req.arch.clone(),
            allow_cpu_fallback: req.allow_cpu_fallback,
        },
        profiles: if req.profile.inputs.is_empty() {
            vec![]
        } else {
            vec![req.profile.clone()]
        },
        payloads: artifacts.payloads,
    };
    let report = BuildReport {
        nodes_before,
        nodes_after,
        passes,
        ops_before,
        ops_after,
        bound_inputs,
        fp16,
        fp16_measured_on,
        unverified: artifacts.unverified,
        elapsed: start.elapsed(),
    };
    Ok((plan, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests_support::add_model;
    use crate::plan::InputProfile;

    #[test]
    fn fp16_build_stores_half_weights_and_measures_the_cost() {
        let mut req = BuildRequest::new("m.onnx", "cpu");
        req.precision = Precision::Fp16;
        let (plan, report) = build(add_model(), &req).unwrap();
        assert_eq!(plan.precision(), Precision::Fp16);
        let (rewrite, accuracy) = report.fp16.expect("an fp16 report");
        assert_eq!((rewrite.half_nodes, rewrite.weights), (1, 1));
        let errs = accuracy.expect("accuracy measured");
        assert_eq!(errs.len(), 1);
        // x in [-1, 1) and w in 1..6 rounded to f16: about 2^-11 relative.
        assert!(errs[0].rel_l2 > 0.0 && errs[0].rel_l2 < 1e-3, "{errs:?}");
        let w = plan.model.graph.initializers.values().next().unwrap();
        assert_eq!(w.dtype(), crate::tensor::DType::F16);
    }

    #[test]
    fn records_the_request_in_the_plan() {
        let mut req = BuildRequest::new("m.onnx", "cpu");
        req.opt_level = 1;
        req.threads = Some(2);
        req.profile = Profile {
            inputs: vec![InputProfile::fixed("x", vec![2, 3])],
        };
        let (plan, report) = build(add_model(), &req).unwrap();
        assert_eq!(plan.fingerprint.backend, "cpu");
        assert_eq!(plan.fingerprint.rtforge, crate::VERSION);
        assert_eq!(
            plan.build,
            BuildOptions {
                source: "m.onnx".into(),
                batch: None,
                opt_level: 1,
                threads: Some(2),
                no_tf32: false,
                arch: None,
                allow_cpu_fallback: false,
            }
        );
        assert_eq!(plan.profiles, vec![req.profile.clone()]);
        assert_eq!(report.bound_inputs, ["x"]);
        assert_eq!((report.nodes_before, report.nodes_after), (1, 1));
        let e = build(
            add_model(),
            &BuildRequest {
                opt_level: 4,
                ..req.clone()
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "optimization level 4 does not exist (0..=3)");
        let e = build(
            add_model(),
            &BuildRequest {
                backend: "tpu".into(),
                ..req
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("unknown backend 'tpu'"), "{e}");
    }
}
