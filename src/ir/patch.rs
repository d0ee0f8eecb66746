//! `Patch`: the only way passes change a graph. A patch collects removals, new nodes, new values and
//! rewired uses, and is applied whole: the result is re-sorted and verified before it replaces the
//! graph, so a bad rewrite leaves the graph as it was and reports which pass made it.

use super::{verify, Graph, Node, NodeId, ValueId, ValueInfo};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A set of changes to one graph.
#[derive(Debug, Default)]
pub struct Patch {
    base_values: usize,
    new_values: Vec<ValueInfo>,
    remove: BTreeSet<NodeId>,
    add: Vec<Node>,
    /// Every use of the key (by nodes and graph outputs) is rewired to the value.
    rewire: BTreeMap<ValueId, ValueId>,
    initializers: Vec<(ValueId, Arc<Tensor>)>,
}

impl Patch {
    pub fn new(g: &Graph) -> Patch {
        Patch {
            base_values: g.values.len(),
            ..Default::default()
        }
    }

    /// Declares a new value; its id is valid once the patch is applied.
    pub fn add_value(&mut self, info: ValueInfo) -> ValueId {
        self.new_values.push(info);
        ValueId(self.base_values + self.new_values.len() - 1)
    }

    pub fn remove_node(&mut self, n: NodeId) {
        self.remove.insert(n);
    }

    pub fn add_node(&mut self, node: Node) {
        self.add.push(node);
    }

    /// Makes every reader of `from` (nodes and graph outputs) read `to` instead.
    pub fn rewire(&mut self, from: ValueId, to: ValueId) {
        self.rewire.insert(from, to);
    }

    pub fn set_initializer(&mut self, v: ValueId, t: Arc<Tensor>) {
        self.initializers.push((v, t));
    }

    pub fn is_empty(&self) -> bool {
        self.new_values.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
            && self.rewire.is_empty()
            && self.initializers.is_empty()
    }

    /// Applies the patch if it changes anything; returns whether it did (a pass's result).
    pub fn commit(self, g: &mut Graph, origin: &str) -> Result<bool> {
        if self.is_empty() {
            return Ok(false);
        }
        self.apply(g, origin)?;
        Ok(true)
    }

    /// Applies the patch to `g`, or leaves `g` untouched and returns the error. `origin` names the
    /// pass for the error message.
    pub fn apply(self, g: &mut Graph, origin: &str) -> Result<()> {
        if g.values.len() != self.base_values {
            return Err(Error::Graph(format!(
                "{origin}: patch built for another version of the graph"
            )));
        }
        let mut next = g.clone();
        next.values.extend(self.new_values);
        let resolve = |mut v: ValueId| {
            // Follow chains (a→b, b→c) so the order of rewires does not matter.
            let mut hops = 0;
            while let Some(&t) = self.rewire.get(&v) {
                v = t;
                hops += 1;
                if hops > self.rewire.len() {
                    break;
                }
            }
            v
        };
        let mut nodes: Vec<Node> = std::mem::take(&mut next.nodes)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !self.remove.contains(&NodeId(*i)))
            .map(|(_, n)| n)
            .collect();
        nodes.extend(self.add);
        for n in &mut nodes {
            for i in n.inputs.iter_mut().flatten() {
                *i = resolve(*i);
            }
        }
        for o in &mut next.outputs {
            *o = resolve(*o);
        }
        next.nodes = nodes;
        for (v, t) in self.initializers {
            next.initializers.insert(v, t);
        }
        next.sort_topologically()
            .map_err(|e| Error::Graph(format!("{origin}: {e}")))?;
        verify(&next).map_err(|e| Error::Graph(format!("{origin}: {e}")))?;
        *g = next;
        Ok(())
    }
}
