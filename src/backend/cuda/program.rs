//! What the lowering produces for one set of input shapes: a list of [`Step`]s (kernel launches,
//! cuBLASLt GEMMs, copies, nodes run on the host) over buffers named by [`Buf`], the arena size they need, where the graph
//! inputs go and where its outputs come from. Plain data, built and tested without a GPU; the
//! engine binds it to device memory (`bind.rs`) and runs it on a session's stream.

use crate::ir::{Node, ValueId};
use crate::tensor::{DType, Tensor};
use std::sync::Arc;

/// Device memory a step reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The session's activation arena, at a byte offset (assigned by `arena::plan`).
    Arena(usize),
    /// During lowering only: byte `offset` into virtual buffer `id`, before the arena is planned.
    Virtual { id: usize, offset: usize },
    /// An initializer of the graph, uploaded once per engine, at a byte offset.
    Weight { value: ValueId, offset: usize },
    /// A constant the lowering computed on the host (shape arithmetic, folded subgraphs), uploaded
    /// once per program, at a byte offset.
    Const { index: usize, offset: usize },
    /// A null pointer (an absent optional operand).
    Null,
}

impl Buf {
    /// The same buffer `bytes` further on.
    pub fn at(self, bytes: usize) -> Buf {
        match self {
            Buf::Arena(o) => Buf::Arena(o + bytes),
            Buf::Virtual { id, offset } => Buf::Virtual {
                id,
                offset: offset + bytes,
            },
            Buf::Weight { value, offset } => Buf::Weight {
                value,
                offset: offset + bytes,
            },
            Buf::Const { index, offset } => Buf::Const {
                index,
                offset: offset + bytes,
            },
            Buf::Null => Buf::Null,
        }
    }

    /// The byte offset inside whatever allocation holds it (for alignment checks).
    pub fn offset(self) -> usize {
        match self {
            Buf::Arena(o) => o,
            Buf::Virtual { offset, .. }
            | Buf::Weight { offset, .. }
            | Buf::Const { offset, .. } => offset,
            Buf::Null => 0,
        }
    }
}

/// A convolution / pooling window as the kernels read it (`struct Window` in `common.cuh`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WindowArg {
    pub input: [i32; 3],
    pub output: [i32; 3],
    pub kernel: [i32; 3],
    pub stride: [i32; 3],
    pub pad: [i32; 3],
    pub pad_end: [i32; 3],
    pub dilation: [i32; 3],
}

/// Most functions one chain launch applies (`MAX_STEPS` in `elementwise.cu`).
pub const MAX_CHAIN: usize = 8;

/// The functions of one chain launch (`struct Chain` in `elementwise.cu`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ChainArg {
    pub n: i32,
    pub code: [i32; MAX_CHAIN],
    pub a: [f32; MAX_CHAIN],
    pub b: [f32; MAX_CHAIN],
}

/// One kernel argument, in the kernel's parameter order.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Ptr(Buf),
    I32(i32),
    I64(i64),
    F32(f32),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    /// `struct Dims` (8 × int64: shapes, strides).
    Dims([i64; 8]),
    /// `struct Scales` (8 × double: resize scales).
    Scales([f64; 8]),
    Window(WindowArg),
    Chain(ChainArg),
}

impl Arg {
    /// Bytes the kernel parameter takes (what the PTX declares for it).
    pub fn size(&self) -> usize {
        match self {
            Arg::U8(_) => 1,
            Arg::U16(_) => 2,
            Arg::I32(_) | Arg::F32(_) | Arg::U32(_) => 4,
            Arg::Ptr(_) | Arg::I64(_) | Arg::U64(_) => 8,
            Arg::Dims(_) => 64,
            Arg::Scales(_) => 64,
            Arg::Window(_) => std::mem::size_of::<WindowArg>(),
            Arg::Chain(_) => std::mem::size_of::<ChainArg>(),
        }
    }
}

/// Checks `args` against a kernel's parameter sizes; the error names the kernel and what differs.
pub fn check_args(kernel: &str, args: &[Arg], params: &[usize]) -> Result<(), String> {
    let got: Vec<usize> = args.iter().map(Arg::size).collect();
    if got != params {
        return Err(format!(
            "kernel {kernel} takes parameters of {params:?} bytes, the launch passes {got:?}"
        ));
    }
    Ok(())
}

/// A kernel launch: a 1-D grid of `grid` blocks of `block` threads.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    /// The `extern "C"` name, e.g. `binary_f32`.
    pub kernel: String,
    pub grid: u32,
    pub block: u32,
    pub args: Vec<Arg>,
}

/// A GEMM in cuBLASLt's column-major terms, `D = alpha · op(A) · op(B) + beta · C` with C = D,
/// `batch` times with the given element strides (0: the same matrix for every batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Gemm {
    pub dtype: DType,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub trans_a: bool,
    pub trans_b: bool,
    pub lda: i64,
    pub ldb: i64,
    pub ldc: i64,
    pub batch: i32,
    pub stride_a: i64,
    pub stride_b: i64,
    pub stride_c: i64,
    pub alpha: f32,
    /// 0, or 1 to accumulate onto what D holds.
    pub beta: f32,
    pub a: Buf,
    pub b: Buf,
    pub d: Buf,
}

