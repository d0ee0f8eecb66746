//! Host tensors: the values every backend consumes and produces, plus `.npy` I/O.
//!
//! A [`Tensor`] is a dense, C-ordered, owned buffer of one [`DType`] with a shape. The CPU backend
//! computes directly on these; GPU backends stage them through pinned memory.

mod dtype;
mod npy;
pub mod random;

pub use dtype::{DType, Element, Num};
pub use npy::{decode_le, from_npy_bytes, read_npy, to_le_bytes, to_npy_bytes, write_npy};

use crate::error::{Error, Result};
use half::{bf16, f16};

/// The typed storage behind a [`Tensor`].
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the typed `Vec` inside a [`TensorData`] (any dtype).
#[macro_export]
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::tensor::TensorData::F32($v) => $body,
            $crate::tensor::TensorData::F16($v) => $body,
            $crate::tensor::TensorData::BF16($v) => $body,
            $crate::tensor::TensorData::F64($v) => $body,
            $crate::tensor::TensorData::I8($v) => $body,
            $crate::tensor::TensorData::U8($v) => $body,
            $crate::tensor::TensorData::I16($v) => $body,
            $crate::tensor::TensorData::U16($v) => $body,
            $crate::tensor::TensorData::I32($v) => $body,
            $crate::tensor::TensorData::U32($v) => $body,
            $crate::tensor::TensorData::I64($v) => $body,
            $crate::tensor::TensorData::U64($v) => $body,
            $crate::tensor::TensorData::Bool($v) => $body,
        }
    };
}

/// Like [`with_data!`], but also rebuilds a `TensorData` of the same variant from the `Vec` the body
/// returns: `map_data!(data, v => v.iter().rev().cloned().collect())`.
#[macro_export]
macro_rules! map_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::tensor::TensorData::F32($v) => $crate::tensor::TensorData::F32($body),
            $crate::tensor::TensorData::F16($v) => $crate::tensor::TensorData::F16($body),
            $crate::tensor::TensorData::BF16($v) => $crate::tensor::TensorData::BF16($body),
            $crate::tensor::TensorData::F64($v) => $crate::tensor::TensorData::F64($body),
            $crate::tensor::TensorData::I8($v) => $crate::tensor::TensorData::I8($body),
            $crate::tensor::TensorData::U8($v) => $crate::tensor::TensorData::U8($body),
            $crate::tensor::TensorData::I16($v) => $crate::tensor::TensorData::I16($body),
            $crate::tensor::TensorData::U16($v) => $crate::tensor::TensorData::U16($body),
            $crate::tensor::TensorData::I32($v) => $crate::tensor::TensorData::I32($body),
            $crate::tensor::TensorData::U32($v) => $crate::tensor::TensorData::U32($body),
            $crate::tensor::TensorData::I64($v) => $crate::tensor::TensorData::I64($body),
            $crate::tensor::TensorData::U64($v) => $crate::tensor::TensorData::U64($body),
            $crate::tensor::TensorData::Bool($v) => $crate::tensor::TensorData::Bool($body),
        }
    };
}

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::U16(_) => DType::U16,
            TensorData::I32(_) => DType::I32,
            TensorData::U32(_) => DType::U32,
            TensorData::I64(_) => DType::I64,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the underlying buffer holds (its capacity, which may exceed its length).
    pub fn capacity_bytes(&self) -> usize {
        fn bytes<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        with_data!(self, v => bytes(v))
    }

    /// A buffer of `n` zeros (false for bool).
    pub fn zeros(dtype: DType, n: usize) -> TensorData {
        match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n]),
            DType::F16 => TensorData::F16(vec![f16::ZERO; n]),
            DType::BF16 => TensorData::BF16(vec![bf16::ZERO; n]),
            DType::F64 => TensorData::F64(vec![0.0; n]),
            DType::I8 => TensorData::I8(vec![0; n]),
            DType::U8 => TensorData::U8(vec![0; n]),
            DType::I16 => TensorData::I16(vec![0; n]),
            DType::U16 => TensorData::U16(vec![0; n]),
            DType::I32 => TensorData::I32(vec![0; n]),
            DType::U32 => TensorData::U32(vec![0; n]),
            DType::I64 => TensorData::I64(vec![0; n]),
            DType::U64 => TensorData::U64(vec![0; n]),
            DType::Bool => TensorData::Bool(vec![false; n]),
        }
    }
}

