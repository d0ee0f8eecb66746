//! The graph: values (with dtype and possibly symbolic shape), nodes in topological order, inputs,
//! outputs and initializers. One concrete type; passes change it only through
//! [`Patch`](super::Patch).

use super::Op;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Index of a value in [`Graph::values`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ValueId(pub usize);

/// Index of a node in [`Graph::nodes`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct NodeId(pub usize);

/// One dimension of a declared or inferred shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Dim {
    Fixed(usize),
    /// A named dimension (`dim_param`), bound when inputs arrive.
    Symbol(String),
    Unknown,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(d) => write!(f, "{d}"),
            Dim::Symbol(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// Formats a shape as `[1, batch, 3]`.
pub fn format_shape(shape: &[Dim]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What is known about a value before running.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ValueInfo {
    pub name: String,
    pub dtype: Option<DType>,
    /// `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
}

impl ValueInfo {
    pub fn named(name: impl Into<String>) -> ValueInfo {
        ValueInfo {
            name: name.into(),
            dtype: None,
            shape: None,
        }
    }

    /// `float32[1, 3, 224, 224]`, with `?` for what is unknown.
    pub fn describe(&self) -> String {
        let dt = self.dtype.map(|d| d.name()).unwrap_or("?");
        match &self.shape {
            Some(s) => format!("{dt}{}", format_shape(s)),
            None => format!("{dt}[?]"),
        }
    }
}

/// One operation with its input and output values. An absent optional input or output is `None`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<Option<ValueId>>,
}

impl Node {
    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }
}

/// A graph (the main one or an If/Loop body).
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Graph {
    pub name: String,
    pub values: Vec<ValueInfo>,
    /// Topologically sorted: every input of a node is produced earlier, or is a graph input,
    /// an initializer or a capture.
    pub nodes: Vec<Node>,
    /// Values the caller provides (initializers are not listed here).
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    /// Not part of the serde form: plan files store weights as aligned raw blobs beside the graph
    /// (see `crate::plan`), so serializing a graph alone drops them.
    #[serde(skip)]
    pub initializers: BTreeMap<ValueId, Arc<Tensor>>,
    /// For subgraphs: the outer-scope values this graph reads, as inner values. The owning node
    /// feeds them, in this order, from its trailing inputs.
    pub captures: Vec<ValueId>,
}

impl Graph {
    /// An input error unless `given` tensors are as many as the graph's inputs.
    pub fn check_input_count(&self, given: usize) -> Result<()> {
        if given == self.inputs.len() {
            return Ok(());
        }
        Err(Error::Input(format!(
            "graph '{}' takes {} inputs, {} given",
            self.name,
            self.inputs.len(),
            given
        )))
    }

    pub fn value(&self, v: ValueId) -> &ValueInfo {
        &self.values[v.0]
    }

    pub fn value_mut(&mut self, v: ValueId) -> &mut ValueInfo {
        &mut self.values[v.0]
    }

    pub fn name_of(&self, v: ValueId) -> &str {
        &self.values[v.0].name
    }

    /// Adds a value and returns its id.
    pub fn add_value(&mut self, info: ValueInfo) -> ValueId {
        self.values.push(info);
        ValueId(self.values.len() - 1)
    }

    /// Looks a value up by name (linear; for tests and the CLI, not for hot paths).
    pub fn find_value(&self, name: &str) -> Option<ValueId> {
        self.values.iter().position(|v| v.name == name).map(ValueId)
    }

    pub fn initializer(&self, v: ValueId) -> Option<&Arc<Tensor>> {
        self.initializers.get(&v)
    }

    /// Producer of each value (`None` for inputs, initializers, captures and unused ids).
    pub fn producers(&self) -> Vec<Option<NodeId>> {
        let mut p = vec![None; self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for o in n.outputs.iter().flatten() {
                p[o.0] = Some(NodeId(i));
            }
        }
        p
    }

    /// Number of uses of each value by nodes and graph outputs.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut c = vec![0usize; self.values.len()];
        for n in &self.nodes {
            for i in n.inputs.iter().flatten() {
                c[i.0] += 1;
            }
        }
        for o in &self.outputs {
            c[o.0] += 1;
        }
        c
    }

    /// Reorders `nodes` topologically (stable: keeps the given order where it is already valid).
    /// A cycle is an error naming one node on it.
    pub fn sort_topologically(&mut self) -> Result<()> {
        let producers = self.producers();
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let mut users: Vec<Vec<usize>> = vec![vec![]; n];
        for (i, node) in self.nodes.iter().enumerate() {
            let mut deps: Vec<usize> = node
                .inputs
                .iter()
                .flatten()
                .filter_map(|v| producers[v.0].map(|p| p.0))
                .collect();
            deps.sort_unstable();
            deps.dedup();
            for d in deps {
                indegree[i] += 1;
                users[d].push(i);
            }
        }
        // A min-heap on the original index keeps the order stable.
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
            .filter(|&i| indegree[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            order.push(i);
            for &u in &users[i] {
                indegree[u] -= 1;
                if indegree[u] == 0 {
                    ready.push(std::cmp::Reverse(u));
                }
            }
        }
        if order.len() != n {
            let stuck = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
            let node = &self.nodes[stuck];
            return Err(Error::Graph(format!(
                "graph '{}' has a cycle through node '{}' ({})",
                self.name,
                node.name,
                node.op.name()
            )));
        }
        let mut old: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .into_iter()
            .map(|i| old[i].take().expect("each index once"))
            .collect();
        Ok(())
    }

    /// Counts nodes per op type, including those inside subgraphs.
    pub fn op_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        self.visit_nodes(&mut |n| *m.entry(n.op.name()).or_insert(0) += 1);
        m
    }

    /// Calls `f` on every node, recursing into subgraphs.
    pub fn visit_nodes<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        for n in &self.nodes {
            f(n);
            for g in n.op.subgraphs() {
                g.visit_nodes(f);
            }
        }
    }
}

/// An imported model: the main graph plus what the file said about itself.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub graph: Graph,
    /// Opset version per domain (`""` is the default ONNX domain).
    pub opsets: BTreeMap<String, i64>,
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    /// Where it was loaded from, for error messages (not serialized: a plan sets it to its own path).
    #[serde(skip)]
    pub source: String,
}

impl Model {
    /// Parameter count and bytes held by initializers (main graph and subgraphs).
    pub fn parameters(&self) -> (usize, usize) {
        fn walk(g: &Graph, acc: &mut (usize, usize)) {
            for t in g.initializers.values() {
                acc.0 += t.len();
                acc.1 += t.size_bytes();
            }
            for n in &g.nodes {
                for s in n.op.subgraphs() {
                    walk(s, acc);
                }
            }
        }
        let mut acc = (0, 0);
        walk(&self.graph, &mut acc);
        acc
    }
}
