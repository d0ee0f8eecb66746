//! `rtforge build --onnx MODEL [--save-engine PLAN] [--backend cpu] [-O 0..3] [--fp16]
//! [--shapes|--min-shapes|--opt-shapes|--max-shapes NAME:DIMS,...] [--threads N]`: trtexec's build
//! phase. Loads the model, binds fixed shapes, runs the passes of the level, writes a plan and prints
//! what the build did.

use super::inspect::{fallback_json, fallback_text, human_bytes};
use super::model_source::{self, Loaded};
use crate::plan::{
    self, format_dims, parse_shape_list, BuildReport, BuildRequest, Plan, Precision, Profile,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The model to build: an .onnx file or zoo:NAME.
    #[arg(long, value_name = "MODEL", help_heading = "Model")]
    pub onnx: String,
    /// Batch size of a zoo:NAME model (default 1).
    #[arg(long, help_heading = "Model")]
    pub batch: Option<usize>,

    /// Where to write the plan (trtexec: --saveEngine). Default: engines/<model name>.plan.
    #[arg(
        long = "save-engine",
        alias = "saveEngine",
        value_name = "PLAN",
        help_heading = "Build"
    )]
    pub save_engine: Option<PathBuf>,
    /// The backend the plan is built for; it runs only there.
    #[arg(long, default_value = "cpu", help_heading = "Build")]
    pub backend: String,
    /// Optimization level: 0 runs no graph pass, 1..3 run the passes of that level to a fixed point.
    #[arg(
        short = 'O',
        long = "opt-level",
        default_value_t = 3,
        value_parser = clap::value_parser!(u8).range(0..=3),
        help_heading = "Build"
    )]
    pub opt_level: u8,
    /// Build an FP16 plan: f16 weights and activations, with the accuracy cost measured against
    /// FP32 (cpu: f16 storage, f32 arithmetic; cuda: tensor cores).
    #[arg(long, help_heading = "Build")]
    pub fp16: bool,
    /// GPU: keep FP32 GEMMs and convolutions off TF32 tensor cores (trtexec: --noTF32).
    #[arg(long = "no-tf32", alias = "noTF32", help_heading = "Build")]
    pub no_tf32: bool,
    /// GPU: compile the kernels for this architecture (sm_80, sm_86, sm_89, sm_90) instead of the
    /// device's, so a plan builds on a machine without a GPU.
    #[arg(long, value_name = "sm_XY", help_heading = "Build")]
    pub arch: Option<String>,
    /// GPU: run a node the device has no kernel for (TopK, ArgMax, CumSum, Einsum, ...) on the
    /// CPU between device steps, its inputs and outputs copied across, instead of refusing the
    /// model. Ops whose output shapes depend on their data (NonZero, Loop) are refused still.
    /// Sessions of the plan allow it too.
    #[arg(long = "allow-cpu-fallback", help_heading = "Build")]
    pub allow_cpu_fallback: bool,
    /// Fixed input shapes, NAME:1x3x224x224,NAME2:8x128 (trtexec: --shapes). The plan accepts
    /// exactly these shapes, and their symbolic dims become these numbers throughout the graph.
    #[arg(long, value_name = "NAME:DIMS,...", help_heading = "Build")]
    pub shapes: Vec<String>,
    /// Smallest shapes of a range profile, NAME:DIMS,... (trtexec: --minShapes); needs --max-shapes.
    #[arg(
        long = "min-shapes",
        alias = "minShapes",
        value_name = "NAME:DIMS,...",
        help_heading = "Build"
    )]
    pub min_shapes: Vec<String>,
    /// Shapes a range profile is tuned for (trtexec: --optShapes). Default: the max shapes.
    #[arg(
        long = "opt-shapes",
        alias = "optShapes",
        value_name = "NAME:DIMS,...",
        help_heading = "Build"
    )]
    pub opt_shapes: Vec<String>,
    /// Largest shapes of a range profile, NAME:DIMS,... (trtexec: --maxShapes); needs --min-shapes.
    #[arg(
        long = "max-shapes",
        alias = "maxShapes",
        value_name = "NAME:DIMS,...",
        help_heading = "Build"
    )]
    pub max_shapes: Vec<String>,

    /// CPU worker threads a session of this plan uses unless `run` or `bench` says otherwise
    /// (default: one per logical core).
    #[arg(long, help_heading = "System")]
    pub threads: Option<usize>,

    /// Print the build summary as JSON.
    #[arg(long, help_heading = "Reporting")]
    pub json: bool,
}

