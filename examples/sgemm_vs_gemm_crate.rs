//! The packed GEMM (`backend::cpu::sgemm`, B packed panel by panel as convolutions do) against the
//! `gemm` crate on the matrix shapes of ResNet-50, MobileNetV2 and BERT layers, interleaved in one
//! process, best of five rounds each.
//!
//! `cargo run --release --example sgemm_vs_gemm_crate [THREADS]` (default 2)

use rtforge::backend::cpu::ops::gemm::{sgemm, MatRef};
use rtforge::backend::cpu::sgemm::{gemm, Output, PackedA, Rhs};
use std::time::Instant;

/// (M, K, N): output channels, reduction, output positions (or tokens for BERT).
const SHAPES: [(usize, usize, usize); 7] = [
    (64, 576, 3136),  // ResNet-50 layer1 3x3
    (256, 64, 3136),  // ResNet-50 layer1 1x1 expand
    (128, 1152, 784), // ResNet-50 layer2 3x3
    (512, 4608, 49),  // ResNet-50 layer4 3x3
    (2048, 512, 49),  // ResNet-50 layer4 1x1 expand
    (96, 16, 12544),  // MobileNetV2 block 2 expand
    (768, 768, 128),  // BERT-base dense (transposed)
];

fn main() {
    let threads = std::env::args()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    println!("{threads} thread(s); GFLOP/s, best of 5; ratio = packed time / gemm crate time");
    pool.install(|| {
        for (m, k, n) in SHAPES {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
            let mut c = vec![0f32; m * n];
            let packed_a = PackedA::new(MatRef::row_major(&a, m, k, false));
            let fill = |r: usize, n0: usize, dst: &mut [f32]| {
                dst.copy_from_slice(&b[r * n + n0..][..dst.len()])
            };
            let reps = ((1e9 / (2.0 * (m * n * k) as f64)) as usize).max(3);
            let (mut crate_s, mut packed_s) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                let t = Instant::now();
                for _ in 0..reps {
                    let (am, bm) = (
                        MatRef::row_major(&a, m, k, false),
                        MatRef::row_major(&b, k, n, false),
                    );
                    sgemm(am, bm, &mut c, n, 1.0, false).expect("gemm crate");
                }
                crate_s = crate_s.min(t.elapsed().as_secs_f64() / reps as f64);
                let t = Instant::now();
                for _ in 0..reps {
                    let rhs = Rhs::Rows { k, n, fill: &fill };
                    gemm(&packed_a, rhs, &mut c, n, &Output::plain()).expect("packed");
                }
                packed_s = packed_s.min(t.elapsed().as_secs_f64() / reps as f64);
            }
            let gflop = 2.0 * (m * n * k) as f64 / 1e9;
            println!(
                "M {m:5} K {k:5} N {n:6}: gemm crate {:6.1}  packed {:6.1}  ratio {:.2}",
                gflop / crate_s,
                gflop / packed_s,
                packed_s / crate_s
            );
        }
    });
}