/// One input of a [`HostStep`].
#[derive(Clone, Debug, PartialEq)]
pub enum HostInput {
    /// An absent optional input.
    Absent,
    /// Known while lowering (a constant, a shape): handed to the CPU kernel as it is.
    Known(Arc<Tensor>),
    /// Computed on the device: copied to the host when the step runs.
    Device(DeviceTensor),
}

/// A node with no device kernel, run by the CPU backend's kernel (`--allow-cpu-fallback`): the
/// stream is synchronised, the device inputs copied to the host, the node run, and its outputs
/// copied to their planned device buffers. Its output shapes were derived while lowering, so the
/// arena plan holds for them.
#[derive(Clone, Debug, PartialEq)]
pub struct HostStep {
    pub node: Box<Node>,
    /// One per node input, in order.
    pub inputs: Vec<HostInput>,
    /// One per node output, in order; `None` where the graph does not use the output.
    pub outputs: Vec<Option<DeviceTensor>>,
}

impl HostStep {
    /// The device tensors copied to the host before the node runs.
    pub fn to_host(&self) -> impl Iterator<Item = &DeviceTensor> {
        self.inputs.iter().filter_map(|i| match i {
            HostInput::Device(t) => Some(t),
            _ => None,
        })
    }

    /// The device tensors the node's outputs are copied to.
    pub fn to_device(&self) -> impl Iterator<Item = &DeviceTensor> {
        self.outputs.iter().flatten()
    }
}

/// One unit of work on the stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Launch(Launch),
    Gemm(Gemm),
    /// Device-to-device copy.
    Copy {
        src: Buf,
        dst: Buf,
        bytes: usize,
    },
    /// A node run on the host between device steps.
    Host(HostStep),
}

impl Step {
    /// What the step runs, as a profile names it: the kernel, `cublasLt gemm f16`, `copy`, or
    /// `host Op`.
    pub fn label(&self) -> String {
        match self {
            Step::Launch(l) => l.kernel.clone(),
            Step::Gemm(g) => format!("cublasLt gemm {}", g.dtype),
            Step::Copy { .. } => "copy".into(),
            Step::Host(h) => format!("host {}", h.node.op.name()),
        }
    }

    /// Every buffer the step touches.
    pub fn bufs(&self) -> Vec<Buf> {
        match self {
            Step::Launch(l) => l
                .args
                .iter()
                .filter_map(|a| match a {
                    Arg::Ptr(b) => Some(*b),
                    _ => None,
                })
                .collect(),
            Step::Gemm(g) => vec![g.a, g.b, g.d],
            Step::Copy { src, dst, .. } => vec![*src, *dst],
            Step::Host(h) => h.to_host().chain(h.to_device()).map(|t| t.buf).collect(),
        }
    }

    /// The same step with every buffer passed through `f`.
    pub fn map_bufs(&mut self, f: &impl Fn(Buf) -> Buf) {
        match self {
            Step::Launch(l) => l.args.iter_mut().for_each(|a| {
                if let Arg::Ptr(b) = a {
                    *b = f(*b);
                }
            }),
            Step::Gemm(g) => {
                g.a = f(g.a);
                g.b = f(g.b);
                g.d = f(g.d);
            }
            Step::Copy { src, dst, .. } => {
                *src = f(*src);
                *dst = f(*dst);
            }
            Step::Host(h) => {
                for i in &mut h.inputs {
                    if let HostInput::Device(t) = i {
                        t.buf = f(t.buf);
                    }
                }
                for t in h.outputs.iter_mut().flatten() {
                    t.buf = f(t.buf);
                }
            }
        }
    }
}

/// A tensor on the device: where, what type, what shape.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceTensor {
    pub buf: Buf,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl DeviceTensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.len() * self.dtype.size()
    }
}

/// Where one graph output comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum OutputSource {
    Device(DeviceTensor),
    /// Known on the host without running anything (a shape, a folded constant).
    Host(Arc<Tensor>),
}

/// Everything needed to run the graph for one set of input shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The steps in order, each with the index of the graph node it belongs to.
    pub steps: Vec<(Step, usize)>,
    /// Bytes of the activation arena (inputs, intermediates, outputs, scratch).
    pub arena_bytes: usize,
    /// Graph inputs in order: where each is copied to (arena offset; `Buf::Null` when unused).
    pub inputs: Vec<DeviceTensor>,
    pub outputs: Vec<OutputSource>,
    /// Host-computed constants the steps read (`Buf::Const`).
    pub consts: Vec<Arc<Tensor>>,
}

impl Program {
    /// Whether any step runs on the host (such a program cannot be one CUDA graph).
    pub fn has_host_steps(&self) -> bool {
        self.steps.iter().any(|(s, _)| matches!(s, Step::Host(_)))
    }
}
