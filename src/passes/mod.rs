//! Graph passes. Each [`Pass`] changes the graph only through [`Patch`](crate::ir::Patch); the
//! [`PassManager`] runs a plain list of passes to a fixed point and verifies after each one.

mod eliminate_dead;

pub use eliminate_dead::EliminateDead;

use crate::error::{Error, Result};
use crate::ir::{verify, Graph};

/// Whether a pass changed the graph.
pub type Changed = bool;

pub trait Pass {
    fn name(&self) -> &'static str;
    fn run(&self, g: &mut Graph) -> Result<Changed>;
}

/// Runs passes in order, repeating the list until no pass changes anything.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    max_rounds: usize,
}

impl PassManager {
    pub fn new(passes: Vec<Box<dyn Pass>>) -> PassManager {
        PassManager { passes, max_rounds: 16 }
    }

    /// The passes of an optimization level. Level 0 runs nothing.
    pub fn for_level(level: u8) -> PassManager {
        match level {
            0 => PassManager::new(vec![]),
            _ => PassManager::new(vec![Box::new(EliminateDead)]),
        }
    }

    /// Runs to a fixed point; returns how often each pass changed the graph.
    pub fn run(&self, g: &mut Graph) -> Result<Vec<(&'static str, usize)>> {
        let mut counts: Vec<(&'static str, usize)> = self.passes.iter().map(|p| (p.name(), 0)).collect();
        for _ in 0..self.max_rounds {
            let mut any = false;
            for (i, p) in self.passes.iter().enumerate() {
                if p.run(g).map_err(|e| Error::Graph(format!("pass {}: {e}", p.name())))? {
                    any = true;
                    counts[i].1 += 1;
                    verify(g).map_err(|e| Error::Graph(format!("after pass {}: {e}", p.name())))?;
                    tracing::debug!(pass = p.name(), nodes = g.nodes.len(), "pass changed the graph");
                }
            }
            if !any {
                break;
            }
        }
        Ok(counts)
    }
}
