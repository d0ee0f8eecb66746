//! The library's error type. Every variant names what the user needs to find the problem: the file,
//! node, op, tensor, shape or backend involved.

use std::path::Path;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One unsupported op type, as reported at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    pub domain: String,
    pub op_type: String,
    pub opset: i64,
    pub first_node: String,
}

impl std::fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = if self.domain.is_empty() {
            "ai.onnx"
        } else {
            &self.domain
        };
        write!(
            f,
            "{domain}::{} (opset {}, first used by node '{}')",
            self.op_type, self.opset, self.first_node
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },

    #[error("{path}: not a valid ONNX model: {msg}")]
    Decode { path: String, msg: String },

    #[error("{}", unsupported_message(.path, .ops))]
    UnsupportedOps {
        path: String,
        ops: Vec<UnsupportedOp>,
    },

    #[error("node '{node}' ({op}): {msg}")]
    Node {
        node: String,
        op: String,
        msg: String,
    },

    #[error("tensor '{name}': {msg}")]
    Tensor { name: String, msg: String },

    #[error("invalid graph: {0}")]
    Graph(String),

    #[error("shape error: {0}")]
    Shape(String),

    #[error("dtype error: {0}")]
    DType(String),

    #[error("{path}: {msg}")]
    Npy { path: String, msg: String },

    #[error("{0}")]
    Input(String),

    #[error("backend '{backend}': {msg}")]
    Backend { backend: String, msg: String },

    /// A plan file that cannot be used: truncated, corrupted, another format version, or built for
    /// another backend. `rebuild` is the command that makes a usable one.
    #[error("{path}: {msg}; rebuild it with `{rebuild}`")]
    Plan {
        path: String,
        msg: String,
        rebuild: String,
    },

    #[error("{0}")]
    Other(String),
}

fn unsupported_message(path: &str, ops: &[UnsupportedOp]) -> String {
    let list: Vec<String> = ops.iter().map(|o| format!("  - {o}")).collect();
    format!(
        "{path}: {} unsupported op type(s):\n{}",
        ops.len(),
        list.join("\n")
    )
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// An error raised while running or importing one node.
    pub fn node(node: &str, op: &str, msg: impl Into<String>) -> Error {
        Error::Node {
            node: node.to_string(),
            op: op.to_string(),
            msg: msg.into(),
        }
    }

    pub fn tensor(name: &str, msg: impl Into<String>) -> Error {
        Error::Tensor {
            name: name.to_string(),
            msg: msg.into(),
        }
    }

    /// Wraps an error that has no node context yet (a kernel's shape check) with the node's name and op.
    pub fn in_node(self, node: &str, op: &str) -> Error {
        match self {
            e @ Error::Node { .. } => e,
            e => Error::node(node, op, e.to_string()),
        }
    }
}
