//! A session's share of the GPU: its own stream, cuBLASLt handle and workspace, activation arena,
//! pinned staging buffers and timing events, and the CUDA graph captured for the program it runs.
//! One query is: inputs into pinned memory → host-to-device copies → the program's steps (or the
//! graph replaying them) → device-to-host copies → wait, with an event between each stage. A step
//! run on the host (`--allow-cpu-fallback`) waits for the stream in the middle of the compute.

use super::bind::{BoundProgram, Weights};
use super::blas::{workspace_bytes, LtHandle};
use super::device::{driver, host_bytes, Device};
use super::program::{Arg, Buf, HostInput, HostStep, OutputSource, Step};
use super::segments::Part;
use crate::backend::StageTimes;
use crate::error::{Error, Result};
use crate::tensor::{decode_le, Tensor};
use cudarc::driver::{
    result, sys, CudaEvent, CudaGraph, CudaSlice, CudaStream, DevicePtr, PinnedHostSlice,
};
use std::ffi::c_void;
use std::ops::Range;
use std::sync::Arc;

/// How to run the steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Launch every step.
    Direct,
    /// Capture the steps as a CUDA graph on the first query, replay it afterwards.
    Graph,
    /// Launch every step with timing events around each.
    Profile,
}

/// A device buffer and its address.
struct DeviceBuf {
    _slice: CudaSlice<u8>,
    ptr: u64,
    bytes: usize,
}

fn device_buf(stream: &Arc<CudaStream>, bytes: usize) -> Result<DeviceBuf> {
    // SAFETY: the contents are written by the program before they are read.
    let slice =
        unsafe { stream.alloc::<u8>(bytes.max(1)) }.map_err(driver("allocating device memory"))?;
    let ptr = slice.device_ptr(stream).0;
    Ok(DeviceBuf {
        _slice: slice,
        ptr,
        bytes,
    })
}

fn pinned(dev: &Device, bytes: usize) -> Result<PinnedHostSlice<u8>> {
    // Flags 0: plain page-locked memory. The default write-combined kind is slow to read back.
    // SAFETY: the contents are written before they are read.
    unsafe { dev.ctx.alloc_pinned_with_flags::<u8>(bytes.max(1), 0) }
        .map_err(driver("allocating pinned host memory"))
}

/// Copies a host input into pinned memory; a large one in parallel, since one core's copy of a
/// batch-32 image tensor (19 MB) takes longer than its transfer to the device.
fn stage(dst: &mut [u8], src: &[u8]) {
    use rayon::prelude::*;
    const PIECE: usize = 1 << 20;
    if src.len() < 2 * PIECE {
        dst.copy_from_slice(src);
        return;
    }
    dst.par_chunks_mut(PIECE)
        .zip(src.par_chunks(PIECE))
        .for_each(|(d, s)| d.copy_from_slice(s));
}

pub struct Worker {
    stream: Arc<CudaStream>,
    lt: LtHandle,
    workspace: DeviceBuf,
    arena: Option<DeviceBuf>,
    pinned_in: Option<PinnedHostSlice<u8>>,
    pinned_out: Option<PinnedHostSlice<u8>>,
    marks: [CudaEvent; 4],
    /// The graphs captured for the program with this key: one per run of device steps between
    /// the steps on the host (`None` for a run that captured no work).
    graph: Option<(usize, Vec<Option<Captured>>)>,
    /// The program whose inputs are in the arena from the last query (the lowering keeps input
    /// bytes alive for the whole program), for queries without transfers.
    resident: Option<usize>,
}

/// A captured CUDA graph.
struct Captured(CudaGraph);

// SAFETY: an instantiated graph may be launched from any thread; a worker (and so its graph) is
// used by one thread at a time, taken from and returned to the engine's pool under its lock.
unsafe impl Send for Captured {}

impl Worker {
    pub fn new(dev: &Device) -> Result<Worker> {
        let stream = dev.ctx.new_stream().map_err(driver("creating a stream"))?;
        let mark = || {
            dev.ctx
                .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
                .map_err(driver("creating an event"))
        };
        Ok(Worker {
            workspace: device_buf(&stream, workspace_bytes(dev.info.arch.major))?,
            lt: LtHandle::new()?,
            arena: None,
            pinned_in: None,
            pinned_out: None,
            marks: [mark()?, mark()?, mark()?, mark()?],
            graph: None,
            resident: None,
            stream,
        })
    }

