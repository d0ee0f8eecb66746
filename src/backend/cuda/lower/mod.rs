//! Lowering: turns the graph, for one set of concrete input shapes, into a [`Program`] of kernel
//! launches and GEMMs. Nodes are visited in order with every value's dtype and shape known:
//!
//! - `Shape` and `Size` are answered from shapes, on the host;
//! - a node whose inputs are all known on the host (initializers, shapes, what was computed from
//!   them) runs once on the host through the CPU backend's kernels, like constant folding;
//! - every other node becomes device work, by op family: [`elementwise`], [`conv`], [`gemm`]
//!   (Gemm, MatMul, Attention), [`norm`] (softmax, normalizations, pooling, reductions) and
//!   [`layout`] (reshapes, transposes, slicing, gathering, padding, resizing), [`recurrent`]
//!   (LSTM, GRU, RNN);
//! - an `If` whose condition is known on the host has its chosen branch lowered inline
//!   ([`control`]); small integer graph inputs are known on the host too ([`input_spec`]);
//! - with `--allow-cpu-fallback`, a node the device has no kernel for runs on the host between
//!   device steps ([`host`]).
//!
//! Activations live in virtual buffers whose lifetimes (first and last step using them) give the
//! arena plan at the end ([`super::arena`]). Which ops the device has at all is decided statically
//! in [`support`], so an unsupported op fails when the engine is built, not on the first query.

mod control;
mod conv;
mod elementwise;
mod gemm;
mod host;
pub mod input_spec;
mod layout;
mod norm;
mod recurrent;
mod resize;
pub mod shapes;
pub mod support;
pub mod window;

use super::arena::{self, Lifetime};
use super::program::{Arg, Buf, DeviceTensor, Gemm, Launch, OutputSource, Program, Step};
use crate::error::{Error, Result};
use crate::ir::{Graph, Node, Op};
use crate::tensor::{DType, Tensor};
use std::sync::Arc;

pub use input_spec::{input_specs, InputSpec};

/// Threads per block of the elementwise (grid-stride) kernels.
pub const BLOCK: u32 = 256;
/// Elements a thread of a chunked kernel takes (`VEC` in `common.cuh`).
const VEC: usize = 8;
/// Most blocks an elementwise launch uses; grid-stride loops cover the rest (65536 × 256 threads
/// keep every SM of an H100 busy many times over).
const MAX_GRID: u64 = 65_536;

/// What is known about one value while lowering: always its dtype and shape; its device buffer
/// once it has one; its contents when they are known on the host.
#[derive(Clone, Debug)]
pub struct Value {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub dev: Option<Buf>,
    pub host: Option<Arc<Tensor>>,
}

impl Value {
    pub fn device(t: DeviceTensor) -> Value {
        Value {
            dtype: t.dtype,
            shape: t.shape,
            dev: Some(t.buf),
            host: None,
        }
    }

    pub fn host(t: Tensor) -> Value {
        Value {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            dev: None,
            host: Some(Arc::new(t)),
        }
    }
}

/// The lowering state of one graph for one set of input shapes.
pub struct Lowerer<'g> {
    g: &'g Graph,
    vals: Vec<Option<Value>>,
    /// Virtual buffers: bytes, first and last step (usize::MAX / 0 until used).
    bufs: Vec<Lifetime>,
    steps: Vec<(Step, usize)>,
    consts: Vec<Arc<Tensor>>,
    /// Index of the node being lowered.
    node: usize,
    /// Nodes without a device kernel run on the host ([`host`]).
    allow_cpu_fallback: bool,
}

/// Lowers `g` for inputs of the given dtypes and shapes (in `g.inputs` order); the values an
/// [`InputSpec`] carries are known on the host.
pub fn lower(g: &Graph, inputs: &[InputSpec]) -> Result<Program> {
    lower_with(g, inputs, false)
}

