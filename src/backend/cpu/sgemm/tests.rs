use super::*;
use crate::backend::cpu::ops::gemm::MatRef;

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

struct Case {
    m: usize,
    n: usize,
    k: usize,
    bias: u8,
    residual: bool,
    lo: f32,
    hi: f32,
}

/// The product and output stage computed the obvious way, in f64.
fn reference(c: &Case, a: &[f32], b: &[f32], bias: &[f32], res: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; c.m * c.n];
    for i in 0..c.m {
        for j in 0..c.n {
            let mut v: f64 = (0..c.k)
                .map(|l| a[i * c.k + l] as f64 * b[l * c.n + j] as f64)
                .sum();
            v += match c.bias {
                1 => bias[i] as f64,
                2 => bias[j] as f64,
                _ => 0.0,
            };
            if c.residual {
                v += res[i * c.n + j] as f64;
            }
            out[i * c.n + j] = (v as f32).max(c.lo).min(c.hi);
        }
    }
    out
}

fn check(kernel: kernel::Kernels, c: &Case) {
    let a = values(c.m * c.k, 1);
    let b = values(c.k * c.n, 2);
    let bias = values(c.m.max(c.n), 3);
    let res = values(c.m * c.n, 4);
    let pa = PackedA::new(MatRef::row_major(&a, c.m, c.k, false));
    let pb = PackedB::new(MatRef::row_major(&b, c.k, c.n, false));
    let out = Output {
        bias: match c.bias {
            1 => Bias::PerRow(&bias),
            2 => Bias::PerCol(&bias),
            _ => Bias::None,
        },
        residual: c.residual.then_some(&res[..]),
        lo: c.lo,
        hi: c.hi,
    };
    let mut got = vec![f32::NAN; c.m * c.n];
    gemm_with(kernel, &pa, Rhs::Packed(&pb), &mut got, c.n, &out).unwrap();
    // The same product with B packed panel by panel inside the tasks.
    let fill = |kk: usize, n0: usize, dst: &mut [f32]| {
        dst.copy_from_slice(&b[kk * c.n + n0..][..dst.len()])
    };
    let mut again = vec![f32::NAN; c.m * c.n];
    let rows = Rhs::Rows {
        k: c.k,
        n: c.n,
        fill: &fill,
    };
    gemm_with(kernel, &pa, rows, &mut again, c.n, &out).unwrap();
    assert_eq!(got, again);
    let want = reference(c, &a, &b, &bias, &res);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let tol = 1e-5 * (c.k as f32).sqrt().max(1.0);
        assert!(
            (g - w).abs() <= tol,
            "m {} n {} k {} at {i}: {g} vs {w}",
            c.m,
            c.n,
            c.k
        );
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![];
    for &(m, n, k) in &[
        (1, 1, 1),
        (8, 32, 16),
        (7, 33, 5),
        (17, 65, 300),
        (64, 49, 520),
        (3, 100, 0),
        (20, 31, 257),
    ] {
        for bias in 0..3 {
            v.push(Case {
                m,
                n,
                k,
                bias,
                residual: bias == 1,
                lo: if bias == 2 { 0.0 } else { f32::NEG_INFINITY },
                hi: if bias == 2 { 0.5 } else { f32::INFINITY },
            });
        }
    }
    v
}

#[test]
fn best_kernel_matches_the_reference_on_edges_blocks_and_output_stages() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| cases().iter().for_each(|c| check(kernel::best(), c)));
}

#[test]
fn portable_kernel_matches_the_reference() {
    cases()
        .iter()
        .for_each(|c| check([kernel::portable; NR / 16], c));
}

#[test]
fn packs_strided_views() {
    // A transposed view of a 5x3 matrix is 3x5.
    let a = values(15, 5);
    let at = MatRef::row_major(&a, 5, 3, true);
    let pa = PackedA::new(at);
    let b = values(3 * 5, 6);
    let pb = PackedB::new(MatRef::row_major(&b, 3, 5, true));
    let mut got = vec![0f32; 9];
    gemm(&pa, Rhs::Packed(&pb), &mut got, 3, &Output::plain()).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let w: f32 = (0..5).map(|l| a[l * 3 + i] * b[j * 5 + l]).sum();
            assert!((got[i * 3 + j] - w).abs() < 1e-5);
        }
    }
}

#[test]
fn nan_passes_the_clamp_and_bad_extents_are_errors() {
    let a = [f32::NAN];
    let pa = PackedA::new(MatRef::row_major(&a, 1, 1, false));
    let pb = PackedB::new(MatRef::row_major(&[1.0], 1, 1, false));
    let mut c = [0f32];
    let relu = Output {
        lo: 0.0,
        ..Output::plain()
    };
    gemm(&pa, Rhs::Packed(&pb), &mut c, 1, &relu).unwrap();
    assert!(c[0].is_nan());
    let mut small = [0f32; 0];
    assert!(gemm(&pa, Rhs::Packed(&pb), &mut small, 1, &relu).is_err());
    let short_bias = Output {
        bias: Bias::PerRow(&[]),
        ..Output::plain()
    };
    assert!(gemm(&pa, Rhs::Packed(&pb), &mut c, 1, &short_bias).is_err());
}
