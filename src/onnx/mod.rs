//! ONNX import (and the small writer the zoo uses): protobuf bindings, attribute access, tensor
//! conversion, and one converter file per op family.

pub mod attrs;
mod load;
pub mod ops;
#[allow(clippy::all, missing_docs)]
pub mod proto;
pub mod tensor_proto;

pub use load::{import_bytes, import_model, load_model};