/// [`lower`], where with `allow_cpu_fallback` a node the device has no kernel for becomes a step
/// run on the host instead of an error.
pub fn lower_with(g: &Graph, inputs: &[InputSpec], allow_cpu_fallback: bool) -> Result<Program> {
    g.check_input_count(inputs.len())?;
    let mut l = Lowerer {
        g,
        vals: vec![None; g.values.len()],
        bufs: vec![],
        steps: vec![],
        consts: vec![],
        node: 0,
        allow_cpu_fallback,
    };
    for (v, t) in &g.initializers {
        l.vals[v.0] = Some(Value {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            dev: Some(Buf::Weight {
                value: *v,
                offset: 0,
            }),
            host: Some(t.clone()),
        });
    }
    let mut input_slots = vec![];
    for (v, spec) in g.inputs.iter().zip(inputs) {
        let t = l.alloc(spec.dtype, spec.shape.clone());
        // Written by the host-to-device copy before the first step.
        if let Buf::Virtual { id, .. } = t.buf {
            l.bufs[id].first = 0;
        }
        let mut val = Value::device(t.clone());
        val.host = spec.host_tensor()?.map(Arc::new);
        l.vals[v.0] = Some(val);
        input_slots.push(t);
    }
    for (i, node) in g.nodes.iter().enumerate() {
        l.node = i;
        l.lower_and_store(node)?;
    }
    l.finish(input_slots)
}

impl<'g> Lowerer<'g> {
    /// Lowers one node of the graph being lowered and records its outputs; errors name the node.
    fn lower_and_store(&mut self, node: &'g Node) -> Result<()> {
        let outs = self
            .lower_node(node)
            .map_err(|e| e.in_node(&node.name, node.op.name()))?;
        for (slot, val) in node.outputs.iter().zip(outs) {
            if let Some(v) = slot {
                self.vals[v.0] = Some(val);
            }
        }
        if let Some(missing) = node
            .outputs
            .iter()
            .flatten()
            .find(|v| self.vals[v.0].is_none())
        {
            return Err(Error::node(
                &node.name,
                node.op.name(),
                format!("output '{}' was not produced", self.g.name_of(*missing)),
            ));
        }
        Ok(())
    }

    /// Lowers one node: from shapes, on the host, or as device work.
    fn lower_node(&mut self, node: &'g Node) -> Result<Vec<Value>> {
        if let Some(v) = shapes::shape_op(self, node)? {
            return Ok(vec![v]);
        }
        let inputs_on_host = node
            .inputs
            .iter()
            .flatten()
            .all(|v| self.vals[v.0].as_ref().is_some_and(|x| x.host.is_some()));
        if inputs_on_host {
            return self.run_on_host(node);
        }
        if let Err(m) = support::device_op(&node.op) {
            if self.allow_cpu_fallback {
                return host::host_step(self, node);
            }
            return Err(Error::node(&node.name, node.op.name(), m));
        }
        match &node.op {
            Op::Unary(p) => elementwise::unary(self, node, p),
            Op::Binary(p) => elementwise::binary(self, node, p.kind),
            Op::Variadic(p) => elementwise::variadic(self, node, p),
            Op::Clip(p) => elementwise::clip(self, node, p),
            Op::Where => elementwise::where_(self, node),
            Op::PRelu => elementwise::prelu(self, node),
            Op::Cast(p) => elementwise::cast(self, node, p.to),
            Op::CastLike => {
                let to = self.input(node, 1)?.dtype;
                elementwise::cast(self, node, to)
            }
            Op::Identity | Op::Dropout(_) => elementwise::identity(self, node),
            Op::ElementwiseChain(p) => elementwise::chain(self, node, p),
            Op::Softmax(p) => norm::softmax(self, node, p, false),
            Op::LogSoftmax(p) => norm::softmax(self, node, p, true),
            Op::BatchNormalization(p) => norm::batch_norm(self, node, p),
            Op::InstanceNormalization(p) => norm::instance_norm(self, node, p),
            Op::LayerNormalization(p) => norm::layer_norm(self, node, p),
            Op::Pool(p) => norm::pool(self, node, p),
            Op::GlobalPool(p) => norm::global_pool(self, node, p),
            Op::Reduce(p) => norm::reduce(self, node, p),
            Op::Conv(p) => conv::conv(self, node, p),
            Op::ConvTranspose(p) => conv::conv_transpose(self, node, p),
            Op::Gemm(p) => gemm::gemm(self, node, p),
            Op::MatMul(p) => gemm::matmul(self, node, p),
            Op::Attention(p) => gemm::attention(self, node, p),
            Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze(_) | Op::Unsqueeze(_) => {
                layout::reshape_like(self, node)
            }
            Op::Transpose(p) => layout::transpose(self, node, p),
            Op::Concat(p) => layout::concat(self, node, p),
            Op::Split(p) => layout::split(self, node, p),
            Op::Slice(p) => layout::slice(self, node, p),
            Op::Gather(p) => layout::gather(self, node, p),
            Op::Expand => layout::expand(self, node),
            Op::Tile => layout::tile(self, node),
            Op::Pad(p) => layout::pad(self, node, p),
            Op::Resize(p) => layout::resize(self, node, p),
            Op::DepthToSpace(p) => layout::depth_to_space(self, node, p),
            Op::SpaceToDepth(p) => layout::space_to_depth(self, node, p),
            Op::Rnn(p) => recurrent::rnn(self, node, p),
            Op::If(p) => control::if_(self, node, p),
            // `support::device_op` has refused everything else.
            other => Err(Error::node(
                &node.name,
                other.name(),
                "the CUDA backend has no kernel for this op",
            )),
        }
    }

