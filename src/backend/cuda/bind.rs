//! Binding a [`Program`] to a device: its host-computed constants uploaded, each launch's kernel
//! looked up, each GEMM prepared on cuBLASLt. Done once per program (per set of input shapes) and
//! shared by every session; what differs per session (the arena, the stream) comes in at run time
//! through [`BoundProgram::resolve`].

use super::blas::LtMatmul;
use super::device::{Device, Upload};
use super::program::{check_args, Buf, OutputSource, Program, Step};
use super::segments::{parts, Part};
use crate::error::{Error, Result};
use crate::ir::ValueId;
use cudarc::driver::CudaFunction;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The graph's initializers on the device, uploaded once per engine.
pub type Weights = HashMap<ValueId, Upload>;

/// Byte offsets of each input (and output) in the session's pinned staging buffer.
fn staging(sizes: impl Iterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut offsets = vec![];
    let mut total = 0;
    for s in sizes {
        offsets.push(total);
        total += s.div_ceil(64) * 64;
    }
    (offsets, total)
}

/// A program ready to run on one device.
pub struct BoundProgram {
    /// Unique for the process: what a worker keys its captured graph and resident inputs by (an
    /// address could be reused once a program is dropped from the engine's cache).
    pub id: usize,
    pub program: Program,
    /// The steps split at the host steps, as a CUDA graph replays them (found once, not per query).
    pub parts: Vec<Part>,
    consts: Vec<Upload>,
    /// Per step: the kernel of a launch.
    pub kernels: Vec<Option<CudaFunction>>,
    /// Per step: the prepared matmul of a GEMM.
    pub gemms: Vec<Option<LtMatmul>>,
    /// Offsets of each graph input in the pinned input buffer, and its size.
    pub input_offsets: Vec<usize>,
    pub input_bytes: usize,
    /// Offsets of each device-computed graph output in the pinned output buffer, and its size.
    pub output_offsets: Vec<usize>,
    pub output_bytes: usize,
}

impl BoundProgram {
    /// Uploads the constants, finds the kernels and prepares the GEMMs of `program`.
    pub fn bind(
        dev: &Device,
        weights: &Weights,
        program: Program,
        tf32: bool,
        workspace: usize,
    ) -> Result<BoundProgram> {
        let consts = program
            .consts
            .iter()
            .map(|t| dev.upload(t))
            .collect::<Result<Vec<_>>>()?;
        let mut kernels = Vec::with_capacity(program.steps.len());
        let mut gemms = Vec::with_capacity(program.steps.len());
        for (step, _) in &program.steps {
            for b in step.bufs() {
                let ok = match b {
                    Buf::Virtual { .. } => false,
                    Buf::Weight { value, .. } => weights.contains_key(&value),
                    Buf::Const { index, .. } => index < consts.len(),
                    Buf::Arena(o) => o <= program.arena_bytes,
                    Buf::Null => true,
                };
                if !ok {
                    return Err(Error::Other(format!(
                        "internal error: a step reads {b:?}, which the program does not have"
                    )));
                }
            }
            match step {
                Step::Launch(l) => {
                    check_args(&l.kernel, &l.args, dev.params(&l.kernel))
                        .map_err(|m| Error::Other(format!("internal error: {m}")))?;
                    kernels.push(Some(dev.kernel(&l.kernel)?.clone()));
                    gemms.push(None);
                }
                Step::Gemm(g) => {
                    let offsets = [g.a.offset(), g.b.offset(), g.d.offset()];
                    gemms.push(Some(LtMatmul::prepare(
                        &dev.planner,
                        g,
                        tf32,
                        offsets,
                        workspace,
                    )?));
                    kernels.push(None);
                }
                Step::Copy { .. } | Step::Host(_) => {
                    kernels.push(None);
                    gemms.push(None);
                }
            }
        }
        let (input_offsets, input_bytes) = staging(program.inputs.iter().map(|t| t.bytes()));
        let (output_offsets, output_bytes) = staging(program.outputs.iter().map(|o| match o {
            OutputSource::Device(t) => t.bytes(),
            OutputSource::Host(_) => 0,
        }));
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        Ok(BoundProgram {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parts: parts(&program.steps),
            program,
            consts,
            kernels,
            gemms,
            input_offsets,
            input_bytes,
            output_offsets,
            output_bytes,
        })
    }

    /// The device address of `b` for a session whose arena starts at `arena`.
    pub fn resolve(&self, b: Buf, arena: u64, weights: &Weights) -> u64 {
        match b {
            Buf::Arena(o) => arena + o as u64,
            Buf::Weight { value, offset } => {
                weights.get(&value).map_or(0, |u| u.ptr) + offset as u64
            }
            Buf::Const { index, offset } => {
                self.consts.get(index).map_or(0, |u| u.ptr) + offset as u64
            }
            // Checked away in `bind`.
            Buf::Virtual { .. } | Buf::Null => 0,
        }
    }
}