    /// Makes sure the arena and staging buffers fit `p`.
    fn fit(&mut self, dev: &Device, p: &BoundProgram) -> Result<()> {
        if self
            .arena
            .as_ref()
            .is_none_or(|a| a.bytes < p.program.arena_bytes)
        {
            // The captured graph and the resident inputs are in the old arena.
            self.graph = None;
            self.resident = None;
            self.arena = None;
            self.arena = Some(device_buf(&self.stream, p.program.arena_bytes)?);
        }
        if self
            .pinned_in
            .as_ref()
            .is_none_or(|b| b.len() < p.input_bytes)
        {
            self.pinned_in = Some(pinned(dev, p.input_bytes)?);
        }
        if self
            .pinned_out
            .as_ref()
            .is_none_or(|b| b.len() < p.output_bytes)
        {
            self.pinned_out = Some(pinned(dev, p.output_bytes)?);
        }
        Ok(())
    }

    /// Runs `p` (identified by `key`) on `inputs`. In [`Mode::Profile`] also returns each step's
    /// milliseconds. Without `transfers`, inputs this worker copied for `p` before are used as
    /// they are on the device (the first such query still copies them), and outputs stay there:
    /// none are returned.
    pub fn run(
        &mut self,
        dev: &Device,
        weights: &Weights,
        p: &BoundProgram,
        key: usize,
        inputs: &[Arc<Tensor>],
        mode: Mode,
        transfers: bool,
    ) -> Result<(Vec<Tensor>, StageTimes, Option<Vec<f64>>)> {
        dev.bind()?;
        self.fit(dev, p)?;
        let arena = self.arena.as_ref().map_or(0, |a| a.ptr);
        let cu = self.stream.cu_stream();
        let copy_in = transfers || self.resident != Some(key);
        let staged = self
            .pinned_in
            .as_mut()
            .expect("sized by fit")
            .as_mut_slice()
            .map_err(driver("pinned input buffer"))?;
        for ((t, slot), &off) in inputs.iter().zip(&p.program.inputs).zip(&p.input_offsets) {
            if t.dtype() != slot.dtype || t.shape() != slot.shape.as_slice() {
                return Err(Error::Input(format!(
                    "an input is {}{:?} but the program was built for {}{:?}",
                    t.dtype(),
                    t.shape(),
                    slot.dtype,
                    slot.shape
                )));
            }
            if copy_in {
                let bytes = host_bytes(t);
                stage(&mut staged[off..off + bytes.len()], &bytes);
            }
        }
        mark(&self.marks[0], &self.stream)?;
        for (slot, &off) in p.program.inputs.iter().zip(&p.input_offsets) {
            if !copy_in {
                break;
            }
            let n = slot.bytes();
            if n > 0 {
                let dst = p.resolve(slot.buf, arena, weights);
                // SAFETY: `dst` is the input's slot in this worker's arena; the pinned source stays
                // untouched until the stream is synchronised at the end of this query.
                unsafe { result::memcpy_htod_async(dst, &staged[off..off + n], cu) }
                    .map_err(driver("copying an input to the device"))?;
            }
        }
        mark(&self.marks[1], &self.stream)?;
        let layer_ms = self.compute(dev, weights, p, key, arena, mode)?;
        mark(&self.marks[2], &self.stream)?;
        let out = self
            .pinned_out
            .as_mut()
            .expect("sized by fit")
            .as_mut_slice()
            .map_err(driver("pinned output buffer"))?;
        for (o, &off) in p.program.outputs.iter().zip(&p.output_offsets) {
            if !transfers {
                break;
            }
            if let OutputSource::Device(t) = o {
                let n = t.bytes();
                if n > 0 {
                    let src = p.resolve(t.buf, arena, weights);
                    // SAFETY: `src` addresses the output in this worker's arena; the destination
                    // is read only after the stream is synchronised below.
                    unsafe { result::memcpy_dtoh_async(&mut out[off..off + n], src, cu) }
                        .map_err(driver("copying an output to the host"))?;
                }
            }
        }
        mark(&self.marks[3], &self.stream)?;
        self.marks[3]
            .synchronize()
            .map_err(driver("running the program"))?;
        let ms = |a: usize, b: usize| -> Result<f64> {
            Ok(self.marks[a]
                .elapsed_ms(&self.marks[b])
                .map_err(driver("reading event times"))? as f64)
        };
        let times = StageTimes {
            h2d_ms: ms(0, 1)?,
            compute_ms: ms(1, 2)?,
            d2h_ms: ms(2, 3)?,
        };
        self.resident = Some(key);
        if !transfers {
            return Ok((vec![], times, layer_ms));
        }
        let mut tensors = Vec::with_capacity(p.program.outputs.len());
        for (o, &off) in p.program.outputs.iter().zip(&p.output_offsets) {
            tensors.push(match o {
                OutputSource::Host(t) => (**t).clone(),
                OutputSource::Device(t) => {
                    let data = decode_le(t.dtype, &out[off..off + t.bytes()]);
                    Tensor::new(t.shape.clone(), data)?
                }
            });
        }
        Ok((tensors, times, layer_ms))
    }

