//! cuBLASLt: a handle per session and one prepared matmul per GEMM step of a program (layouts,
//! descriptor and the heuristic's algorithm chosen once, when the program is bound), run with raw
//! device pointers into the arena. FP32 uses TF32 tensor cores unless turned off; FP16 operands
//! accumulate in FP32.
//! <https://docs.nvidia.com/cuda/cublas/#using-the-cublaslt-api>

use super::program::Gemm;
use crate::error::{Error, Result};
use crate::tensor::DType;
use cudarc::cublaslt::result as lt;
use cudarc::cublaslt::sys;
use std::ffi::c_void;
use std::mem::size_of;

fn blas_err(what: &str, e: lt::CublasError) -> Error {
    Error::Backend {
        backend: "cuda".into(),
        msg: format!("cuBLASLt {what}: {e:?}"),
    }
}

/// A cuBLASLt handle, destroyed on drop.
pub struct LtHandle(sys::cublasLtHandle_t);

// SAFETY: a cuBLASLt handle may be used from any thread; rtforge never uses one from two threads
// at once (each session owns its own, the engine's planning handle sits behind the engine's lock).
unsafe impl Send for LtHandle {}
unsafe impl Sync for LtHandle {}

impl LtHandle {
    pub fn new() -> Result<LtHandle> {
        lt::create_handle()
            .map(LtHandle)
            .map_err(|e| blas_err("create", e))
    }
}

impl Drop for LtHandle {
    fn drop(&mut self) {
        // SAFETY: created by cublasLtCreate and destroyed once; an error cannot be acted on here.
        let _ = unsafe { lt::destroy_handle(self.0) };
    }
}

/// The largest power of two, at most 256, dividing every value (the alignment cuBLASLt may assume).
fn alignment(values: &[usize]) -> u32 {
    let mut a = 256usize;
    for &v in values {
        if v != 0 {
            a = a.min(1 << v.trailing_zeros().min(8));
        }
    }
    a as u32
}

/// One prepared matmul: `D = alpha · op(A) · op(B) + beta · D`.
pub struct LtMatmul {
    desc: sys::cublasLtMatmulDesc_t,
    a: sys::cublasLtMatrixLayout_t,
    b: sys::cublasLtMatrixLayout_t,
    d: sys::cublasLtMatrixLayout_t,
    algo: sys::cublasLtMatmulAlgo_t,
    alpha: f32,
    beta: f32,
}

// SAFETY: the descriptors are plain host structures, only read after preparation.
unsafe impl Send for LtMatmul {}
unsafe impl Sync for LtMatmul {}

impl Drop for LtMatmul {
    fn drop(&mut self) {
        // SAFETY: each was created once in `prepare` and is destroyed once; errors are ignored
        // because nothing can be done about them in a destructor.
        unsafe {
            let _ = lt::destroy_matrix_layout(self.a);
            let _ = lt::destroy_matrix_layout(self.b);
            let _ = lt::destroy_matrix_layout(self.d);
            let _ = lt::destroy_matmul_desc(self.desc);
        }
    }
}

/// The signature of cuBLASLt's attribute setters.
type Setter<H, A> =
    unsafe fn(H, A, *const c_void, usize) -> std::result::Result<(), lt::CublasError>;

/// Sets one attribute of a live cuBLASLt object to a plain value.
fn set<H, A, T: Copy>(f: Setter<H, A>, handle: H, attr: A, value: T, what: &str) -> Result<()> {
    // SAFETY: callers pass a live handle and a value of the type the attribute expects.
    unsafe {
        f(
            handle,
            attr,
            (&value) as *const T as *const c_void,
            size_of::<T>(),
        )
    }
    .map_err(|e| blas_err(what, e))
}

fn layout(
    dtype: sys::cudaDataType,
    rows: u64,
    cols: u64,
    ld: i64,
    batch: i32,
    stride: i64,
) -> Result<sys::cublasLtMatrixLayout_t> {
    let l = lt::create_matrix_layout(dtype, rows, cols, ld).map_err(|e| blas_err("layout", e))?;
    if batch > 1 {
        use sys::cublasLtMatrixLayoutAttribute_t as A;
        set(
            lt::set_matrix_layout_attribute,
            l,
            A::CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
            batch,
            "batch count",
        )?;
        set(
            lt::set_matrix_layout_attribute,
            l,
            A::CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
            stride,
            "batch stride",
        )?;
    }
    Ok(l)
}