    /// Runs a node whose inputs are all known on the host through the CPU backend's kernel.
    fn run_on_host(&mut self, node: &Node) -> Result<Vec<Value>> {
        let args: Vec<Option<Arc<Tensor>>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| self.vals[v.0].as_ref().and_then(|x| x.host.clone())))
            .collect();
        let refs: Vec<Option<&Tensor>> = args.iter().map(|a| a.as_deref()).collect();
        let outs = crate::backend::cpu::ops::run(node, &refs)?;
        Ok(outs.into_iter().map(Value::host).collect())
    }

    /// The graph being lowered.
    pub fn graph(&self) -> &'g Graph {
        self.g
    }

    /// Input `i` of `node`, which must be present.
    pub fn input(&self, node: &Node, i: usize) -> Result<&Value> {
        let v = node
            .input(i)
            .ok_or_else(|| Error::Graph(format!("input {i} is required but absent")))?;
        self.vals[v.0]
            .as_ref()
            .ok_or_else(|| Error::Graph(format!("input {i} '{}' has no value", self.g.name_of(v))))
    }

    /// Input `i` of `node`, if present.
    pub fn opt_input(&self, node: &Node, i: usize) -> Option<&Value> {
        node.input(i).and_then(|v| self.vals[v.0].as_ref())
    }

    /// The contents of input `i`, which must be known before running (a constant, or computed
    /// from shapes); `None` when the input is absent.
    pub fn host_input(&self, node: &Node, i: usize) -> Result<Option<Arc<Tensor>>> {
        let Some(v) = node.input(i) else {
            return Ok(None);
        };
        let val = self.input(node, i)?;
        val.host.clone().map(Some).ok_or_else(|| {
            Error::Graph(format!(
                "input {i} '{}' must be known before running (a constant, or computed from \
                 shapes) on the CUDA backend, but it is computed on the device",
                self.g.name_of(v)
            ))
        })
    }

    /// Input `i` as a device tensor; a value known only on the host is uploaded as a constant
    /// (once: later uses share it).
    pub fn dev_input(&mut self, node: &Node, i: usize) -> Result<DeviceTensor> {
        let v = node
            .input(i)
            .ok_or_else(|| Error::Graph(format!("input {i} is required but absent")))?;
        self.input(node, i)?;
        Ok(self.dev_value(v))
    }

    /// Input `i` as a device tensor, if present.
    pub fn opt_dev_input(&mut self, node: &Node, i: usize) -> Option<DeviceTensor> {
        let v = node.input(i)?;
        self.vals[v.0].as_ref()?;
        Some(self.dev_value(v))
    }

    fn dev_value(&mut self, v: crate::ir::ValueId) -> DeviceTensor {
        let val = self.vals[v.0].as_mut().expect("checked by the caller");
        let buf = match (val.dev, &val.host) {
            (Some(b), _) => b,
            (None, Some(t)) => {
                self.consts.push(t.clone());
                let b = Buf::Const {
                    index: self.consts.len() - 1,
                    offset: 0,
                };
                val.dev = Some(b);
                b
            }
            (None, None) => unreachable!("a value is on the device, the host or both"),
        };
        DeviceTensor {
            buf,
            dtype: val.dtype,
            shape: val.shape.clone(),
        }
    }

    /// A tensor computed on the host, uploaded with the program as a constant.
    pub fn const_tensor(&mut self, t: Tensor) -> DeviceTensor {
        let (dtype, shape) = (t.dtype(), t.shape().to_vec());
        self.consts.push(Arc::new(t));
        DeviceTensor {
            buf: Buf::Const {
                index: self.consts.len() - 1,
                offset: 0,
            },
            dtype,
            shape,
        }
    }

    /// A new activation buffer for a tensor of `dtype` and `shape`.
    pub fn alloc(&mut self, dtype: DType, shape: Vec<usize>) -> DeviceTensor {
        let bytes = shape.iter().product::<usize>() * dtype.size();
        DeviceTensor {
            buf: self.scratch(bytes),
            dtype,
            shape,
        }
    }

    /// A new buffer of `bytes` (scratch space of one node, such as im2col's columns).
    pub fn scratch(&mut self, bytes: usize) -> Buf {
        self.bufs.push(Lifetime {
            bytes,
            first: usize::MAX,
            last: 0,
        });
        Buf::Virtual {
            id: self.bufs.len() - 1,
            offset: 0,
        }
    }

    /// Appends a step, extending the lifetime of every buffer it touches.
    pub fn push(&mut self, step: Step) {
        let at = self.steps.len();
        for b in step.bufs() {
            if let Buf::Virtual { id, .. } = b {
                let lt = &mut self.bufs[id];
                lt.first = lt.first.min(at);
                lt.last = lt.last.max(at);
            }
        }
        self.steps.push((step, self.node));
    }

    /// Launches a grid-stride kernel over `n` work items (nothing when `n` is 0).
    pub fn launch(&mut self, kernel: impl Into<String>, n: usize, args: Vec<Arg>) {
        if n == 0 {
            return;
        }
        let grid = (n as u64).div_ceil(BLOCK as u64).clamp(1, MAX_GRID) as u32;
        self.launch_grid(kernel, grid, BLOCK, args);
    }

    /// Launches a chunked elementwise kernel over `n` elements, [`VEC`] a thread
    /// (`FOR_EACH_CHUNK` in `common.cuh`).
    pub fn launch_chunks(&mut self, kernel: impl Into<String>, n: usize, args: Vec<Arg>) {
        self.launch(kernel, n.div_ceil(VEC), args);
    }

    /// Launches a kernel on `grid` blocks of `block` threads.
    pub fn launch_grid(
        &mut self,
        kernel: impl Into<String>,
        grid: u32,
        block: u32,
        args: Vec<Arg>,
    ) {
        if grid == 0 {
            return;
        }
        self.push(Step::Launch(Launch {
            kernel: kernel.into(),
            grid,
            block,
            args,
        }));
    }

    pub fn gemm(&mut self, g: Gemm) {
        if g.m == 0 || g.n == 0 || g.batch == 0 {
            return;
        }
        self.push(Step::Gemm(g));
    }

    /// Copies `bytes` from `src` to `dst` on the device.
    pub fn copy(&mut self, src: Buf, dst: Buf, bytes: usize) {
        if bytes > 0 {
            self.push(Step::Copy { src, dst, bytes });
        }
    }

    /// Plans the arena and produces the program.
    fn finish(mut self, inputs: Vec<DeviceTensor>) -> Result<Program> {
        let end = self.steps.len();
        let mut outputs = vec![];
        for &v in &self.g.outputs {
            let val = self.vals[v.0].clone().ok_or_else(|| {
                Error::Graph(format!("output '{}' has no value", self.g.name_of(v)))
            })?;
            outputs.push(match (val.dev, val.host) {
                (_, Some(t)) => OutputSource::Host(t),
                (Some(buf), None) => {
                    if let Buf::Virtual { id, .. } = buf {
                        // Read by the device-to-host copy after the last step.
                        self.bufs[id].last = end;
                        self.bufs[id].first = self.bufs[id].first.min(end);
                    }
                    OutputSource::Device(DeviceTensor {
                        buf,
                        dtype: val.dtype,
                        shape: val.shape,
                    })
                }
                (None, None) => unreachable!("a value is on the device, the host or both"),
            });
        }
        // Inputs keep their bytes for the whole program, so a query may leave the previous
        // query's inputs on the device instead of copying them again (`--no-data-transfers`).
        for t in &inputs {
            if let Buf::Virtual { id, .. } = t.buf {
                self.bufs[id].last = end;
            }
        }
        // Buffers no step touched (an unused input) still get a slot of their own size.
        for lt in &mut self.bufs {
            if lt.first == usize::MAX {
                lt.first = 0;
            }
        }
        let (offsets, arena_bytes) = arena::plan(&self.bufs);
        let place = |b: Buf| match b {
            Buf::Virtual { id, offset } => Buf::Arena(offsets[id] + offset),
            other => other,
        };
        for (s, _) in &mut self.steps {
            s.map_bufs(&place);
        }
        let placed = |mut t: DeviceTensor| {
            t.buf = place(t.buf);
            t
        };
        Ok(Program {
            steps: self.steps,
            arena_bytes,
            inputs: inputs.into_iter().map(placed).collect(),
            outputs: outputs
                .into_iter()
                .map(|o| match o {
                    OutputSource::Device(t) => OutputSource::Device(placed(t)),
                    h => h,
                })
                .collect(),
            consts: self.consts,
        })
    }
}