/// Parses one of the repeatable shape options (each occurrence a comma-separated list).
fn shape_option(flag: &str, values: &[String]) -> Result<Vec<(String, Vec<usize>)>> {
    Ok(parse_shape_list(flag, &values.join(","))?)
}

/// `engines/<stem>.plan`: the zoo name, or the model file's stem.
pub fn default_plan_path(spec: &str) -> PathBuf {
    let stem = match crate::zoo::parse_zoo_ref(spec) {
        Some(name) => name.to_string(),
        None => Path::new(spec)
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned()),
    };
    Path::new("engines").join(format!("{stem}.plan"))
}

pub fn run(a: BuildArgs, verbose: u8) -> Result<()> {
    let start = Instant::now();
    if a.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let profile = Profile::from_flags(
        &shape_option("--shapes", &a.shapes)?,
        &shape_option("--min-shapes", &a.min_shapes)?,
        &shape_option("--opt-shapes", &a.opt_shapes)?,
        &shape_option("--max-shapes", &a.max_shapes)?,
    )?;
    let model = match model_source::open(&a.onnx, a.batch)? {
        Loaded::Model(m) => m,
        Loaded::Plan(p) => bail!(
            "{} is already a plan; build from the model it was made from: {}",
            a.onnx,
            p.rebuild_command(&a.onnx)
        ),
    };
    let req = BuildRequest {
        backend: a.backend.clone(),
        opt_level: a.opt_level,
        precision: if a.fp16 {
            Precision::Fp16
        } else {
            Precision::Fp32
        },
        profile,
        source: a.onnx.clone(),
        batch: a.batch,
        threads: a.threads,
        no_tf32: a.no_tf32,
        arch: a.arch.clone(),
        allow_cpu_fallback: a.allow_cpu_fallback,
    };
    let (plan, report) =
        plan::build(model, &req).with_context(|| format!("building {}", a.onnx))?;
    let path = a
        .save_engine
        .clone()
        .unwrap_or_else(|| default_plan_path(&a.onnx));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let size = plan.save(&path)?;
    let elapsed = start.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&plan, &report, &path, size, elapsed))?
        );
    } else {
        print!(
            "{}",
            summary_text(&plan, &report, &path, size, elapsed, verbose > 0)
        );
    }
    Ok(())
}

fn summary_json(
    plan: &Plan,
    r: &BuildReport,
    path: &Path,
    size: u64,
    secs: f64,
) -> serde_json::Value {
    json!({
        "plan": path.display().to_string(),
        "model": plan.build.source,
        "backend": plan.backend(),
        "precision": plan.precision(),
        "opt_level": plan.build.opt_level,
        "nodes_before": r.nodes_before,
        "nodes_after": r.nodes_after,
        "passes": r.passes.iter().map(|(n, c)| json!({"name": n, "changes": c})).collect::<Vec<_>>(),
        "op_counts": r.ops_after,
        "bound_inputs": r.bound_inputs,
        "profiles": plan.profiles,
        "fp16": r.fp16.as_ref().map(|(rw, acc)| json!({
            "half_nodes": rw.half_nodes,
            "float_nodes": rw.float_nodes,
            "weights": rw.weights,
            "casts": rw.casts,
            "accuracy": match acc {
                Ok(errs) => json!(errs.iter().map(|e| json!({"output": e.name, "rel_l2": e.rel_l2, "max_abs": e.max_abs})).collect::<Vec<_>>()),
                Err(why) => json!({"not_measured": why}),
            },
        })),
        "fp16_measured_on": r.fp16.as_ref().map(|_| &r.fp16_measured_on),
        "device": plan.fingerprint.device_name,
        "compute_capability": plan.fingerprint.compute_capability,
        "not_checked_here": r.unverified,
        "cpu_fallback": fallback_json(plan),
        "bytes": size,
        "seconds": secs,
    })
}

