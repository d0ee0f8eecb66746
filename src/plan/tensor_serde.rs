//! The inline serde form of a [`Tensor`]: `{dtype, shape, data}` with `data` as little-endian bytes.
//! Used for the few tensors that live inside op parameters (ConstantOfShape's value); a graph's
//! initializers never take this path, they are written as aligned blobs ([`super::weights`]).

use crate::tensor::{check_alloc, decode_le, to_le_bytes, DType, Tensor};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

impl Serialize for Tensor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Tensor", 3)?;
        st.serialize_field("dtype", &self.dtype())?;
        st.serialize_field("shape", self.shape())?;
        st.serialize_field("data", &Bytes(to_le_bytes(self)))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tensor, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Tensor")]
        struct Wire {
            dtype: DType,
            shape: Vec<usize>,
            data: Bytes,
        }
        let w = Wire::deserialize(d)?;
        let n = check_alloc(&w.shape, w.dtype).map_err(de::Error::custom)?;
        let want = n
            .checked_mul(w.dtype.size())
            .ok_or_else(|| de::Error::custom("tensor byte size overflows"))?;
        if w.data.0.len() != want {
            return Err(de::Error::custom(format!(
                "tensor of {} {:?} needs {want} bytes, the data has {}",
                w.dtype,
                w.shape,
                w.data.0.len()
            )));
        }
        Tensor::new(w.shape, decode_le(w.dtype, &w.data.0)).map_err(de::Error::custom)
    }
}

/// A byte string in formats that have one (CBOR), rather than a sequence of numbers.
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: &Tensor) -> Tensor {
        let mut buf = vec![];
        ciborium::into_writer(t, &mut buf).unwrap();
        ciborium::from_reader(&buf[..]).unwrap()
    }

    #[test]
    fn tensors_round_trip_exactly() {
        let f =
            Tensor::from_vec(vec![2, 2], vec![1.5f32, f32::NAN, f32::NEG_INFINITY, -0.0]).unwrap();
        let back = round_trip(&f);
        assert_eq!(back.shape(), [2, 2]);
        let bits: Vec<u32> = back
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect();
        let want: Vec<u32> = f
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(bits, want);
        let b = Tensor::from_vec(vec![3], vec![true, false, true]).unwrap();
        assert_eq!(round_trip(&b), b);
        let s = Tensor::scalar(7i64);
        assert_eq!(round_trip(&s), s);
    }

    #[test]
    fn a_short_data_field_is_an_error() {
        #[derive(Serialize)]
        struct Wire {
            dtype: DType,
            shape: Vec<usize>,
            data: Bytes,
        }
        let mut buf = vec![];
        ciborium::into_writer(
            &Wire {
                dtype: DType::F32,
                shape: vec![4],
                data: Bytes(vec![0; 12]),
            },
            &mut buf,
        )
        .unwrap();
        let e = ciborium::from_reader::<Tensor, _>(&buf[..])
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 16 bytes, the data has 12"), "{e}");
    }
}
