//! Seeded pseudo-random tensors for `--random-inputs`, benchmarks and the zoo's weights.
//! SplitMix64 by hand: ten lines, reproducible on every platform, no extra crate for it.

use super::{check_alloc, DType, Tensor};
use crate::error::Result;

/// SplitMix64 (Steele, Lea, Flood 2014): fast, statistically sound for test data, not cryptographic.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f64() as f32
    }
}

/// A tensor of `dtype` and `shape`: floats uniform in [-1, 1), integers uniform in [0, 10), bools
/// fair coin flips. Checks the size against available memory first.
pub fn random_tensor(dtype: DType, shape: &[usize], seed: u64) -> Result<Tensor> {
    let n = check_alloc(shape, dtype)?;
    let mut rng = SplitMix64::new(seed);
    let t = if dtype.is_float() {
        Tensor::from_vec(
            shape.to_vec(),
            (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        )?
    } else if dtype == DType::Bool {
        Tensor::from_vec(
            shape.to_vec(),
            (0..n).map(|_| rng.next_u64() & 1 == 1).collect(),
        )?
    } else {
        Tensor::from_vec(
            shape.to_vec(),
            (0..n).map(|_| (rng.next_u64() % 10) as i64).collect(),
        )?
    };
    Ok(t.cast(dtype))
}
