//! NVRTC compilation of the CUDA C kernels in `kernels/*.cu` to PTX for one architecture. The
//! sources are embedded in the binary; `kernels/common.cuh` (types, the elementwise functions, block
//! reductions) is put in front of each file, which then compiles as one NVRTC program and loads as
//! one module. NVRTC is a CPU library, so this runs on machines without a GPU: that is how a plan
//! is built for `--arch sm_90` anywhere, and how CI checks every kernel.
//! <https://docs.nvidia.com/cuda/nvrtc/index.html>

use super::arch::Arch;
use super::toolkit::{load_nvrtc, SearchPath};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// The prelude every kernel file is compiled with.
pub const COMMON: &str = include_str!("kernels/common.cuh");

/// One kernel file: its module name and source (without the prelude).
#[derive(Clone, Copy, Debug)]
pub struct KernelFile {
    pub name: &'static str,
    pub source: &'static str,
}

/// `kernels/<name>.cu` as a [`KernelFile`].
macro_rules! kernel_file {
    ($name:literal) => {
        KernelFile {
            name: $name,
            source: include_str!(concat!("kernels/", $name, ".cu")),
        }
    };
}

/// Every kernel file, one module each.
pub const KERNEL_FILES: [KernelFile; 7] = [
    kernel_file!("elementwise"),
    kernel_file!("conv"),
    kernel_file!("pool"),
    kernel_file!("norm"),
    kernel_file!("reduce"),
    kernel_file!("layout"),
    kernel_file!("rnn"),
];

/// The PTX of one kernel file for one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtxModule {
    pub name: &'static str,
    pub arch: Arch,
    pub ptx: String,
}

/// Compiles every kernel file for `arch`, finding NVRTC and the headers through `search`. The
/// error of a file that does not compile carries NVRTC's log.
pub fn compile_all(arch: Arch, search: &SearchPath) -> Result<Vec<PtxModule>> {
    load_nvrtc(search).map_err(unavailable)?;
    let include = search.find_include().ok_or_else(|| {
        unavailable(format!(
            "the CUDA headers (cuda_fp16.h) were not found; install them with \
             scripts/setup-cuda.sh or set RTFORGE_CUDA_INCLUDE ({})",
            search.describe()
        ))
    })?;
    KERNEL_FILES
        .iter()
        .map(|f| compile_one(f, arch, &include))
        .collect()
}

/// [`compile_all`], once per architecture per process (NVRTC takes seconds for all the files).
pub fn compile_cached(arch: Arch, search: &SearchPath) -> Result<Arc<Vec<PtxModule>>> {
    static CACHE: OnceLock<Mutex<HashMap<Arch, Arc<Vec<PtxModule>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().ok().and_then(|c| c.get(&arch).cloned()) {
        return Ok(m);
    }
    let modules = Arc::new(compile_all(arch, search)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(arch, modules.clone());
    }
    Ok(modules)
}

/// Compiles one kernel file.
pub fn compile_one(file: &KernelFile, arch: Arch, include: &Path) -> Result<PtxModule> {
    let source = format!("{COMMON}\n#line 1 \"{}.cu\"\n{}", file.name, file.source);
    let opts = cudarc::nvrtc::CompileOptions {
        include_paths: vec![include.display().to_string()],
        name: Some(format!("{}.cu", file.name)),
        options: vec![arch.nvrtc_option(), "--std=c++17".into()],
        ..Default::default()
    };
    let ptx = cudarc::nvrtc::compile_ptx_with_opts(source, opts).map_err(|e| {
        let detail = match &e {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => {
                log.to_string_lossy().into_owned()
            }
            other => format!("{other:?}"),
        };
        Error::Backend {
            backend: "cuda".into(),
            msg: format!(
                "NVRTC could not compile kernels/{}.cu for {arch}:\n{detail}",
                file.name
            ),
        }
    })?;
    Ok(PtxModule {
        name: file.name,
        arch,
        ptx: ptx.to_src(),
    })
}

/// The plan payload key of a module: `cuda.ptx.<arch>.<file>`.
fn payload_key(m: &PtxModule) -> String {
    format!("cuda.ptx.{}.{}", m.arch, m.name)
}

/// Compiled modules as plan payloads (one per kernel file, keyed `cuda.ptx.<arch>.<file>`), so a
/// plan built with `--arch` carries its kernels.
pub fn to_payloads(modules: &[PtxModule]) -> BTreeMap<String, Vec<u8>> {
    modules
        .iter()
        .map(|m| (payload_key(m), m.ptx.clone().into_bytes()))
        .collect()
}

