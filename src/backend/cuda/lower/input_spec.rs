//! What a program is specialised for, per graph input: its dtype and shape and, for a small
//! integer input (a sample rate, a mode flag), its values. Those values are then known on the
//! host while lowering, like shapes are, so what depends only on them (an `If` condition, a size)
//! is evaluated once at lowering instead of on the device; each new value lowers and binds a
//! program of its own.
//!
//! Only inputs *declared* as integer scalars or short fixed vectors qualify: a token-id tensor of
//! a symbolic `[batch, seq]` shape changes every query and would otherwise lower a program per
//! query.

use crate::error::Result;
use crate::ir::{Dim, Graph, ValueInfo};
use crate::tensor::{DType, Tensor};
use std::borrow::Borrow;

/// Integer inputs declared with at most this many elements (and rank ≤ 1) are known on the host
/// while lowering: enough for a sample rate, a flag or a short shape vector.
pub const MAX_HOST_INPUT_ELEMENTS: usize = 8;

/// One graph input as a program sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InputSpec {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// The values of an input known on the host ([`declared_host_input`]); `None` for an input
    /// that lives on the device only.
    pub values: Option<Vec<i64>>,
}

impl From<(DType, Vec<usize>)> for InputSpec {
    /// A device-only input of this dtype and shape.
    fn from((dtype, shape): (DType, Vec<usize>)) -> InputSpec {
        InputSpec {
            dtype,
            shape,
            values: None,
        }
    }
}

impl InputSpec {
    /// The values as a tensor of the input's dtype and shape, when they are known.
    pub fn host_tensor(&self) -> Result<Option<Tensor>> {
        let Some(v) = &self.values else {
            return Ok(None);
        };
        let t = Tensor::from_vec(self.shape.clone(), v.clone())?;
        Ok(Some(if self.dtype == DType::I64 {
            t
        } else {
            t.cast(self.dtype)
        }))
    }
}

/// Whether a graph input declared as `info` has its values known while lowering: an int32 or
/// int64 scalar or vector with a fixed shape of at most [`MAX_HOST_INPUT_ELEMENTS`] elements.
pub fn declared_host_input(info: &ValueInfo) -> bool {
    let int = matches!(info.dtype, Some(DType::I32 | DType::I64));
    let small = info.shape.as_ref().is_some_and(|s| {
        s.len() <= 1
            && s.iter()
                .all(|d| matches!(d, Dim::Fixed(n) if *n <= MAX_HOST_INPUT_ELEMENTS))
    });
    int && small
}

/// The specs of `inputs` (in `g.inputs` order): shapes always, values for the inputs
/// [`declared_host_input`] picks when the given tensor is of the kind declared.
pub fn input_specs<T: Borrow<Tensor>>(g: &Graph, inputs: &[T]) -> Result<Vec<InputSpec>> {
    g.check_input_count(inputs.len())?;
    Ok(g.inputs
        .iter()
        .zip(inputs)
        .map(|(&v, t)| {
            let t: &Tensor = t.borrow();
            let (dtype, shape) = (t.dtype(), t.shape().to_vec());
            let info = g.value(v);
            let declared = info.shape.as_ref().is_some_and(|s| s.len() == shape.len());
            let host = declared_host_input(info)
                && declared
                && Some(dtype) == info.dtype
                && t.len() <= MAX_HOST_INPUT_ELEMENTS;
            InputSpec {
                dtype,
                shape,
                values: host.then(|| t.to_i64_vec()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(dtype: DType, shape: Vec<Dim>) -> ValueInfo {
        ValueInfo {
            name: "x".into(),
            dtype: Some(dtype),
            shape: Some(shape),
        }
    }

    #[test]
    fn only_small_declared_integers_are_host_inputs() {
        assert!(declared_host_input(&info(DType::I64, vec![])));
        assert!(declared_host_input(&info(DType::I32, vec![Dim::Fixed(4)])));
        assert!(!declared_host_input(&info(DType::F32, vec![])));
        assert!(!declared_host_input(&info(DType::I64, vec![Dim::Fixed(9)])));
        let sym = vec![Dim::Symbol("batch".into())];
        assert!(!declared_host_input(&info(DType::I64, sym)));
        let two_d = vec![Dim::Fixed(1), Dim::Fixed(2)];
        assert!(!declared_host_input(&info(DType::I64, two_d)));
    }

    #[test]
    fn specs_carry_the_values_of_host_inputs() {
        let mut g = Graph::default();
        let sr = g.add_value(info(DType::I64, vec![]));
        let x = g.add_value(info(DType::F32, vec![Dim::Fixed(2)]));
        g.inputs = vec![sr, x];
        let feed = [
            Tensor::scalar(16_000i64),
            Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap(),
        ];
        let specs = input_specs(&g, &feed).unwrap();
        assert_eq!(specs[0].values, Some(vec![16_000]));
        assert_eq!(specs[1].values, None);
        let t = specs[0].host_tensor().unwrap().unwrap();
        assert_eq!((t.dtype(), t.shape()), (DType::I64, &[][..]));
        assert_eq!(t.as_slice::<i64>().unwrap(), &[16_000]);
        // A different value is a different program.
        let other = [Tensor::scalar(8_000i64), feed[1].clone()];
        assert_ne!(input_specs(&g, &other).unwrap(), specs);
        assert!(input_specs(&g, &feed[..1]).is_err());
    }
}
