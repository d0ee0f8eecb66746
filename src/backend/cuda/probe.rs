//! Whether this machine can run the CUDA backend, and if not, exactly why: the driver library, a
//! device, its compute capability, cuBLASLt, NVRTC and the CUDA headers are checked in that order.
//! cudarc panics when a library it loads at run time is missing, so every library is checked with
//! its `is_culib_present()` before the first call into it, and the probe runs under `catch_unwind`
//! as a last guard (an old driver can lack a symbol cudarc's bindings expect).

use super::arch::{Arch, MIN_CAPABILITY};
use super::toolkit::{load_nvrtc, SearchPath};
use cudarc::driver::{result, sys};
use std::sync::OnceLock;

/// The device the backend runs on (ordinal 0; pick another with `CUDA_VISIBLE_DEVICES`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    /// `NVIDIA H100 80GB HBM3`.
    pub name: String,
    pub arch: Arch,
    pub memory_bytes: usize,
    /// The CUDA version the driver supports, e.g. `13.0`.
    pub driver_cuda: String,
}

/// The probe's result, computed once per process.
pub fn probe() -> Result<DeviceInfo, String> {
    static RESULT: OnceLock<Result<DeviceInfo, String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            std::panic::catch_unwind(probe_uncached).unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                Err(format!("the CUDA libraries could not be used: {what}"))
            })
        })
        .clone()
}

fn probe_uncached() -> Result<DeviceInfo, String> {
    // SAFETY: only tries to dlopen the driver library's candidate names.
    if !unsafe { sys::is_culib_present() } {
        return Err(
            "no NVIDIA driver: libcuda.so (the CUDA driver library) is not installed or not on \
             the loader's path"
                .into(),
        );
    }
    result::init().map_err(|e| format!("the CUDA driver did not initialise (cuInit: {e})"))?;
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| format!("cuDriverGetVersion failed: {e}"))?;
    let driver_cuda = format!("{}.{}", version / 1000, (version % 1000) / 10);
    let count = result::device::get_count().map_err(|e| format!("cuDeviceGetCount: {e}"))?;
    if count < 1 {
        return Err("no CUDA device: the driver is installed but reports no GPU".into());
    }
    let dev = result::device::get(0).map_err(|e| format!("cuDeviceGet(0): {e}"))?;
    let attr = |a| {
        // SAFETY: `dev` is a valid device handle from cuDeviceGet.
        unsafe { result::device::get_attribute(dev, a) }
            .map_err(|e| format!("cuDeviceGetAttribute: {e}"))
    };
    let major = attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    let name = result::device::get_name(dev).unwrap_or_else(|_| "unknown GPU".into());
    let (major, minor) = (major.max(0) as u32, minor.max(0) as u32);
    if (major, minor) < MIN_CAPABILITY {
        return Err(format!(
            "{name} has compute capability {major}.{minor}; the CUDA backend needs 7.0 or newer"
        ));
    }
    // SAFETY: `dev` is a valid device handle.
    let memory_bytes = unsafe { result::device::total_mem(dev) }.unwrap_or(0);
    // SAFETY: only tries to dlopen the cuBLASLt library's candidate names.
    if !unsafe { cudarc::cublaslt::sys::is_culib_present() } {
        return Err(
            "cuBLASLt (libcublasLt.so.13) is not on the loader's path; put the folder of the \
             nvidia-cublas wheel (site-packages/nvidia/cu13/lib) or of a CUDA toolkit on \
             LD_LIBRARY_PATH"
                .into(),
        );
    }
    let search = SearchPath::from_env();
    load_nvrtc(&search)?;
    if search.find_include().is_none() {
        return Err(format!(
            "the CUDA headers (cuda_fp16.h) the kernels are compiled with were not found; install \
             them with scripts/setup-cuda.sh or set RTFORGE_CUDA_INCLUDE ({})",
            search.describe()
        ));
    }
    Ok(DeviceInfo {
        ordinal: 0,
        name,
        arch: Arch { major, minor },
        memory_bytes,
        driver_cuda,
    })
}