impl LtMatmul {
    /// Prepares `g`: layouts, descriptor, and the heuristic's best algorithm for operands whose
    /// byte offsets from 256-aligned allocations are `offsets` (A, B, D) within `workspace` bytes.
    pub fn prepare(
        handle: &LtHandle,
        g: &Gemm,
        tf32: bool,
        offsets: [usize; 3],
        workspace: usize,
    ) -> Result<LtMatmul> {
        let (dt, compute) = match g.dtype {
            DType::F32 if tf32 => (
                sys::cudaDataType_t::CUDA_R_32F,
                sys::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
            ),
            DType::F32 => (
                sys::cudaDataType_t::CUDA_R_32F,
                sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
            ),
            DType::F16 => (
                sys::cudaDataType_t::CUDA_R_16F,
                sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
            ),
            other => {
                return Err(Error::DType(format!(
                    "a GEMM on {other} has no cuBLASLt kernel"
                )))
            }
        };
        let (ar, ac) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
        let (br, bc) = if g.trans_b { (g.n, g.k) } else { (g.k, g.n) };
        let mut mm = LtMatmul {
            desc: lt::create_matmul_desc(compute, sys::cudaDataType_t::CUDA_R_32F)
                .map_err(|e| blas_err("descriptor", e))?,
            a: std::ptr::null_mut(),
            b: std::ptr::null_mut(),
            d: std::ptr::null_mut(),
            // SAFETY: a plain-data struct; overwritten by the heuristic below.
            algo: unsafe { std::mem::zeroed() },
            alpha: g.alpha,
            beta: g.beta,
        };
        mm.a = layout(dt, ar, ac, g.lda, g.batch, g.stride_a)?;
        mm.b = layout(dt, br, bc, g.ldb, g.batch, g.stride_b)?;
        mm.d = layout(dt, g.m, g.n, g.ldc, g.batch, g.stride_c)?;
        use sys::cublasLtMatmulDescAttributes_t as D;
        let op = |t: bool| if t { 1i32 } else { 0i32 };
        set(
            lt::set_matmul_desc_attribute,
            mm.desc,
            D::CUBLASLT_MATMUL_DESC_TRANSA,
            op(g.trans_a),
            "transa",
        )?;
        set(
            lt::set_matmul_desc_attribute,
            mm.desc,
            D::CUBLASLT_MATMUL_DESC_TRANSB,
            op(g.trans_b),
            "transb",
        )?;
        let pref = lt::create_matmul_pref().map_err(|e| blas_err("preference", e))?;
        let es = g.dtype.size();
        let bytes = |stride: i64| if g.batch > 1 { stride as usize * es } else { 0 };
        use sys::cublasLtMatmulPreferenceAttributes_t as P;
        let prefs = [
            (
                P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                alignment(&[offsets[0], bytes(g.stride_a)]),
            ),
            (
                P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                alignment(&[offsets[1], bytes(g.stride_b)]),
            ),
            (
                P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                alignment(&[offsets[2], bytes(g.stride_c)]),
            ),
            (
                P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                alignment(&[offsets[2], bytes(g.stride_c)]),
            ),
        ];
        let chosen = (|| {
            set(
                lt::set_matmul_pref_attribute,
                pref,
                P::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                workspace,
                "workspace",
            )?;
            for (attr, a) in prefs {
                set(lt::set_matmul_pref_attribute, pref, attr, a, "alignment")?;
            }
            // SAFETY: every handle is live.
            unsafe {
                lt::get_matmul_algo_heuristic(handle.0, mm.desc, mm.a, mm.b, mm.d, mm.d, pref)
            }
            .map_err(|e| {
                blas_err(
                    &format!(
                        "no algorithm for {}: m={} n={} k={} batch={} (transa={}, transb={})",
                        g.dtype, g.m, g.n, g.k, g.batch, g.trans_a, g.trans_b
                    ),
                    e,
                )
            })
        })();
        // SAFETY: created above, destroyed once.
        let _ = unsafe { lt::destroy_matmul_pref(pref) };
        mm.algo = chosen?.algo;
        Ok(mm)
    }

    /// Enqueues the matmul on `stream` with device pointers `a`, `b`, `d`.
    ///
    /// # Safety
    /// The pointers must address live device memory of the extents the GEMM was prepared for,
    /// and `workspace` at least `workspace_bytes` bytes, none of it used concurrently elsewhere.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn run(
        &self,
        handle: &LtHandle,
        a: u64,
        b: u64,
        d: u64,
        workspace: u64,
        workspace_bytes: usize,
        stream: cudarc::driver::sys::CUstream,
    ) -> Result<()> {
        lt::matmul(
            handle.0,
            self.desc,
            (&self.alpha) as *const f32 as *const c_void,
            (&self.beta) as *const f32 as *const c_void,
            a as *const c_void,
            self.a,
            b as *const c_void,
            self.b,
            d as *const c_void,
            self.d,
            d as *mut c_void,
            self.d,
            &self.algo,
            workspace as *mut c_void,
            workspace_bytes,
            stream as sys::cudaStream_t,
        )
        .map_err(|e| blas_err("matmul", e))
    }
}

/// Bytes of cuBLASLt workspace per session: NVIDIA's recommendation, 32 MiB on Hopper and newer,
/// 4 MiB before.
pub fn workspace_bytes(major: u32) -> usize {
    if major >= 9 {
        32 << 20
    } else {
        4 << 20
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alignments() {
        assert_eq!(super::alignment(&[0, 0]), 256);
        assert_eq!(super::alignment(&[512 + 64, 0]), 64);
        assert_eq!(super::alignment(&[1024, 6]), 2);
    }
}
