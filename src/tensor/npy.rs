//! `.npy` read and write (format versions 1.0–3.0), C-order, little-endian.
//!
//! Written by hand: the format is a 10-line header plus raw data, and the crates for it either lack
//! f16/bf16 or pull in ndarray. Spec: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>

use super::{checked_numel, DType, Tensor, TensorData};
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        // numpy has no bfloat16; ml_dtypes spells it this way.
        DType::BF16 => "<V2",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::I64 => "<i8",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

fn dtype_of_descr(d: &str) -> Option<DType> {
    Some(match d {
        "<f4" | "f4" => DType::F32,
        "<f2" | "f2" => DType::F16,
        "<V2" => DType::BF16,
        "<f8" | "f8" => DType::F64,
        "|i1" | "<i1" | "i1" => DType::I8,
        "|u1" | "<u1" | "u1" => DType::U8,
        "<i2" | "i2" => DType::I16,
        "<u2" | "u2" => DType::U16,
        "<i4" | "i4" => DType::I32,
        "<u4" | "u4" => DType::U32,
        "<i8" | "i8" => DType::I64,
        "<u8" | "u8" => DType::U64,
        "|b1" | "<b1" | "b1" => DType::Bool,
        _ => return None,
    })
}

/// Serializes a tensor as `.npy` bytes.
pub fn to_npy_bytes(t: &Tensor) -> Vec<u8> {
    let shape = match t.shape() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        descr(t.dtype())
    );
    // Pad so that the data starts on a 64-byte boundary, header ends with '\n'.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + t.size_bytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&to_le_bytes(t));
    out
}

/// The raw little-endian bytes of a tensor's data (bool as one byte each).
pub fn to_le_bytes(t: &Tensor) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.size_bytes());
    macro_rules! put {
        ($v:expr) => {
            $v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
        };
    }
    match t.data() {
        TensorData::Bool(v) => out.extend(v.iter().map(|&b| b as u8)),
        TensorData::F32(v) => put!(v),
        TensorData::F16(v) => put!(v),
        TensorData::BF16(v) => put!(v),
        TensorData::F64(v) => put!(v),
        TensorData::I8(v) => put!(v),
        TensorData::U8(v) => put!(v),
        TensorData::I16(v) => put!(v),
        TensorData::U16(v) => put!(v),
        TensorData::I32(v) => put!(v),
        TensorData::U32(v) => put!(v),
        TensorData::I64(v) => put!(v),
        TensorData::U64(v) => put!(v),
    }
    out
}

/// Writes a tensor to `path` as `.npy`.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    std::fs::write(path, to_npy_bytes(t)).map_err(|e| Error::io(path, e))
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_npy_bytes(&bytes).map_err(|e| Error::Npy {
        path: path.display().to_string(),
        msg: e,
    })
}

/// Parses `.npy` bytes; the error is a plain message the caller wraps with the file name.
pub fn from_npy_bytes(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (bad magic)".into());
    }
    let major = bytes[6];
    let (hlen, start): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated header")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not text")?;
    let descr = dict_value(header, "descr").ok_or("header has no 'descr'")?;
    let quote = descr
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
        .ok_or("bad 'descr'")?;
    let descr = descr[1..].split(quote).next().ok_or("bad 'descr'")?;
    let fortran = dict_value(header, "fortran_order").ok_or("header has no 'fortran_order'")?;
    if fortran.starts_with("True") {
        return Err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let dtype = dtype_of_descr(descr).ok_or_else(|| {
        format!(
            "unsupported dtype '{descr}' (big-endian, string and object arrays are not supported)"
        )
    })?;
    let shape = parse_shape(header)?;
    let n = checked_numel(&shape).ok_or("shape overflows")?;
    let data = &bytes[end..];
    let need = n.checked_mul(dtype.size()).ok_or("shape overflows")?;
    if data.len() != need {
        return Err(format!(
            "data holds {} bytes but shape {shape:?} of {dtype} needs {need}",
            data.len()
        ));
    }
    let td = decode_le(dtype, data);
    Tensor::new(shape, td).map_err(|e| e.to_string())
}

/// Decodes little-endian raw bytes (length already checked) into typed data.
pub fn decode_le(dtype: DType, b: &[u8]) -> TensorData {
    macro_rules! chunks {
        ($t:ty, $n:expr) => {
            b.chunks_exact($n)
                .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
    }
    match dtype {
        DType::F32 => TensorData::F32(chunks!(f32, 4)),
        DType::F16 => TensorData::F16(chunks!(f16, 2)),
        DType::BF16 => TensorData::BF16(chunks!(bf16, 2)),
        DType::F64 => TensorData::F64(chunks!(f64, 8)),
        DType::I8 => TensorData::I8(b.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(b.to_vec()),
        DType::I16 => TensorData::I16(chunks!(i16, 2)),
        DType::U16 => TensorData::U16(chunks!(u16, 2)),
        DType::I32 => TensorData::I32(chunks!(i32, 4)),
        DType::U32 => TensorData::U32(chunks!(u32, 4)),
        DType::I64 => TensorData::I64(chunks!(i64, 8)),
        DType::U64 => TensorData::U64(chunks!(u64, 8)),
        DType::Bool => TensorData::Bool(b.iter().map(|&x| x != 0).collect()),
    }
}

fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}'");
    let k2 = format!("\"{key}\"");
    let i = header.find(&k1).or_else(|| header.find(&k2))? + k1.len();
    let rest = header[i..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

fn parse_shape(header: &str) -> std::result::Result<Vec<usize>, String> {
    let v = dict_value(header, "shape").ok_or("header has no 'shape'")?;
    let v = v.strip_prefix('(').ok_or("bad shape")?;
    let close = v.find(')').ok_or("bad shape")?;
    v[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("bad dim '{s}'"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_dtype() {
        for dt in [
            DType::F32,
            DType::F16,
            DType::BF16,
            DType::F64,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U16,
            DType::I32,
            DType::U32,
            DType::I64,
            DType::U64,
            DType::Bool,
        ] {
            let t = Tensor::from_vec(vec![2, 3], vec![1.0f32, -2.0, 3.0, 0.0, 5.0, 6.0]).unwrap();
            let t = t.cast(dt);
            let back = from_npy_bytes(&to_npy_bytes(&t)).unwrap();
            assert_eq!(back, t, "{dt}");
        }
    }

    #[test]
    fn scalar_and_fortran() {
        let t = Tensor::scalar(7i64);
        assert_eq!(from_npy_bytes(&to_npy_bytes(&t)).unwrap(), t);
        let mut b = to_npy_bytes(&t);
        let at = b.windows(5).position(|w| w == b"False").unwrap();
        b[at..at + 5].copy_from_slice(b"True ");
        assert!(from_npy_bytes(&b).unwrap_err().contains("Fortran"));
    }
}
