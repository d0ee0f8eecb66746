//! Quantization.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn quantize(_p: &Quantize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("quantize"))
}

pub fn dequantize(_p: &Quantize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("dequantize"))
}