fn summary_text(
    plan: &Plan,
    r: &BuildReport,
    path: &Path,
    size: u64,
    secs: f64,
    verbose: bool,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "built {} from {}", path.display(), plan.build.source);
    let _ = writeln!(
        s,
        "  backend {}, {}, -O{}",
        plan.backend(),
        plan.precision(),
        plan.build.opt_level
    );
    let _ = writeln!(s, "  nodes: {} -> {}", r.nodes_before, r.nodes_after);
    let passes: Vec<String> = r.passes.iter().map(|(n, c)| format!("{n} {c}")).collect();
    let passes = if passes.is_empty() {
        "none at -O0".to_string()
    } else {
        passes.join(", ")
    };
    let _ = writeln!(s, "  passes (changes): {passes}");
    for name in &r.bound_inputs {
        if let Some(p) = plan.profiles.first().and_then(|p| p.input(name)) {
            let _ = writeln!(s, "  shape bound: {name} = {}", format_dims(&p.min));
        }
    }
    for p in plan
        .profiles
        .iter()
        .flat_map(|p| &p.inputs)
        .filter(|p| !p.is_fixed())
    {
        let _ = writeln!(
            s,
            "  profile: {} min {} opt {} max {}",
            p.name,
            format_dims(&p.min),
            format_dims(&p.opt),
            format_dims(&p.max)
        );
    }
    if let Some((rw, acc)) = &r.fp16 {
        let _ = writeln!(
            s,
            "  fp16: {} nodes in f16, {} kept in f32 by the policy, {} weights stored as f16, {} casts",
            rw.half_nodes, rw.float_nodes, rw.weights, rw.casts
        );
        match acc {
            Ok(errs) => {
                for e in errs {
                    let _ = writeln!(
                        s,
                        "  fp16 accuracy vs fp32 (seeded inputs, fp16 run on {}): '{}' relative L2 {:.3e}, max abs {:.3e}",
                        r.fp16_measured_on, e.name, e.rel_l2, e.max_abs
                    );
                }
            }
            Err(why) => {
                let _ = writeln!(s, "  fp16 accuracy not measured: {why}");
            }
        }
    }
    if verbose {
        // What the passes did, as the change in op counts.
        let ops: std::collections::BTreeSet<&str> = r
            .ops_before
            .keys()
            .chain(r.ops_after.keys())
            .copied()
            .collect();
        let _ = writeln!(s, "  ops (before -> after):");
        for op in ops {
            let (b, a) = (
                r.ops_before.get(op).copied().unwrap_or(0),
                r.ops_after.get(op).copied().unwrap_or(0),
            );
            let mark = if a != b { "  *" } else { "" };
            let _ = writeln!(s, "    {op:<24} {b} -> {a}{mark}");
        }
    }
    if let Some(a) = &plan.fingerprint.compute_capability {
        let on = plan
            .fingerprint
            .device_name
            .as_deref()
            .unwrap_or("no device");
        let _ = writeln!(s, "  kernels: compute capability {a} ({on})");
    }
    s += &fallback_text(plan);
    if let Some(why) = &r.unverified {
        let _ = writeln!(s, "  not checked here: {why}");
    }
    let _ = writeln!(s, "  plan: {} in {secs:.2} s", human_bytes(size as usize));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_go_to_engines() {
        assert_eq!(
            default_plan_path("zoo:resnet50"),
            Path::new("engines/resnet50.plan")
        );
        assert_eq!(
            default_plan_path("models/det.v4.onnx"),
            Path::new("engines/det.v4.plan")
        );
    }
}
