//! Pooling.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn pool(_p: &Pool, inputs: &[Option<&Tensor>], _n_outputs: usize) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("pool"))
}

pub fn global_pool(_p: &GlobalPool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("global_pool"))
}

