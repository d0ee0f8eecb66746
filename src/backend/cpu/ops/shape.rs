//! Shape ops.

use super::unsupported;
use crate::error::Result;
use crate::ir::*;
use crate::tensor::Tensor;

pub fn reshape(_p: &Reshape, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("reshape"))
}

pub fn flatten(_p: &Flatten, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("flatten"))
}

pub fn transpose(_p: &Transpose, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("transpose"))
}

pub fn squeeze(_p: &Axes, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("squeeze"))
}

pub fn unsqueeze(_p: &Axes, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("unsqueeze"))
}

pub fn concat(_p: &Concat, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("concat"))
}

pub fn split(_p: &Split, inputs: &[Option<&Tensor>], _n_outputs: usize) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("split"))
}

pub fn slice(_p: &Slice, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("slice"))
}

pub fn expand(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("expand"))
}

pub fn shape(_p: &ShapeOf, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("shape"))
}

pub fn size(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("size"))
}

pub fn constant_of_shape(_p: &ConstantOfShape, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("constant_of_shape"))
}

pub fn range(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("range"))
}

pub fn tile(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("tile"))
}

pub fn pad(_p: &Pad, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("pad"))
}

pub fn depth_to_space(_p: &DepthToSpace, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("depth_to_space"))
}

pub fn space_to_depth(_p: &SpaceToDepth, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("space_to_depth"))
}

pub fn trilu(_p: &Trilu, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("trilu"))
}

pub fn one_hot(_p: &OneHot, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("one_hot"))
}

pub fn eye_like(_p: &EyeLike, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let _ = (inputs,); Err(unsupported("eye_like"))
}

