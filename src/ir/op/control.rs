//! Control flow: If and Loop, with their subgraphs.

use crate::ir::Graph;

/// If. The node's inputs are `[cond, then captures..., else captures...]`, where each branch's
/// `captures` lists the outer-scope values it reads (see [`Graph::captures`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct If {
    pub then_branch: Box<Graph>,
    pub else_branch: Box<Graph>,
}

/// Loop. The node's inputs are `[M, cond, v_initial..., body captures...]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loop {
    pub body: Box<Graph>,
}
