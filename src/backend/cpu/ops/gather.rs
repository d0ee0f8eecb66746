//! Gather/scatter.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn gather(_p: &Gather, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("gather"))
}

pub fn gather_elements(_p: &Gather, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("gather_elements"))
}

pub fn gather_nd(_p: &GatherND, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("gather_nd"))
}

pub fn scatter_nd(_p: &ScatterND, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("scatter_nd"))
}

pub fn scatter_elements(_p: &ScatterElements, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("scatter_elements"))
}

pub fn non_zero(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("non_zero"))
}

