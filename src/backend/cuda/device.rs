//! The GPU an engine runs on: its context (event tracking off: every session orders its own work
//! on its own stream), the kernels loaded from PTX, a stream for uploads, the planning cuBLASLt
//! handle, and the functions that turn driver errors into the crate's [`Error`].

use super::blas::LtHandle;
use super::nvrtc::{entry_params, kernel_names, PtxModule, KERNEL_FILES};
use super::probe::DeviceInfo;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorData};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DriverError};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Wraps a driver error with what was being done.
pub fn driver(what: &str) -> impl Fn(DriverError) -> Error + '_ {
    move |e| Error::Backend {
        backend: "cuda".into(),
        msg: format!("{what}: {e}"),
    }
}

/// A tensor's elements as little-endian bytes: borrowed for numeric types (the host is little
/// endian, as every platform CUDA runs on), converted for bool.
pub fn host_bytes(t: &Tensor) -> Cow<'_, [u8]> {
    fn raw<T>(v: &[T]) -> Cow<'_, [u8]> {
        // SAFETY: T is a plain numeric type (no padding, any bit pattern is a valid u8), and the
        // byte slice covers exactly the elements' memory for the lifetime of `v`.
        Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v))
        })
    }
    if cfg!(target_endian = "big") {
        return Cow::Owned(crate::tensor::to_le_bytes(t));
    }
    match t.data() {
        TensorData::Bool(_) => Cow::Owned(crate::tensor::to_le_bytes(t)),
        TensorData::F32(v) => raw(v),
        TensorData::F16(v) => raw(v),
        TensorData::BF16(v) => raw(v),
        TensorData::F64(v) => raw(v),
        TensorData::I8(v) => raw(v),
        TensorData::U8(v) => raw(v),
        TensorData::I16(v) => raw(v),
        TensorData::U16(v) => raw(v),
        TensorData::I32(v) => raw(v),
        TensorData::U32(v) => raw(v),
        TensorData::I64(v) => raw(v),
        TensorData::U64(v) => raw(v),
    }
}

/// Device memory holding a copy of host data, with its raw address.
pub struct Upload {
    _slice: CudaSlice<u8>,
    pub ptr: u64,
}

/// One GPU, ready to run kernels.
pub struct Device {
    pub ctx: Arc<CudaContext>,
    pub info: DeviceInfo,
    kernels: HashMap<String, CudaFunction>,
    /// Each kernel's parameter sizes, from its PTX.
    params: HashMap<String, Vec<usize>>,
    upload_stream: Arc<CudaStream>,
    /// For cuBLASLt's heuristics when a program is bound.
    pub planner: LtHandle,
}

impl Device {
    /// Opens the device of `info` and loads the compiled kernel modules.
    pub fn open(info: DeviceInfo, modules: &[PtxModule]) -> Result<Device> {
        let ctx = CudaContext::new(info.ordinal).map_err(driver("creating the CUDA context"))?;
        // SAFETY: nothing has been allocated in this context by rtforge yet; from here on every
        // buffer is used on one stream at a time, or after a synchronisation (uploads).
        unsafe { ctx.disable_event_tracking() };
        let upload_stream = ctx.new_stream().map_err(driver("creating a stream"))?;
        let mut kernels = HashMap::new();
        let mut params = HashMap::new();
        for m in modules {
            params.extend(entry_params(&m.ptx));
            let file = KERNEL_FILES
                .iter()
                .find(|f| f.name == m.name)
                .ok_or_else(|| Error::Other(format!("unknown kernel module '{}'", m.name)))?;
            let module = ctx
                .load_module(cudarc::nvrtc::Ptx::from_src(m.ptx.clone()))
                .map_err(driver(&format!(
                    "loading kernels/{}.cu for {}",
                    m.name, m.arch
                )))?;
            for name in kernel_names(file) {
                let f = module
                    .load_function(&name)
                    .map_err(driver(&format!("finding kernel {name}")))?;
                kernels.insert(name, f);
            }
        }
        ctx.bind_to_thread()
            .map_err(driver("binding the context"))?;
        Ok(Device {
            planner: LtHandle::new()?,
            ctx,
            info,
            kernels,
            params,
            upload_stream,
        })
    }

    /// The kernel called `name`.
    pub fn kernel(&self, name: &str) -> Result<&CudaFunction> {
        self.kernels.get(name).ok_or_else(|| Error::Backend {
            backend: "cuda".into(),
            msg: format!("no kernel named {name} was compiled"),
        })
    }

    /// The parameter sizes of kernel `name`.
    pub fn params(&self, name: &str) -> &[usize] {
        self.params.get(name).map_or(&[], |p| p.as_slice())
    }

    /// Copies `t` to new device memory and waits until it is there.
    pub fn upload(&self, t: &Tensor) -> Result<Upload> {
        let bytes = host_bytes(t);
        // Zero-sized tensors still get an address: one byte.
        let src: &[u8] = if bytes.is_empty() { &[0] } else { &bytes };
        let slice = self
            .upload_stream
            .clone_htod(src)
            .map_err(driver("uploading a constant"))?;
        self.upload_stream
            .synchronize()
            .map_err(driver("uploading a constant"))?;
        let ptr = slice.device_ptr(&self.upload_stream).0;
        Ok(Upload { ptr, _slice: slice })
    }

    /// Makes this device's context current on the calling thread (raw driver calls need it).
    pub fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(driver("binding the context"))
    }
}
