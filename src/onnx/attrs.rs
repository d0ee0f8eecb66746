//! Typed access to a node's attributes, with errors that name the node, its op and the attribute.

use super::proto::{AttributeProto, GraphProto, NodeProto, TensorProto};
use crate::error::{Error, Result};
use crate::ir::AutoPad;
use crate::tensor::Tensor;

/// A node being imported: its proto, the opset of its domain, and attribute getters.
pub struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub name: String,
    pub op_type: &'a str,
    pub domain: &'a str,
    pub opset: i64,
}

impl<'a> NodeCtx<'a> {
    pub fn new(node: &'a NodeProto, name: String, opset: i64) -> NodeCtx<'a> {
        NodeCtx {
            node,
            name,
            op_type: node.op_type.as_deref().unwrap_or(""),
            domain: node.domain.as_deref().unwrap_or(""),
            opset,
        }
    }

    /// An import error for this node.
    pub fn err(&self, msg: impl Into<String>) -> Error {
        Error::node(&self.name, self.op_type, msg)
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
    }

    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    pub fn int_opt(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|a| a.i)
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.int_opt(name).unwrap_or(default)
    }

    pub fn bool(&self, name: &str, default: bool) -> bool {
        self.int_opt(name).map(|v| v != 0).unwrap_or(default)
    }

    pub fn float_opt(&self, name: &str) -> Option<f32> {
        self.attr(name).and_then(|a| a.f)
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.float_opt(name).unwrap_or(default)
    }

    pub fn ints_opt(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn ints(&self, name: &str) -> Vec<i64> {
        self.ints_opt(name).unwrap_or_default()
    }

    pub fn floats_opt(&self, name: &str) -> Option<Vec<f32>> {
        self.attr(name).map(|a| a.floats.clone())
    }

    /// Non-negative integers (kernel sizes, strides, pads); a negative value is an error.
    pub fn usizes(&self, name: &str) -> Result<Vec<usize>> {
        self.ints(name)
            .into_iter()
            .map(|v| {
                usize::try_from(v)
                    .map_err(|_| self.err(format!("attribute '{name}' has negative value {v}")))
            })
            .collect()
    }

    pub fn string_opt(&self, name: &str) -> Option<String> {
        self.attr(name)
            .and_then(|a| a.s.as_ref())
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.string_opt(name).unwrap_or_else(|| default.to_string())
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.attr(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn tensor_proto(&self, name: &str) -> Option<&'a TensorProto> {
        self.attr(name).and_then(|a| a.t.as_ref())
    }

    /// A tensor-valued attribute (embedded data only).
    pub fn tensor_opt(&self, name: &str) -> Result<Option<Tensor>> {
        self.tensor_proto(name)
            .map(|t| {
                super::tensor_proto::from_proto(t, None)
                    .map_err(|e| self.err(format!("attribute '{name}': {e}")))
            })
            .transpose()
    }

    pub fn graph(&self, name: &str) -> Option<&'a GraphProto> {
        self.attr(name).and_then(|a| a.g.as_ref())
    }

    pub fn auto_pad(&self) -> Result<AutoPad> {
        Ok(match self.string("auto_pad", "NOTSET").as_str() {
            "NOTSET" | "" => AutoPad::NotSet,
            "SAME_UPPER" => AutoPad::SameUpper,
            "SAME_LOWER" => AutoPad::SameLower,
            "VALID" => AutoPad::Valid,
            other => return Err(self.err(format!("unknown auto_pad '{other}'"))),
        })
    }

    /// Number of inputs the node lists (including empty names for skipped optional ones).
    pub fn input_count(&self) -> usize {
        self.node.input.len()
    }

    /// Whether optional input `i` is given (present and not the empty name).
    pub fn has_input(&self, i: usize) -> bool {
        self.node.input.get(i).is_some_and(|s| !s.is_empty())
    }
}
