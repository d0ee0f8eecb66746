//! Softmax family.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn softmax(_p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("softmax"))
}

pub fn log_softmax(_p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("log_softmax"))
}

pub fn hardmax(_p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("hardmax"))
}

