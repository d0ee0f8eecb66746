//! The CPU fallback (`--allow-cpu-fallback`): a node the device has no kernel for becomes a
//! [`HostStep`] that the worker runs between device steps with the CPU backend's kernel (the
//! stream synchronised, device inputs copied to the host, outputs copied back).
//!
//! The arena is planned while lowering, so the outputs' dtypes and shapes must be known then. They
//! are found by running the same CPU kernel once, at lowering, on the inputs known on the host and
//! zeros of the right dtype and shape in place of the device ones. That is exact for every op
//! whose output shapes follow from its input shapes and its shape-deciding inputs
//! ([`support::shape_inputs`], which must be known on the host); ops whose shapes follow from the
//! data itself are refused ([`support::host_fallback`]). It costs one CPU run of the node per set
//! of input shapes, once, when the program is lowered; the graph's inferred shapes are not used
//! because they are symbolic for any model with dynamic dims.

use super::{support, Lowerer, Value};
use crate::backend::cuda::program::{HostInput, HostStep, Step};
use crate::error::{Error, Result};
use crate::ir::Node;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Lowers `node` to a step run on the host; its outputs get device buffers.
pub fn host_step(l: &mut Lowerer<'_>, node: &Node) -> Result<Vec<Value>> {
    support::host_fallback(&node.op)
        .map_err(|why| Error::Graph(format!("it cannot fall back to the CPU: {why}")))?;
    let shape_inputs = support::shape_inputs(&node.op);
    let mut inputs = Vec::with_capacity(node.inputs.len());
    let mut probe: Vec<Option<Arc<Tensor>>> = Vec::with_capacity(node.inputs.len());
    for (i, v) in node.inputs.iter().enumerate() {
        let Some(v) = v else {
            inputs.push(HostInput::Absent);
            probe.push(None);
            continue;
        };
        let val = l.input(node, i)?;
        if let Some(t) = &val.host {
            inputs.push(HostInput::Known(t.clone()));
            probe.push(Some(t.clone()));
            continue;
        }
        if shape_inputs.contains(&i) {
            return Err(Error::Graph(format!(
                "it cannot fall back to the CPU: its input {i} '{}' decides the output shape but \
                 is computed on the device",
                l.graph().name_of(*v)
            )));
        }
        let zeros = Tensor::zeros(val.dtype, val.shape.clone())?;
        probe.push(Some(Arc::new(zeros)));
        let t = l.dev_input(node, i)?;
        inputs.push(HostInput::Device(t));
    }
    let refs: Vec<Option<&Tensor>> = probe.iter().map(|a| a.as_deref()).collect();
    let shaped = crate::backend::cpu::ops::run(node, &refs)?;
    let mut outputs = Vec::with_capacity(shaped.len());
    let mut vals = Vec::with_capacity(shaped.len());
    for (i, t) in shaped.into_iter().enumerate() {
        if node.outputs.get(i).copied().flatten().is_none() {
            outputs.push(None);
            // Not stored: the graph does not use this output.
            vals.push(Value::host(t));
            continue;
        }
        let dev = l.alloc(t.dtype(), t.shape().to_vec());
        outputs.push(Some(dev.clone()));
        vals.push(Value::device(dev));
    }
    l.push(Step::Host(HostStep {
        node: Box::new(node.clone()),
        inputs,
        outputs,
    }));
    Ok(vals)
}
