//! Graph passes. Each [`Pass`] changes the graph only through [`Patch`](crate::ir::Patch); the
//! [`PassManager`] runs a plain list of passes to a fixed point and verifies after each one.

#[cfg(test)]
pub(crate) mod check;
mod eliminate_dead;
mod eliminate_noop;
mod fold_constants;
mod fuse_activation;
mod fuse_attention;
mod fuse_bias;
mod fuse_conv_bn;
mod fuse_elementwise;
mod fuse_gelu;
mod fuse_layer_norm;
mod fuse_residual;
pub mod pattern;

pub use eliminate_dead::EliminateDead;
pub use eliminate_noop::EliminateNoop;
pub use fold_constants::FoldConstants;
pub use fuse_activation::FuseActivation;
pub use fuse_attention::FuseAttention;
pub use fuse_bias::FuseBias;
pub use fuse_conv_bn::FuseConvBn;
pub use fuse_elementwise::FuseElementwise;
pub use fuse_gelu::FuseGelu;
pub use fuse_layer_norm::FuseLayerNorm;
pub use fuse_residual::FuseResidual;

use crate::error::{Error, Result};
use crate::ir::infer::infer_shapes;
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
        PassManager {
            passes,
            max_rounds: 16,
        }
    }

    /// The passes of an optimization level, in the order they run each round:
    /// - `-O0`: nothing (the graph as imported);
    /// - `-O1`: constant folding and no-op/dead-node elimination;
    /// - `-O2`: plus recognizing decomposed LayerNormalization and GELU, Conv+BatchNormalization
    ///   folding, and bias, residual and activation fusion into Conv/Gemm/MatMul;
    /// - `-O3` (default): plus attention fusion and elementwise-chain fusion.
    ///
    /// Order matters within a round: recognition before the elementwise chains (which would
    /// swallow their scalar steps), attention before bias/residual fusion (which would take the
    /// mask Add), activations into producers before chains.
    pub fn for_level(level: u8) -> PassManager {
        let mut passes: Vec<Box<dyn Pass>> = Vec::new();
        if level >= 1 {
            passes.push(Box::new(FoldConstants));
            passes.push(Box::new(EliminateNoop));
        }
        if level >= 2 {
            passes.push(Box::new(FuseLayerNorm));
            passes.push(Box::new(FuseGelu));
        }
        if level >= 3 {
            passes.push(Box::new(FuseAttention));
        }
        if level >= 2 {
            passes.push(Box::new(FuseConvBn));
            passes.push(Box::new(FuseBias));
            passes.push(Box::new(FuseResidual));
            passes.push(Box::new(FuseActivation));
        }
        if level >= 3 {
            passes.push(Box::new(FuseElementwise));
        }
        if level >= 1 {
            passes.push(Box::new(EliminateDead));
        }
        PassManager::new(passes)
    }

    /// Runs to a fixed point; returns how often each pass changed the graph.
    pub fn run(&self, g: &mut Graph) -> Result<Vec<(&'static str, usize)>> {
        let mut counts: Vec<(&'static str, usize)> =
            self.passes.iter().map(|p| (p.name(), 0)).collect();
        for _ in 0..self.max_rounds {
            let mut any = false;
            for (i, p) in self.passes.iter().enumerate() {
                if p.run(g)
                    .map_err(|e| Error::Graph(format!("pass {}: {e}", p.name())))?
                {
                    any = true;
                    counts[i].1 += 1;
                    verify(g).map_err(|e| Error::Graph(format!("after pass {}: {e}", p.name())))?;
                    // Folding and fusing can make more shapes known, which the next pass uses.
                    infer_shapes(g)?;
                    tracing::debug!(
                        pass = p.name(),
                        nodes = g.nodes.len(),
                        "pass changed the graph"
                    );
                }
            }
            if !any {
                break;
            }
        }
        Ok(counts)
    }
}