    /// Enqueues the program's steps, directly, through a captured graph, or timed one by one.
    fn compute(
        &mut self,
        dev: &Device,
        weights: &Weights,
        p: &BoundProgram,
        key: usize,
        arena: u64,
        mode: Mode,
    ) -> Result<Option<Vec<f64>>> {
        match mode {
            Mode::Direct => {
                for i in 0..p.program.steps.len() {
                    self.step(p, i, arena, weights)?;
                }
                Ok(None)
            }
            Mode::Graph => {
                if self.graph.as_ref().is_none_or(|(k, _)| *k != key) {
                    self.graph = None;
                    // One direct run first: lazy module loading and cuBLASLt's first-use setup
                    // must not happen inside the capture, where they are not allowed.
                    for i in 0..p.program.steps.len() {
                        self.step(p, i, arena, weights)?;
                    }
                    let mut graphs = vec![];
                    for part in &p.parts {
                        if let Part::Device(range) = part {
                            graphs.push(self.capture(p, range.clone(), arena, weights)?);
                        }
                    }
                    self.graph = Some((key, graphs));
                }
                let graphs = &self.graph.as_ref().expect("captured above").1;
                let mut next = graphs.iter();
                for part in &p.parts {
                    match part {
                        Part::Device(_) => {
                            if let Some(Some(Captured(g))) = next.next() {
                                g.launch().map_err(driver("launching the CUDA graph"))?;
                            }
                        }
                        Part::Host(i) => self.step(p, *i, arena, weights)?,
                    }
                }
                Ok(None)
            }
            Mode::Profile => {
                let mark = || {
                    dev.ctx
                        .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
                        .map_err(driver("creating an event"))
                };
                let mut marks = vec![mark()?];
                marks[0]
                    .record(&self.stream)
                    .map_err(driver("recording an event"))?;
                for i in 0..p.program.steps.len() {
                    self.step(p, i, arena, weights)?;
                    let e = mark()?;
                    e.record(&self.stream)
                        .map_err(driver("recording an event"))?;
                    marks.push(e);
                }
                let mut ms = vec![];
                for w in marks.windows(2) {
                    ms.push(
                        w[0].elapsed_ms(&w[1])
                            .map_err(driver("reading event times"))? as f64,
                    );
                }
                Ok(Some(ms))
            }
        }
    }

    /// Captures steps `range` of `p` (none of them on the host) as a CUDA graph; `None` when
    /// the capture holds no work.
    fn capture(
        &self,
        p: &BoundProgram,
        range: Range<usize>,
        arena: u64,
        weights: &Weights,
    ) -> Result<Option<Captured>> {
        self.stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(driver("starting a CUDA graph capture"))?;
        let mut launched = Ok(());
        for i in range {
            launched = self.step(p, i, arena, weights);
            if launched.is_err() {
                break;
            }
        }
        // The capture must be ended whatever happened.
        let graph = self
            .stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(driver("instantiating the CUDA graph"))?;
        launched?;
        Ok(graph.map(Captured))
    }

    /// Enqueues step `i` of `p`.
    fn step(&self, p: &BoundProgram, i: usize, arena: u64, weights: &Weights) -> Result<()> {
        let cu = self.stream.cu_stream();
        let addr = |b| p.resolve(b, arena, weights);
        match &p.program.steps[i].0 {
            Step::Launch(l) => {
                let f = p.kernels[i].as_ref().expect("bound with the program");
                let mut values: Vec<Arg> = l.args.clone();
                for v in values.iter_mut() {
                    if let Arg::Ptr(b) = v {
                        *v = Arg::U64(addr(*b));
                    }
                }
                let mut params: Vec<*mut c_void> = values.iter_mut().map(arg_ptr).collect();
                // SAFETY: the arguments follow the kernel's parameter list (the lowering builds
                // them for that kernel), every pointer addresses live device memory planned for
                // it, and `values` outlives the call, which copies the parameters.
                unsafe {
                    result::launch_kernel(
                        f.cu_function(),
                        (l.grid, 1, 1),
                        (l.block, 1, 1),
                        0,
                        cu,
                        &mut params,
                    )
                }
                .map_err(driver(&format!("launching {}", l.kernel)))
            }
            Step::Gemm(g) => {
                let mm = p.gemms[i].as_ref().expect("bound with the program");
                // SAFETY: the operands are planned for this GEMM's extents; the workspace is this
                // worker's, used by nothing else on this stream at the same time.
                unsafe {
                    mm.run(
                        &self.lt,
                        addr(g.a),
                        addr(g.b),
                        addr(g.d),
                        self.workspace.ptr,
                        self.workspace.bytes,
                        cu,
                    )
                }
            }
            Step::Copy { src, dst, bytes } => {
                // SAFETY: both ranges are planned device memory of at least `bytes`.
                unsafe { result::memcpy_dtod_async(addr(*dst), addr(*src), *bytes, cu) }
                    .map_err(driver("copying on the device"))
            }
            Step::Host(h) => self
                .host_step(h, &addr)
                .map_err(|e| e.in_node(&h.node.name, h.node.op.name())),
        }
    }

