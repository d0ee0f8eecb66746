//! Feeds arbitrary bytes to the ONNX loader, and runs whatever loads on the CPU with zero-filled
//! inputs of small declared shapes. Any panic or abort is a bug: malformed input must be an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtforge::backend::CompileOptions;
use rtforge::ir::Dim;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = rtforge::onnx::import_bytes(data, "fuzz.onnx", None) else { return };
    let Ok(mut session) = rtforge::Session::new(&model, "cpu", &CompileOptions { threads: Some(1) }) else { return };
    let mut feed = HashMap::new();
    for info in session.inputs() {
        let (Some(dtype), Some(shape)) = (info.dtype, info.shape.as_ref()) else { return };
        let dims: Option<Vec<usize>> =
            shape.iter().map(|d| if let Dim::Fixed(n) = d { Some(*n) } else { None }).collect();
        let Some(dims) = dims else { return };
        if dims.iter().product::<usize>() > 1 << 16 {
            return;
        }
        let Ok(t) = rtforge::Tensor::zeros(dtype, dims) else { return };
        feed.insert(info.name.clone(), t);
    }
    let _ = session.run(&feed);
});
