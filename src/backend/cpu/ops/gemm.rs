//! GEMM on the gemm crate.