    /// Runs a node on the host: waits for the stream, copies the node's device inputs to the
    /// host, runs the CPU kernel and copies its outputs to their planned device buffers, waiting
    /// again so the host bytes outlive the copies.
    fn host_step(&self, h: &HostStep, addr: &impl Fn(Buf) -> u64) -> Result<()> {
        let cu = self.stream.cu_stream();
        let mut fetched: Vec<Vec<u8>> = vec![];
        for t in h.to_host() {
            let mut bytes = vec![0u8; t.bytes()];
            if !bytes.is_empty() {
                // SAFETY: the source is the planned device tensor of `t.bytes()`; `bytes` is read
                // only after the stream is synchronised below.
                unsafe { result::memcpy_dtoh_async(&mut bytes, addr(t.buf), cu) }
                    .map_err(driver("copying a CPU-fallback node's input to the host"))?;
            }
            fetched.push(bytes);
        }
        self.stream
            .synchronize()
            .map_err(driver("running the steps before a CPU-fallback node"))?;
        let mut fetched = fetched.into_iter();
        let mut args: Vec<Option<Arc<Tensor>>> = Vec::with_capacity(h.inputs.len());
        for i in &h.inputs {
            args.push(match i {
                HostInput::Absent => None,
                HostInput::Known(t) => Some(t.clone()),
                HostInput::Device(t) => {
                    let bytes = fetched.next().unwrap_or_default();
                    let data = decode_le(t.dtype, &bytes);
                    Some(Arc::new(Tensor::new(t.shape.clone(), data)?))
                }
            });
        }
        let refs: Vec<Option<&Tensor>> = args.iter().map(|a| a.as_deref()).collect();
        let outs = crate::backend::cpu::ops::run(&h.node, &refs)?;
        let mut staged = vec![];
        for (out, slot) in outs.iter().zip(&h.outputs) {
            let Some(slot) = slot else { continue };
            if out.dtype() != slot.dtype || out.shape() != slot.shape.as_slice() {
                return Err(Error::Other(format!(
                    "the CPU kernel returned {}{:?} where {}{:?} was planned",
                    out.dtype(),
                    out.shape(),
                    slot.dtype,
                    slot.shape
                )));
            }
            let bytes = host_bytes(out);
            if !bytes.is_empty() {
                // SAFETY: the destination is the output's planned device buffer of exactly these
                // bytes; `bytes` stays alive until the stream is synchronised below.
                unsafe { result::memcpy_htod_async(addr(slot.buf), &bytes, cu) }
                    .map_err(driver("copying a CPU-fallback node's output to the device"))?;
            }
            staged.push(bytes);
        }
        self.stream.synchronize().map_err(driver(
            "copying a CPU-fallback node's outputs to the device",
        ))?;
        drop(staged);
        Ok(())
    }
}

impl Drop for Worker {
    /// Waits for the stream, so no copy still reads or writes the pinned buffers or the arena
    /// when they are freed (a worker whose query failed is dropped mid-flight).
    fn drop(&mut self) {
        let _ = self.stream.synchronize();
    }
}

/// Records `e` on `stream`.
fn mark(e: &CudaEvent, stream: &CudaStream) -> Result<()> {
    e.record(stream).map_err(driver("recording an event"))
}

/// A pointer to an argument's value, as cuLaunchKernel takes them.
fn arg_ptr(a: &mut Arg) -> *mut c_void {
    fn p<T>(v: &mut T) -> *mut c_void {
        v as *mut T as *mut c_void
    }
    match a {
        Arg::I32(v) => p(v),
        Arg::I64(v) => p(v),
        Arg::F32(v) => p(v),
        Arg::U8(v) => p(v),
        Arg::U16(v) => p(v),
        Arg::U32(v) => p(v),
        Arg::U64(v) => p(v),
        Arg::Dims(v) => p(v),
        Arg::Scales(v) => p(v),
        Arg::Window(v) => p(v),
        Arg::Chain(v) => p(v),
        // Resolved to U64 before launching.
        Arg::Ptr(_) => std::ptr::null_mut(),
    }
}
