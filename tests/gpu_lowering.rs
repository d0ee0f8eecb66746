//! The GPU-free half of the CUDA backend on real graphs: every zoo model (FP32 and FP16) and every
//! real-weight model that is present lowers to a program whose launches name kernels that exist
//! and, when NVRTC is there, pass exactly the parameter sizes the compiled PTX declares; the arena
//! plan is smaller than keeping every tensor. Every lowered program, run on the host emulator,
//! computes what the CPU backend computes. A graph the GPU cannot run fails the static check with
//! an error naming each such node; with the CPU fallback such nodes run on the host between device
//! steps, unless their output shapes depend on their data.
#![cfg(feature = "cuda")]

mod gpu_cases;
mod gpu_emulator;

use gpu_cases::{check_outputs, real_cases, tolerance, zoo_case, zoo_cases, Case};
use rtforge::backend::cuda::arch::Arch;
use rtforge::backend::cuda::lower::{self, support};
use rtforge::backend::cuda::nvrtc::{compile_all, entry_params, kernel_names, KERNEL_FILES};
use rtforge::backend::cuda::program::{check_args, HostInput, HostStep, Program, Step};
use rtforge::backend::cuda::toolkit::SearchPath;
use rtforge::DType;
use std::collections::HashMap;
use std::path::Path;

