//! Element types: [`DType`] and the [`Element`] trait that ties each Rust type to its variant of
//! [`TensorData`](super::TensorData).

use super::TensorData;
use half::{bf16, f16};
use std::fmt;

/// The element types rtforge computes with. ONNX `TensorProto.DataType` codes are in
/// [`DType::from_onnx`] / [`DType::onnx_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DType {
    F32,
    F16,
    BF16,
    F64,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
    }

    pub fn is_int(self) -> bool {
        !self.is_float() && self != DType::Bool
    }

    pub fn is_signed(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64) || self.is_float()
    }

    /// Maps an ONNX `TensorProto.DataType` code; `None` for types rtforge does not compute with
    /// (string, complex, the 8/4-bit float formats).
    pub fn from_onnx(code: i32) -> Option<DType> {
        Some(match code {
            1 => DType::F32,
            2 => DType::U8,
            3 => DType::I8,
            4 => DType::U16,
            5 => DType::I16,
            6 => DType::I32,
            7 => DType::I64,
            9 => DType::Bool,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::U32,
            13 => DType::U64,
            16 => DType::BF16,
            _ => return None,
        })
    }

    pub fn onnx_code(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::U8 => 2,
            DType::I8 => 3,
            DType::U16 => 4,
            DType::I16 => 5,
            DType::I32 => 6,
            DType::I64 => 7,
            DType::Bool => 9,
            DType::F16 => 10,
            DType::F64 => 11,
            DType::U32 => 12,
            DType::U64 => 13,
            DType::BF16 => 16,
        }
    }

    /// The name ONNX uses for a `TensorProto.DataType` code, for error messages.
    pub fn onnx_name(code: i32) -> &'static str {
        use crate::onnx::proto::tensor_proto::DataType;
        DataType::try_from(code)
            .map(|d| d.as_str_name())
            .unwrap_or("UNKNOWN")
    }

    /// The lowercase name used in CLI output (numpy's spelling).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::I64 => "int64",
            DType::U64 => "uint64",
            DType::Bool => "bool",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A number on its way between two element types, kept exact for integers.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    Float(f64),
    Int(i128),
    Bool(bool),
}

/// A Rust type that can be a tensor element.
pub trait Element: Copy + Send + Sync + PartialEq + fmt::Debug + Default + 'static {
    const DTYPE: DType;
    fn wrap(v: Vec<Self>) -> TensorData;
    fn slice(d: &TensorData) -> Option<&[Self]>;
    fn slice_mut(d: &mut TensorData) -> Option<&mut [Self]>;
    fn into_vec(d: TensorData) -> Option<Vec<Self>>;
    fn to_num(self) -> Num;
    fn from_num(n: Num) -> Self;
    /// Kept for the conversions in [`Tensor::cast`](super::Tensor::cast).
    fn to_f64_like(self) -> Num {
        self.to_num()
    }
    fn from_f64_like(n: Num) -> Self {
        Self::from_num(n)
    }
    fn to_f64(self) -> f64 {
        match self.to_num() {
            Num::Float(f) => f,
            Num::Int(i) => i as f64,
            Num::Bool(b) => b as u8 as f64,
        }
    }
    fn from_f64(f: f64) -> Self {
        Self::from_num(Num::Float(f))
    }
}

macro_rules! element_common {
    ($t:ty, $variant:ident) => {
        const DTYPE: DType = DType::$variant;
        fn wrap(v: Vec<Self>) -> TensorData {
            TensorData::$variant(v)
        }
        fn slice(d: &TensorData) -> Option<&[Self]> {
            match d {
                TensorData::$variant(v) => Some(v),
                _ => None,
            }
        }
        fn slice_mut(d: &mut TensorData) -> Option<&mut [Self]> {
            match d {
                TensorData::$variant(v) => Some(v),
                _ => None,
            }
        }
        fn into_vec(d: TensorData) -> Option<Vec<Self>> {
            match d {
                TensorData::$variant(v) => Some(v),
                _ => None,
            }
        }
    };
}

macro_rules! int_element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            element_common!($t, $variant);
            fn to_num(self) -> Num {
                Num::Int(self as i128)
            }
            fn from_num(n: Num) -> Self {
                match n {
                    // `as` from float saturates and maps NaN to 0.
                    Num::Float(f) => f as $t,
                    // Integer narrowing wraps, as numpy and onnxruntime do.
                    Num::Int(i) => i as $t,
                    Num::Bool(b) => b as $t,
                }
            }
        }
    };
}

int_element!(i8, I8);
int_element!(u8, U8);
int_element!(i16, I16);
int_element!(u16, U16);
int_element!(i32, I32);
int_element!(u32, U32);
int_element!(i64, I64);
int_element!(u64, U64);

macro_rules! float_element {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            element_common!($t, $variant);
            fn to_num(self) -> Num {
                Num::Float($to(self))
            }
            fn from_num(n: Num) -> Self {
                match n {
                    Num::Float(f) => $from(f),
                    Num::Int(i) => $from(i as f64),
                    Num::Bool(b) => $from(b as u8 as f64),
                }
            }
        }
    };
}

float_element!(f32, F32, |x: f32| x as f64, |f: f64| f as f32);
float_element!(f64, F64, |x: f64| x, |f: f64| f);
float_element!(f16, F16, |x: f16| x.to_f64(), f16::from_f64);
float_element!(bf16, BF16, |x: bf16| x.to_f64(), bf16::from_f64);

impl Element for bool {
    element_common!(bool, Bool);
    fn to_num(self) -> Num {
        Num::Bool(self)
    }
    fn from_num(n: Num) -> Self {
        match n {
            Num::Float(f) => f != 0.0,
            Num::Int(i) => i != 0,
            Num::Bool(b) => b,
        }
    }
}
