//! Reductions and selection: Reduce*, ArgMax/ArgMin, TopK, CumSum. <https://onnx.ai/onnx/operators/>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    let kind = match c.op_type {
        "ReduceSum" => ReduceKind::Sum,
        "ReduceMean" => ReduceKind::Mean,
        "ReduceMax" => ReduceKind::Max,
        "ReduceMin" => ReduceKind::Min,
        "ReduceProd" => ReduceKind::Prod,
        "ReduceL1" => ReduceKind::L1,
        "ReduceL2" => ReduceKind::L2,
        "ReduceLogSum" => ReduceKind::LogSum,
        "ReduceLogSumExp" => ReduceKind::LogSumExp,
        "ReduceSumSquare" => ReduceKind::SumSquare,
        "ArgMax" | "ArgMin" => {
            return Ok(Some(Op::ArgReduce(ArgReduce {
                max: c.op_type == "ArgMax",
                axis: c.int("axis", 0),
                keepdims: c.bool("keepdims", true),
                select_last_index: c.bool("select_last_index", false),
            })))
        }
        "TopK" => {
            return Ok(Some(Op::TopK(TopK {
                axis: c.int("axis", -1),
                largest: c.bool("largest", true),
                sorted: c.bool("sorted", true),
                k: if c.opset < 10 {
                    Some(c.int_opt("k").ok_or_else(|| c.err("k is required"))?)
                } else {
                    None
                },
            })))
        }
        "CumSum" => {
            return Ok(Some(Op::CumSum(CumSum {
                exclusive: c.bool("exclusive", false),
                reverse: c.bool("reverse", false),
            })))
        }
        _ => return Ok(None),
    };
    // `axes` moved from attribute to input at opset 13 for ReduceSum and 18 for the others.
    Ok(Some(Op::Reduce(Reduce {
        kind,
        axes: c.ints_opt("axes"),
        keepdims: c.bool("keepdims", true),
        noop_with_empty_axes: c.bool("noop_with_empty_axes", false),
    })))
}
