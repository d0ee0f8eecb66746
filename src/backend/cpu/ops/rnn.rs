//! Recurrent layers.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn rnn(_p: &Rnn, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("rnn"))
}

