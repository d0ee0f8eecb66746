//! Matrix products on the `gemm` crate (AVX-512 kernels chosen at run time with its `x86-v4`
//! feature), behind a safe, strided interface that checks every extent before the unsafe call.

use crate::error::{Error, Result};

/// A read-only strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows × cols` matrix, optionally viewed transposed (then it is `cols × rows`).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize, transposed: bool) -> MatRef<'a, T> {
        if transposed {
            MatRef {
                data,
                rows: cols,
                cols: rows,
                rs: 1,
                cs: cols,
            }
        } else {
            MatRef {
                data,
                rows,
                cols,
                rs: cols,
                cs: 1,
            }
        }
    }

    /// Whether every element the view addresses lies inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1).checked_mul(self.rs).and_then(|r| {
            (self.cols - 1)
                .checked_mul(self.cs)
                .and_then(|c| r.checked_add(c))
        });
        last.is_some_and(|l| l < self.data.len())
    }
}

/// Number of threads gemm may use: the size of the rayon pool we run in.
fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    let threads = rayon::current_num_threads();
    // Below ~64k multiply-adds the fork/join costs more than it saves.
    if threads <= 1 || m.saturating_mul(n).saturating_mul(k) < 1 << 16 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    }
}

/// `C = alpha · A·B + (accumulate ? C : 0)`, with `C` row-major `m × n` (row stride `ldc`).
pub fn sgemm(
    a: MatRef<f32>,
    b: MatRef<f32>,
    c: &mut [f32],
    ldc: usize,
    alpha: f32,
    accumulate: bool,
) -> Result<()> {
    gemm_t(a, b, c, ldc, alpha, accumulate)
}

/// Double-precision variant of [`sgemm`].
pub fn dgemm(
    a: MatRef<f64>,
    b: MatRef<f64>,
    c: &mut [f64],
    ldc: usize,
    alpha: f64,
    accumulate: bool,
) -> Result<()> {
    gemm_t(a, b, c, ldc, alpha, accumulate)
}

trait GemmScalar: Copy + 'static {
    const ONE: Self;
    const ZERO: Self;
}
impl GemmScalar for f32 {
    const ONE: f32 = 1.0;
    const ZERO: f32 = 0.0;
}
impl GemmScalar for f64 {
    const ONE: f64 = 1.0;
    const ZERO: f64 = 0.0;
}

fn gemm_t<T: GemmScalar>(
    a: MatRef<T>,
    b: MatRef<T>,
    c: &mut [T],
    ldc: usize,
    alpha: T,
    accumulate: bool,
) -> Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(Error::Shape(format!(
            "matrix product of {m}x{k} and {}x{n}",
            b.rows
        )));
    }
    if !a.in_bounds() || !b.in_bounds() {
        return Err(Error::Shape("matrix view exceeds its buffer".into()));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let c_ok = ldc >= n
        && (m - 1)
            .checked_mul(ldc)
            .and_then(|x| x.checked_add(n))
            .is_some_and(|end| end <= c.len());
    if !c_ok {
        return Err(Error::Shape(format!(
            "output buffer of {} too small for {m}x{n} (ldc {ldc})",
            c.len()
        )));
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * ldc..i * ldc + n]
                    .iter_mut()
                    .for_each(|x| *x = T::ZERO);
            }
        }
        return Ok(());
    }
    // SAFETY: every index the kernel touches was checked above: A and B views lie inside their
    // slices, and C's m rows of n elements at stride ldc lie inside `c`, which we borrow mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { T::ONE } else { T::ZERO },
            alpha,
            false,
            false,
            false,
            parallelism(m, n, k),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_product_and_transpose() {
        // A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]]
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0f32; 4];
        sgemm(
            MatRef::row_major(&a, 2, 3, false),
            MatRef::row_major(&b, 3, 2, false),
            &mut c,
            2,
            1.0,
            false,
        )
        .unwrap();
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // Aᵀ·A via a transposed view of A (3x2 · 2x3).
        let mut d = [0.0f32; 9];
        sgemm(
            MatRef::row_major(&a, 2, 3, true),
            MatRef::row_major(&a, 2, 3, false),
            &mut d,
            3,
            1.0,
            false,
        )
        .unwrap();
        assert_eq!(d, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
        // Accumulate with alpha.
        sgemm(
            MatRef::row_major(&a, 2, 3, false),
            MatRef::row_major(&b, 3, 2, false),
            &mut c,
            2,
            0.5,
            true,
        )
        .unwrap();
        assert_eq!(c, [6.0, 7.5, 15.0, 16.5]);
    }

    #[test]
    fn rejects_bad_extents() {
        let a = [0.0f32; 5];
        let mut c = [0.0f32; 4];
        assert!(sgemm(
            MatRef::row_major(&a, 2, 3, false),
            MatRef::row_major(&a, 3, 2, false),
            &mut c,
            2,
            1.0,
            false
        )
        .is_err());
    }
}
