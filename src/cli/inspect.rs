//! `rtforge inspect MODEL_OR_PLAN [--json]`: what a model needs and holds, like `saved_model_cli
//! show`; for a plan also how and for what it was built.

use super::model_source;
use crate::ir::{Dim, ValueInfo};
use crate::plan::{format_dims, Plan};
use crate::Model;
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// An .onnx file, a plan from `rtforge build`, or zoo:NAME.
    pub model: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: InspectArgs) -> Result<()> {
    let loaded = model_source::open(&a.model, None)?;
    let model = loaded.model();
    if a.json {
        let mut j = to_json(&a.model, model);
        if let Some(p) = loaded.plan() {
            j["plan"] = plan_json(p, &a.model);
        }
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print!("{}", to_text(&a.model, model));
        if let Some(p) = loaded.plan() {
            print!("{}", plan_text(p, &a.model));
        }
    }
    Ok(())
}

/// The plan's own header: fingerprint, build options, profiles, payloads, file size.
pub fn plan_json(p: &Plan, path: &str) -> Value {
    let size = std::fs::metadata(path).map(|m| m.len()).ok();
    json!({
        "precision": p.precision(),
        "backend": p.backend(),
        "fingerprint": p.fingerprint,
        "build": p.build,
        "profiles": p.profiles,
        "cpu_fallback": fallback_json(p),
        "payloads": p.payloads.iter().map(|(k, v)| (k.clone(), json!(v.len()))).collect::<serde_json::Map<_, _>>(),
        "bytes": size,
    })
}

pub fn plan_text(p: &Plan, path: &str) -> String {
    use std::fmt::Write;
    let f = &p.fingerprint;
    let mut s = String::new();
    let _ = writeln!(s, "plan:");
    let _ = writeln!(s, "  backend: {}   precision: {}", f.backend, f.precision);
    let _ = writeln!(s, "  built by: rtforge {}", f.rtforge);
    if let Some(d) = &f.device_name {
        let _ = writeln!(
            s,
            "  device: {d} (compute capability {})",
            f.compute_capability.as_deref().unwrap_or("?")
        );
    }
    let b = &p.build;
    let batch = b
        .batch
        .map(|n| format!("   batch: {n}"))
        .unwrap_or_default();
    let threads = b.threads.map_or("all cores".to_string(), |n| n.to_string());
    let _ = writeln!(
        s,
        "  built from: {}{batch}   -O{}   threads: {threads}",
        b.source, b.opt_level
    );
    if p.profiles.is_empty() {
        let _ = writeln!(s, "  profiles: none (any shape the model accepts)");
    }
    for (i, prof) in p.profiles.iter().enumerate() {
        let _ = writeln!(s, "  profile {i}:");
        for ip in &prof.inputs {
            let (lo, mid, hi) = (
                format_dims(&ip.min),
                format_dims(&ip.opt),
                format_dims(&ip.max),
            );
            if ip.is_fixed() {
                let _ = writeln!(s, "    {}: {lo} (fixed)", ip.name);
            } else {
                let _ = writeln!(s, "    {}: min {lo}  opt {mid}  max {hi}", ip.name);
            }
        }
    }
    for (name, bytes) in &p.payloads {
        let _ = writeln!(s, "  payload {name}: {}", human_bytes(bytes.len()));
    }
    s += &fallback_text(p);
    if let Ok(m) = std::fs::metadata(path) {
        let _ = writeln!(s, "  file: {}", human_bytes(m.len() as usize));
    }
    s
}

/// The nodes of a cuda plan built with `--allow-cpu-fallback` that run on the CPU, and the
/// tensors copied each way around them per query (none for any other plan).
#[cfg(feature = "cuda")]
fn fallback_nodes(p: &Plan) -> Vec<crate::backend::cuda::lower::support::HostNode> {
    if p.backend() != "cuda" || !p.build.allow_cpu_fallback {
        return vec![];
    }
    // The build ran the same check, so it passes; a plan that fails it lists nothing here.
    crate::backend::cuda::lower::support::check_with(&p.model.graph, true).unwrap_or_default()
}

/// [`fallback_nodes`] as JSON: `[{name, op, to_host: [{name, type}], to_device: [...]}]`.
pub fn fallback_json(p: &Plan) -> Value {
    #[cfg(feature = "cuda")]
    return json!(fallback_nodes(p));
    #[cfg(not(feature = "cuda"))]
    return json!([]);
}

