//! ONNX node → [`Op`]: one file per op family, dispatched by this explicit list. Each converter
//! reads attributes for the node's opset and returns `Ok(None)` when the op type is not one rtforge
//! supports (the loader gathers those into one error). If and Loop are imported by the loader itself,
//! since their subgraphs change the node's inputs.

mod elementwise;
mod nn;
mod quant;
mod recurrent;
mod reduce;
mod shape;

use super::attrs::NodeCtx;
use crate::error::Result;
use crate::ir::Op;

/// Converts one node of the default ONNX domain. `Ok(None)`: the op type is not supported.
pub fn convert(ctx: &NodeCtx) -> Result<Option<Op>> {
    if !matches!(ctx.domain, "" | "ai.onnx") {
        return Ok(None);
    }
    for family in [
        elementwise::convert,
        nn::convert,
        shape::convert,
        reduce::convert,
        recurrent::convert,
        quant::convert,
    ] {
        if let Some(op) = family(ctx)? {
            return Ok(Some(op));
        }
    }
    Ok(None)
}