/// Parameter sizes of every kernel, from PTX when NVRTC is available.
fn params() -> Option<HashMap<String, Vec<usize>>> {
    let mut search = SearchPath::from_env();
    search.add_python_prefix(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    match compile_all(Arch { major: 8, minor: 0 }, &search) {
        Ok(modules) => Some(modules.iter().flat_map(|m| entry_params(&m.ptx)).collect()),
        Err(e) => {
            eprintln!("\n*** NVRTC unavailable ({e}); kernel parameters are not checked\n");
            None
        }
    }
}

fn lower_case(c: &Case) -> Program {
    let g = &c.model.graph;
    let inputs = lower::input_specs(g, &c.ordered()).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    lower::lower(g, &inputs).unwrap_or_else(|e| panic!("{}: {e}", c.name))
}

/// Every launch names a kernel that exists and, when known, matches its parameters; every GEMM
/// is well formed.
fn check_program(name: &str, p: &Program, params: Option<&HashMap<String, Vec<usize>>>) {
    let names: Vec<String> = KERNEL_FILES.iter().flat_map(kernel_names).collect();
    let (mut launches, mut gemms) = (0, 0);
    for (step, _) in &p.steps {
        match step {
            Step::Launch(l) => {
                launches += 1;
                assert!(names.contains(&l.kernel), "{name}: no kernel {}", l.kernel);
                assert!(l.grid > 0 && l.block > 0 && l.block <= 1024 && l.block % 32 == 0);
                if let Some(params) = params {
                    let declared = params
                        .get(&l.kernel)
                        .unwrap_or_else(|| panic!("{name}: {} not in the PTX", l.kernel));
                    check_args(&l.kernel, &l.args, declared)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            Step::Gemm(g) => {
                gemms += 1;
                assert!(
                    g.m > 0 && g.n > 0 && g.k > 0 && g.batch > 0,
                    "{name}: {g:?}"
                );
                let rows_a = if g.trans_a { g.k } else { g.m };
                let rows_b = if g.trans_b { g.n } else { g.k };
                assert!(g.lda as u64 >= rows_a && g.ldb as u64 >= rows_b && g.ldc as u64 >= g.m);
            }
            Step::Copy { .. } | Step::Host(_) => {}
        }
    }
    eprintln!(
        "{name}: {launches} launches, {gemms} GEMMs, arena {:.1} MiB",
        p.arena_bytes as f64 / (1 << 20) as f64
    );
}

#[test]
fn zoo_models_lower_to_valid_launches() {
    let params = params();
    for fp16 in [false, true] {
        for c in zoo_cases(fp16) {
            support::check(&c.model.graph).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            let p = lower_case(&c);
            check_program(&c.name, &p, params.as_ref());
            assert!(p.steps.iter().any(|(s, _)| matches!(s, Step::Gemm(_))));
        }
    }
}

#[test]
fn resnet50_arena_reuses_memory() {
    let opts = rtforge::zoo::ZooOptions::default();
    let model = gpu_cases::optimize(rtforge::zoo::load("resnet50", &opts).unwrap(), false);
    let inputs: Vec<lower::InputSpec> = vec![(rtforge::DType::F32, vec![1, 3, 224, 224]).into()];
    let p = lower::lower(&model.graph, &inputs).unwrap();
    // Every activation of ResNet-50 at batch 1 adds up to ~100 MB (f32); two or three of the
    // largest alive at once is what a good plan needs.
    let mb = p.arena_bytes as f64 / 1e6;
    assert!(mb > 3.0 && mb < 25.0, "arena of {mb:.1} MB");
}

#[test]
fn real_weight_models_lower_to_valid_launches() {
    let params = params();
    let (cases, missing) = real_cases(false);
    if !missing.is_empty() {
        eprintln!(
            "\n*** SKIPPED real-weight models not present (run scripts/fetch-models.sh): {}\n",
            missing.join(", ")
        );
    }
    for c in cases {
        support::check(&c.model.graph).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let p = lower_case(&c);
        check_program(&c.name, &p, params.as_ref());
    }
}

#[test]
fn if_on_a_device_condition_is_refused_naming_the_node() {
    let c = gpu_cases::ops::control::on_device_condition();
    let msg = support::check(&c.model.graph).unwrap_err().to_string();
    assert!(
        msg.contains("node 'device_if' (If): its condition is computed on the device")
            && msg.contains("cannot run on the GPU"),
        "{msg}"
    );
    // Lowering it anyway fails on that node too, not somewhere later.
    let inputs = lower::input_specs(&c.model.graph, &c.ordered()).unwrap();
    let msg = lower::lower(&c.model.graph, &inputs)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("device_if") && msg.contains("condition is computed on the device"),
        "{msg}"
    );
}

/// Runs `c`'s lowered program on the host emulator and compares with the CPU backend at the
/// tolerance `tolerance` gives.
fn emulate(c: &Case) {
    let p = lower_case(c);
    let got = gpu_emulator::run(&c.model.graph, &p, &c.ordered());
    let want = c
        .run_on("cpu")
        .unwrap_or_else(|e| panic!("{}: cpu: {e}", c.name));
    let tol = tolerance(c, 1e-4);
    let err = check_outputs(&c.name, &got, &want, tol).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{}: emulated program matches the CPU backend (relative L2 {err:.1e})",
        c.name
    );
}

#[test]
fn lowered_zoo_programs_compute_what_the_cpu_computes() {
    emulate(&zoo_case("mobilenetv2", 2, false));
    emulate(&zoo_case("resnet18", 1, false));
    emulate(&zoo_case("bert", 2, false));
    emulate(&zoo_case("mobilenetv2", 1, true));
    emulate(&zoo_case("bert", 2, true));
}

#[test]
fn lowered_real_model_programs_compute_what_the_cpu_computes() {
    let (cases, missing) = real_cases(false);
    if !missing.is_empty() {
        eprintln!("\n*** SKIPPED (not present): {}\n", missing.join(", "));
    }
    for c in &cases {
        emulate(c);
    }
}

#[test]
fn lowered_op_programs_compute_what_the_cpu_computes() {
    let mut failed = vec![];
    for c in gpu_cases::ops::op_cases() {
        support::check(&c.model.graph).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let result = lower::input_specs(&c.model.graph, &c.ordered())
            .and_then(|inputs| lower::lower(&c.model.graph, &inputs))
            .map_err(|e| e.to_string())
            .and_then(|p| {
                let got = gpu_emulator::run(&c.model.graph, &p, &c.ordered());
                let want = c.run_on("cpu").map_err(|e| format!("cpu: {e}"))?;
                check_outputs(&c.name, &got, &want, tolerance(&c, 1e-5))
            });
        match result {
            Ok(e) => eprintln!("{}: ok ({e:.1e})", c.name),
            Err(e) => failed.push(format!("{}: {e}", c.name)),
        }
    }
    assert!(
        failed.is_empty(),
        "{} op case(s) differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// A node without a device kernel between device ops: refused naming it by default; with the CPU
/// fallback it becomes a host step whose output shapes were planned while lowering, and the
/// program computes what the CPU backend computes.
#[test]
fn nodes_without_a_kernel_fall_back_to_the_cpu_when_allowed() {
    for (c, host_nodes) in gpu_cases::ops::fallback::cases() {
        let g = &c.model.graph;
        let msg = support::check(g).unwrap_err().to_string();
        for n in &host_nodes {
            assert!(msg.contains(&format!("node '{n}'")), "{}: {msg}", c.name);
        }
        let inputs = lower::input_specs(g, &c.ordered()).unwrap();
        let msg = lower::lower(g, &inputs).unwrap_err().to_string();
        assert!(msg.contains(host_nodes[0]), "{}: {msg}", c.name);

        let found = support::check_with(g, true).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let names: Vec<&str> = found.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, host_nodes, "{}", c.name);
        let p = lower::lower_with(g, &inputs, true).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert!(p.has_host_steps());
        let got = gpu_emulator::run(g, &p, &c.ordered());
        let want = c.run_on("cpu").unwrap();
        let err = check_outputs(&c.name, &got, &want, 1e-6).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{}: ok with the CPU fallback ({err:.1e})", c.name);
    }
    // TopK's outputs were planned as f32[2, 3] and i64[2, 3], both copied back to the device.
    let c = gpu_cases::ops::fallback::top_k();
    let inputs = lower::input_specs(&c.model.graph, &c.ordered()).unwrap();
    let p = lower::lower_with(&c.model.graph, &inputs, true).unwrap();
    let host: Vec<&HostStep> = p
        .steps
        .iter()
        .filter_map(|(s, _)| match s {
            Step::Host(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(host.len(), 1);
    let planned: Vec<(DType, Vec<usize>)> = host[0]
        .to_device()
        .map(|t| (t.dtype, t.shape.clone()))
        .collect();
    assert_eq!(
        planned,
        [(DType::F32, vec![2, 3]), (DType::I64, vec![2, 3])]
    );
    // x's exp is copied to the host; K is a constant, handed over as it is.
    assert_eq!(host[0].to_host().count(), 1);
    assert!(matches!(host[0].inputs[1], HostInput::Known(_)));
}

/// An op whose output shape only its data decides cannot have its buffers planned: refused, with
/// the reason, even with the CPU fallback.
#[test]
fn a_data_dependent_shape_is_refused_even_with_the_fallback() {
    let c = gpu_cases::ops::fallback::non_zero();
    let g = &c.model.graph;
    let msg = support::check_with(g, true).unwrap_err().to_string();
    assert!(
        msg.contains("node 'nonzero' (NonZero)")
            && msg.contains("cannot fall back to the CPU: its output shape depends on the values"),
        "{msg}"
    );
    let inputs = lower::input_specs(g, &c.ordered()).unwrap();
    let msg = lower::lower_with(g, &inputs, true).unwrap_err().to_string();
    assert!(
        msg.contains("nonzero") && msg.contains("cannot fall back"),
        "{msg}"
    );
    // An If on a device condition is refused too: its branches may give different shapes.
    let c = gpu_cases::ops::control::on_device_condition();
    let msg = support::check_with(&c.model.graph, true)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("node 'device_if' (If)") && msg.contains("may depend on the condition"),
        "{msg}"
    );
}