/// [`fallback_nodes`] as the lines `inspect` and `build` print (nothing when there are none).
pub fn fallback_text(p: &Plan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    #[cfg(feature = "cuda")]
    {
        let nodes = fallback_nodes(p);
        if !nodes.is_empty() {
            let _ = writeln!(
                s,
                "  cpu fallback: {} node(s) run on the CPU between device steps:",
                nodes.len()
            );
        }
        let list = |ts: &[crate::backend::cuda::lower::support::Transfer]| {
            let v: Vec<String> = ts.iter().map(|t| format!("{} {}", t.name, t.ty)).collect();
            if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(", ")
            }
        };
        for n in &nodes {
            let _ = writeln!(
                s,
                "    {} ({}): to host {}; to device {}",
                n.name,
                n.op,
                list(&n.to_host),
                list(&n.to_device)
            );
        }
    }
    #[cfg(not(feature = "cuda"))]
    let _ = (p, &mut s);
    s
}

fn dim_json(d: &Dim) -> Value {
    match d {
        Dim::Fixed(n) => json!(n),
        Dim::Symbol(s) => json!(s),
        Dim::Unknown => Value::Null,
    }
}

fn value_json(v: &ValueInfo) -> Value {
    json!({
        "name": v.name,
        "dtype": v.dtype.map(|d| d.name()),
        "shape": v.shape.as_ref().map(|s| s.iter().map(dim_json).collect::<Vec<_>>()),
    })
}

fn io(model: &Model) -> (Vec<&ValueInfo>, Vec<&ValueInfo>) {
    let g = &model.graph;
    (
        g.inputs.iter().map(|&v| g.value(v)).collect(),
        g.outputs.iter().map(|&v| g.value(v)).collect(),
    )
}

pub fn to_json(source: &str, model: &Model) -> Value {
    let (inputs, outputs) = io(model);
    let (params, bytes) = model.parameters();
    json!({
        "model": source,
        "producer": {"name": model.producer_name, "version": model.producer_version},
        "ir_version": model.ir_version,
        "opsets": model.opsets.iter().map(|(d, v)| (if d.is_empty() { "ai.onnx".to_string() } else { d.clone() }, json!(v))).collect::<serde_json::Map<_, _>>(),
        "inputs": inputs.iter().map(|v| value_json(v)).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(|v| value_json(v)).collect::<Vec<_>>(),
        "nodes": count_nodes(model),
        "op_counts": model.graph.op_counts(),
        "parameters": params,
        "parameter_bytes": bytes,
    })
}

fn count_nodes(model: &Model) -> usize {
    let mut n = 0;
    model.graph.visit_nodes(&mut |_| n += 1);
    n
}

pub fn to_text(source: &str, model: &Model) -> String {
    use std::fmt::Write;
    let (inputs, outputs) = io(model);
    let (params, bytes) = model.parameters();
    let mut s = String::new();
    let _ = writeln!(s, "model: {source}");
    let producer = format!("{} {}", model.producer_name, model.producer_version);
    let _ = writeln!(
        s,
        "producer: {}   ir_version: {}",
        producer.trim(),
        model.ir_version
    );
    let opsets: Vec<String> = model
        .opsets
        .iter()
        .map(|(d, v)| format!("{} {v}", if d.is_empty() { "ai.onnx" } else { d }))
        .collect();
    let _ = writeln!(s, "opsets: {}", opsets.join(", "));
    let _ = writeln!(s, "inputs:");
    for v in inputs {
        let _ = writeln!(s, "  {}: {}", v.name, v.describe());
    }
    let _ = writeln!(s, "outputs:");
    for v in outputs {
        let _ = writeln!(s, "  {}: {}", v.name, v.describe());
    }
    let _ = writeln!(
        s,
        "nodes: {}   parameters: {params} ({})",
        count_nodes(model),
        human_bytes(bytes)
    );
    let _ = writeln!(s, "op counts:");
    let mut counts: Vec<(&str, usize)> = model.graph.op_counts().into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (op, n) in counts {
        let _ = writeln!(s, "  {op:<24} {n}");
    }
    s
}

/// `102.2 MB` (decimal units, as file sizes are usually quoted).
pub fn human_bytes(b: usize) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}
