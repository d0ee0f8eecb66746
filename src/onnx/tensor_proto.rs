//! `TensorProto` ↔ [`Tensor`]: every data field (typed repeated fields, `raw_data`, external data
//! files beside the model), checked against the declared dims before anything is allocated.
//! Spec: <https://github.com/onnx/onnx/blob/main/docs/IR.md#tensor-definition>

use super::proto::{tensor_proto::DataLocation, TensorProto};
use crate::error::{Error, Result};
use crate::tensor::{checked_numel, DType, Tensor, TensorData};
use half::{bf16, f16};
use std::path::Path;

/// Converts a `TensorProto`. `base_dir` is where external data files are looked up.
pub fn from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let name = t.name.clone().unwrap_or_default();
    let err = |msg: String| Error::tensor(&name, msg);
    let code = t.data_type.unwrap_or(0);
    let dtype = DType::from_onnx(code).ok_or_else(|| {
        err(format!(
            "data type {} is not supported",
            DType::onnx_name(code)
        ))
    })?;
    let mut shape = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if d < 0 {
            return Err(err(format!("negative dimension in dims {:?}", t.dims)));
        }
        shape.push(d as usize);
    }
    let n = checked_numel(&shape)
        .ok_or_else(|| err(format!("dims {:?} overflow the element count", t.dims)))?;
    let nbytes = n
        .checked_mul(dtype.size())
        .ok_or_else(|| err(format!("dims {:?} overflow the byte count", t.dims)))?;

    let external = t.data_location == Some(DataLocation::External as i32);
    let data = if external {
        let raw = read_external(t, base_dir, nbytes).map_err(err)?;
        crate::tensor::decode_le(dtype, &raw)
    } else if let Some(raw) = &t.raw_data {
        if raw.len() != nbytes {
            return Err(err(format!(
                "raw_data holds {} bytes but dims {:?} of {dtype} need {nbytes}",
                raw.len(),
                t.dims
            )));
        }
        crate::tensor::decode_le(dtype, raw)
    } else {
        typed_fields(t, dtype, n).map_err(err)?
    };
    Tensor::new(shape, data).map_err(|e| err(e.to_string()))
}

/// Reads the typed repeated field that holds data of `dtype`, checking its length.
fn typed_fields(
    t: &TensorProto,
    dtype: DType,
    n: usize,
) -> std::result::Result<TensorData, String> {
    let mismatch = |field: &str, have: usize| {
        Err(format!(
            "{field} holds {have} values but dims {:?} need {n}",
            t.dims
        ))
    };
    macro_rules! from_field {
        ($field:ident, $name:expr, $conv:expr) => {{
            if t.$field.len() != n {
                return mismatch($name, t.$field.len());
            }
            t.$field.iter().map($conv).collect()
        }};
    }
    Ok(match dtype {
        DType::F32 => TensorData::F32(from_field!(float_data, "float_data", |&x| x)),
        DType::F64 => TensorData::F64(from_field!(double_data, "double_data", |&x| x)),
        DType::I64 => TensorData::I64(from_field!(int64_data, "int64_data", |&x| x)),
        DType::U64 => TensorData::U64(from_field!(uint64_data, "uint64_data", |&x| x)),
        DType::U32 => TensorData::U32(from_field!(uint64_data, "uint64_data", |&x| x as u32)),
        DType::I32 => TensorData::I32(from_field!(int32_data, "int32_data", |&x| x)),
        DType::I16 => TensorData::I16(from_field!(int32_data, "int32_data", |&x| x as i16)),
        DType::U16 => TensorData::U16(from_field!(int32_data, "int32_data", |&x| x as u16)),
        DType::I8 => TensorData::I8(from_field!(int32_data, "int32_data", |&x| x as i8)),
        DType::U8 => TensorData::U8(from_field!(int32_data, "int32_data", |&x| x as u8)),
        DType::Bool => TensorData::Bool(from_field!(int32_data, "int32_data", |&x| x != 0)),
        // Half types travel as their bit patterns in int32_data.
        DType::F16 => TensorData::F16(from_field!(int32_data, "int32_data", |&x| f16::from_bits(
            x as u16
        ))),
        DType::BF16 => {
            TensorData::BF16(from_field!(int32_data, "int32_data", |&x| bf16::from_bits(
                x as u16
            )))
        }
    })
}

/// Reads external data (`location`, `offset`, `length`) from a file next to the model. The location
/// must stay inside the model's directory, and the file must hold the bytes the dims need.
fn read_external(
    t: &TensorProto,
    base_dir: Option<&Path>,
    nbytes: usize,
) -> std::result::Result<Vec<u8>, String> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for kv in &t.external_data {
        let v = kv.value.clone().unwrap_or_default();
        match kv.key.as_deref() {
            Some("location") => location = Some(v),
            Some("offset") => {
                offset = v
                    .parse()
                    .map_err(|_| format!("bad external offset '{v}'"))?
            }
            Some("length") => {
                length = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("bad external length '{v}'"))?,
                )
            }
            _ => {}
        }
    }
    let location = location.ok_or("external data without a 'location'")?;
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("external data location '{location}' must be a relative path inside the model's directory"));
    }
    let base = base_dir.ok_or("external data needs the model's directory (load from a file)")?;
    let path = base.join(rel);
    if let Some(len) = length {
        if len != nbytes as u64 {
            return Err(format!(
                "external data length {len} disagrees with the {nbytes} bytes the dims need"
            ));
        }
    }
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file_len = f
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if offset
        .checked_add(nbytes as u64)
        .is_none_or(|end| end > file_len)
    {
        return Err(format!(
            "{}: holds {file_len} bytes, too few for {nbytes} bytes at offset {offset}",
            path.display()
        ));
    }
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; nbytes];
    f.read_exact(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(buf)
}

/// Converts a tensor to a `TensorProto` with `raw_data` (used by the zoo writer and tests).
pub fn to_proto(name: &str, t: &Tensor) -> TensorProto {
    let npy = crate::tensor::to_le_bytes(t);
    TensorProto {
        name: Some(name.to_string()),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: Some(t.dtype().onnx_code()),
        raw_data: Some(npy),
        ..Default::default()
    }
}

/// Reads a serialized `TensorProto` file (the `input_N.pb` / `output_N.pb` of ONNX test data).
pub fn read_tensor_pb(path: &Path) -> Result<Tensor> {
    use prost::Message;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let tp = TensorProto::decode(bytes.as_slice()).map_err(|e| Error::Decode {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    from_proto(&tp, path.parent())
}