/// The modules stored in a plan's payloads: every kernel file, all for one architecture; `None`
/// when the plan has no CUDA kernels.
pub fn from_payloads(payloads: &BTreeMap<String, Vec<u8>>) -> Result<Option<Vec<PtxModule>>> {
    let bad = |why: String| Error::Backend {
        backend: "cuda".into(),
        msg: format!("the plan's CUDA kernels are unusable: {why}"),
    };
    let mut modules = vec![];
    for (key, bytes) in payloads {
        let Some(rest) = key.strip_prefix("cuda.ptx.") else {
            continue;
        };
        let (arch, name) = rest
            .split_once('.')
            .ok_or_else(|| bad(format!("payload key '{key}'")))?;
        let file = KERNEL_FILES
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| bad(format!("unknown kernel file '{name}'")))?;
        let ptx =
            String::from_utf8(bytes.clone()).map_err(|_| bad(format!("{key} is not text")))?;
        modules.push(PtxModule {
            name: file.name,
            arch: Arch::parse(arch)?,
            ptx,
        });
    }
    if modules.is_empty() {
        return Ok(None);
    }
    modules.sort_by_key(|m| KERNEL_FILES.iter().position(|f| f.name == m.name));
    let arch = modules[0].arch;
    if modules.iter().any(|m| m.arch != arch) || modules.len() != KERNEL_FILES.len() {
        return Err(bad(format!(
            "expected the {} kernel files for one architecture, found {}",
            KERNEL_FILES.len(),
            modules.len()
        )));
    }
    Ok(Some(modules))
}

/// Each kernel's parameter sizes in bytes, from the `.entry` declarations of `ptx`: what a launch's
/// arguments must match (checked before anything runs, in `bind.rs` and the tests).
pub fn entry_params(ptx: &str) -> HashMap<String, Vec<usize>> {
    let mut out = HashMap::new();
    let mut rest = ptx;
    while let Some(at) = rest.find(".entry ") {
        rest = &rest[at + ".entry ".len()..];
        let Some(open) = rest.find('(') else { break };
        let name = rest[..open].trim().to_string();
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let sizes = rest[open + 1..open + close]
            .split(',')
            .filter(|p| p.contains(".param"))
            .map(|p| match (p.find('['), p.find(']')) {
                (Some(a), Some(b)) => p[a + 1..b].trim().parse().unwrap_or(0),
                _ => {
                    let ty = p.split_whitespace().nth(1).unwrap_or("");
                    let bits: usize = ty
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .unwrap_or(0);
                    bits / 8
                }
            })
            .collect();
        out.insert(name, sizes);
        rest = &rest[open + close..];
    }
    out
}

fn unavailable(msg: String) -> Error {
    Error::Backend {
        backend: "cuda".into(),
        msg,
    }
}

/// The `extern "C"` kernel names a kernel file defines, read from its source (the names the
/// lowering may launch; a test checks each one it uses is here).
pub fn kernel_names(file: &KernelFile) -> Vec<String> {
    let mut names = vec![];
    for line in file.source.lines() {
        let Some(rest) = line
            .trim_start()
            .strip_prefix("extern \"C\" __global__ void ")
        else {
            continue;
        };
        match rest.split('(').next() {
            Some(name) if !name.contains('#') => names.push(name.trim().to_string()),
            _ => {}
        }
    }
    // Kernels defined through macros (DEF_CAST, DEF_GATHER) are expanded here by their patterns.
    if file.source.contains("DEF_CASTS_FROM(") {
        for s in ["f32", "f16", "i32", "i64", "u8"] {
            for d in ["f32", "f16", "i32", "i64", "u8", "bool"] {
                names.push(format!("cast_{s}_{d}"));
            }
        }
    }
    if file.source.contains("DEF_GATHER(") {
        for e in ["b1", "b2", "b4", "b8"] {
            for i in ["i32", "i64"] {
                names.push(format!("gather_{e}_{i}"));
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let arch = Arch { major: 9, minor: 0 };
        let modules: Vec<PtxModule> = KERNEL_FILES
            .iter()
            .map(|f| PtxModule {
                name: f.name,
                arch,
                ptx: format!("// {}", f.name),
            })
            .collect();
        let p = to_payloads(&modules);
        assert!(p.contains_key("cuda.ptx.sm_90.conv"));
        assert_eq!(from_payloads(&p).unwrap(), Some(modules));
        assert_eq!(from_payloads(&BTreeMap::new()).unwrap(), None);
        let mut partial = p.clone();
        partial.remove("cuda.ptx.sm_90.conv");
        assert!(from_payloads(&partial).is_err());
    }

    #[test]
    fn ptx_params() {
        let ptx = ".visible .entry pad_b1(\n\t.param .u64 pad_b1_param_0,\n\t.param .align 8 .b8 \
                   pad_b1_param_1[64],\n\t.param .u8 pad_b1_param_2\n)\n{\n}\n.visible .entry k()\n{}";
        let p = entry_params(ptx);
        assert_eq!(p["pad_b1"], [8, 64, 1]);
        assert_eq!(p["k"], Vec::<usize>::new());
    }

    #[test]
    fn kernel_names_are_found() {
        let ew = kernel_names(&KERNEL_FILES[0]);
        for n in [
            "chain_f32",
            "binary_f16",
            "cast_f16_f32",
            "epilogue_f32",
            "where_b4",
        ] {
            assert!(ew.iter().any(|k| k == n), "{n} not in {ew:?}");
        }
        let layout = kernel_names(&KERNEL_FILES[5]);
        assert!(layout.iter().any(|k| k == "gather_b4_i64"));
        assert!(layout.iter().any(|k| k == "copy_nd_b8"));
    }
}
