//! Normalization.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn batch_norm(_p: &BatchNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("batch_norm"))
}

pub fn instance_norm(_p: &InstanceNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("instance_norm"))
}

pub fn layer_norm(_p: &LayerNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("layer_norm"))
}