/// A dense, C-ordered host tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Builds a tensor, checking that the element count matches the shape.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor> {
        let n = checked_numel(&shape)
            .ok_or_else(|| Error::Shape(format!("shape {shape:?} overflows the element count")))?;
        if n != data.len() {
            return Err(Error::Shape(format!(
                "shape {shape:?} holds {n} elements but {} were given",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// Builds a tensor from a typed `Vec`.
    pub fn from_vec<T: Element>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor> {
        Tensor::new(shape, T::wrap(v))
    }

    /// A rank-0 tensor holding `v`.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor {
            shape: vec![],
            data: T::wrap(vec![v]),
        }
    }

    /// A zero-filled tensor; checks the size against available memory first.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor> {
        let n = check_alloc(&shape, dtype)?;
        Ok(Tensor {
            shape,
            data: TensorData::zeros(dtype, n),
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut TensorData {
        &mut self.data
    }

    pub fn into_data(self) -> TensorData {
        self.data
    }

    /// Size of the data in bytes.
    pub fn size_bytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// The same data under another shape with the same element count.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Tensor> {
        Tensor::new(shape, self.data)
    }

    /// The elements as a typed slice; an error if the dtype is not `T`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::slice(&self.data).ok_or_else(|| {
            Error::DType(format!(
                "expected a {} tensor, got {}",
                T::DTYPE,
                self.dtype()
            ))
        })
    }

    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        let dt = self.dtype();
        T::slice_mut(&mut self.data)
            .ok_or_else(|| Error::DType(format!("expected a {} tensor, got {dt}", T::DTYPE)))
    }

    /// Converts every element to another dtype with ONNX `Cast` semantics (float→int truncates toward
    /// zero, anything→bool is `!= 0`, NaN→int is 0).
    pub fn cast(&self, to: DType) -> Tensor {
        if to == self.dtype() {
            return self.clone();
        }
        let data = match to {
            DType::F32 => TensorData::F32(self.to_vec::<f32>()),
            DType::F16 => TensorData::F16(self.to_vec::<f16>()),
            DType::BF16 => TensorData::BF16(self.to_vec::<bf16>()),
            DType::F64 => TensorData::F64(self.to_vec::<f64>()),
            DType::I8 => TensorData::I8(self.to_vec::<i8>()),
            DType::U8 => TensorData::U8(self.to_vec::<u8>()),
            DType::I16 => TensorData::I16(self.to_vec::<i16>()),
            DType::U16 => TensorData::U16(self.to_vec::<u16>()),
            DType::I32 => TensorData::I32(self.to_vec::<i32>()),
            DType::U32 => TensorData::U32(self.to_vec::<u32>()),
            DType::I64 => TensorData::I64(self.to_vec::<i64>()),
            DType::U64 => TensorData::U64(self.to_vec::<u64>()),
            DType::Bool => TensorData::Bool(self.to_vec::<bool>()),
        };
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// The elements converted to `T` (see [`Tensor::cast`] for the rules).
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        with_data!(&self.data, v => v.iter().map(|x| T::from_f64_like(x.to_f64_like())).collect())
    }

    /// The elements as f32 (a copy).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            _ => self.to_vec::<f32>(),
        }
    }

    /// The elements as i64, for shape-like inputs (axes, pads, sizes). Floats are truncated.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.data {
            TensorData::I64(v) => v.clone(),
            _ => self.to_vec::<i64>(),
        }
    }
}

/// The product of `shape`, or `None` on overflow.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// C-order strides (in elements) of `shape`.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_follows_onnx_rules() {
        let t = Tensor::from_vec(vec![4], vec![-1.7f32, 0.0, 2.9, f32::NAN]).unwrap();
        assert_eq!(
            t.cast(DType::I32).as_slice::<i32>().unwrap(),
            &[-1, 0, 2, 0]
        );
        assert_eq!(
            t.cast(DType::Bool).as_slice::<bool>().unwrap(),
            &[true, false, true, true]
        );
        let h = t.cast(DType::F16);
        assert_eq!(h.as_slice::<f16>().unwrap()[2], f16::from_f32(2.9));
    }

    #[test]
    fn new_rejects_mismatched_length() {
        let err = Tensor::new(vec![2, 3], TensorData::F32(vec![0.0; 5])).unwrap_err();
        assert!(err.to_string().contains("6 elements"), "{err}");
    }

    #[test]
    fn strides_are_c_order() {
        assert_eq!(strides_of(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides_of(&[]), Vec::<usize>::new());
    }
}

/// Bytes the machine can still give us (MemAvailable), read once; `usize::MAX` where unknown.
fn available_memory() -> usize {
    static AVAIL: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *AVAIL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemAvailable:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<usize>().ok())
            })
            .map(|kb| kb.saturating_mul(1024))
            .unwrap_or(usize::MAX)
    })
}

/// Checks, before allocating, that a tensor of `shape` and `dtype` fits in memory; returns its
/// element count. Every allocation whose size comes from data (a shape input, a file) goes through
/// this, so a hostile shape is an error instead of an abort.
pub fn check_alloc(shape: &[usize], dtype: DType) -> Result<usize> {
    let n = checked_numel(shape)
        .ok_or_else(|| Error::Shape(format!("shape {shape:?} overflows the element count")))?;
    let bytes = n.checked_mul(dtype.size()).ok_or_else(|| {
        Error::Shape(format!(
            "shape {shape:?} of {dtype} overflows the byte count"
        ))
    })?;
    if bytes > available_memory() {
        return Err(Error::Shape(format!(
            "shape {shape:?} of {dtype} needs {bytes} bytes, more than the {} bytes of memory available",
            available_memory()
        )));
    }
    Ok(n)
}