/// An error for a dtype an op has no CUDA kernel for.
pub fn dtype_error(what: &str, dtype: DType) -> Error {
    Error::DType(format!("{what} has no CUDA kernel for {dtype}"))
}

/// The kernel suffix of a float dtype (`f32`, `f16`).
pub fn float_suffix(what: &str, dtype: DType) -> Result<&'static str> {
    match dtype {
        DType::F32 => Ok("f32"),
        DType::F16 => Ok("f16"),
        other => Err(dtype_error(what, other)),
    }
}

/// The kernel suffix of a data-movement kernel for `dtype` (by element size).
pub fn size_suffix(dtype: DType) -> &'static str {
    match dtype.size() {
        1 => "b1",
        2 => "b2",
        4 => "b4",
        _ => "b8",
    }
}

/// Up to 8 dims as the kernels' `Dims`.
pub fn dims(v: &[i64]) -> Result<Arg> {
    if v.len() > 8 {
        return Err(Error::Shape(format!(
            "{} dimensions; the CUDA kernels take at most 8",
            v.len()
        )));
    }
    let mut d = [0i64; 8];
    d[..v.len()].copy_from_slice(v);
    Ok(Arg::Dims(d))
}

/// Row-major element strides of `shape`.
pub fn strides_of(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![0i64; shape.len()];
    let mut acc = 1i64;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d] as i64;
    }
    s
}

/// `shape` as i64.
pub fn shape_i64(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}
