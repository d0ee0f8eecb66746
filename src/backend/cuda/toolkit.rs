//! Where NVRTC and the CUDA headers come from. Compiling the kernels needs `libnvrtc` (a CPU
//! library: no GPU, no driver) and the headers they include (`cuda_fp16.h`); neither is part of a
//! driver install. rtforge looks for them, in this order, in:
//!
//! 1. `RTFORGE_CUDA_INCLUDE` (the header folder) and `RTFORGE_CUDA_LIB` (the folder of `libnvrtc`);
//! 2. the NVIDIA PyPI wheels of the active Python environment (`VIRTUAL_ENV`), then of `./.venv`:
//!    `nvidia-cuda-nvrtc` and `nvidia-cuda-runtime` (CUDA 13 wheels put both under
//!    `site-packages/nvidia/cu13/{lib,include}`, CUDA 12 ones under `nvidia/cuda_nvrtc/lib` and
//!    `nvidia/cuda_runtime/include`); `scripts/setup-cuda.sh` installs the pinned ones;
//! 3. a CUDA toolkit: `CUDA_HOME`, `CUDA_PATH`, then `/usr/local/cuda`.
//!
//! The library itself is found by the dynamic loader (`LD_LIBRARY_PATH`, the system paths). When it
//! is not on those paths but one of the folders above has it, [`load_nvrtc`] loads it from there by
//! full path first: the loader then resolves cudarc's later `dlopen("libnvrtc.so.13")` to the copy
//! already in the process (same soname), so no environment variable has to be set before start-up.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The header every kernel file includes; a folder holding it is a CUDA include folder.
const MARKER_HEADER: &str = "cuda_fp16.h";

/// NVRTC's shared library and the builtins library it opens at compile time (by bare name, so it
/// must be loaded first when it is not on the loader's path).
const NVRTC_FILES: [&str; 2] = ["libnvrtc-builtins.so.13.0", "libnvrtc.so.13"];

/// Folders that may hold the CUDA headers or libraries: a Python prefix's NVIDIA wheels or a
/// toolkit root, each with its `include` and `lib` sub-folders.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub include: Vec<PathBuf>,
    pub lib: Vec<PathBuf>,
}

impl SearchPath {
    /// The search path from the environment (see the module doc), in priority order.
    pub fn from_env() -> SearchPath {
        let mut s = SearchPath::default();
        if let Some(p) = std::env::var_os("RTFORGE_CUDA_INCLUDE") {
            s.include.push(PathBuf::from(p));
        }
        if let Some(p) = std::env::var_os("RTFORGE_CUDA_LIB") {
            s.lib.push(PathBuf::from(p));
        }
        if let Some(p) = std::env::var_os("VIRTUAL_ENV") {
            s.add_python_prefix(Path::new(&p));
        }
        s.add_python_prefix(Path::new(".venv"));
        for var in ["CUDA_HOME", "CUDA_PATH"] {
            if let Some(p) = std::env::var_os(var) {
                s.add_toolkit(Path::new(&p));
            }
        }
        s.add_toolkit(Path::new("/usr/local/cuda"));
        s
    }

    /// Adds the NVIDIA wheel folders of every `lib/python*/site-packages` under `prefix`.
    pub fn add_python_prefix(&mut self, prefix: &Path) {
        let Ok(entries) = std::fs::read_dir(prefix.join("lib")) else {
            return;
        };
        let mut pythons: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("python"))
            })
            .collect();
        pythons.sort();
        for py in pythons {
            let nv = py.join("site-packages").join("nvidia");
            self.include.push(nv.join("cu13").join("include"));
            self.include.push(nv.join("cuda_runtime").join("include"));
            self.lib.push(nv.join("cu13").join("lib"));
            self.lib.push(nv.join("cuda_nvrtc").join("lib"));
        }
    }

    /// Adds a CUDA toolkit installation rooted at `root`.
    pub fn add_toolkit(&mut self, root: &Path) {
        self.include.push(root.join("include"));
        self.lib.push(root.join("lib64"));
        self.lib.push(root.join("lib"));
    }

    /// The first include folder that has the CUDA headers.
    pub fn find_include(&self) -> Option<PathBuf> {
        self.include
            .iter()
            .find(|d| d.join(MARKER_HEADER).is_file())
            .cloned()
    }

    /// The first library folder that has `libnvrtc.so.13`.
    pub fn find_nvrtc(&self) -> Option<PathBuf> {
        self.lib
            .iter()
            .find(|d| d.join(NVRTC_FILES[1]).is_file())
            .cloned()
    }

    /// Everything searched, for error messages.
    pub fn describe(&self) -> String {
        let list = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "headers searched in: {}; libnvrtc searched in: {} and the loader's path",
            list(&self.include),
            list(&self.lib)
        )
    }
}

/// Makes NVRTC loadable by cudarc: `Ok` when the loader finds it already or it was loaded from a
/// folder of `search`; otherwise why not. Safe to call any number of times.
pub fn load_nvrtc(search: &SearchPath) -> Result<(), String> {
    // SAFETY: `is_culib_present` only tries to dlopen NVRTC's candidate names; loading NVRTC runs
    // no initialisation code with preconditions.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Ok(());
    }
    let Some(dir) = search.find_nvrtc() else {
        return Err(format!(
            "NVRTC (libnvrtc.so.13) not found; install it with scripts/setup-cuda.sh or put its \
             folder on LD_LIBRARY_PATH ({})",
            search.describe()
        ));
    };
    static LOADED: OnceLock<Vec<libloading::Library>> = OnceLock::new();
    let mut libs = vec![];
    for name in NVRTC_FILES {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        // SAFETY: these are NVIDIA's NVRTC libraries, whose load-time initialisers have no
        // preconditions; the handles are kept for the life of the process (never unloaded).
        match unsafe { libloading::Library::new(&path) } {
            Ok(l) => libs.push(l),
            Err(e) => return Err(format!("cannot load {}: {e}", path.display())),
        }
    }
    let _ = LOADED.set(libs);
    // SAFETY: as above.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(format!(
            "loaded {} but the loader still does not resolve libnvrtc.so.13",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_prefix_layouts() {
        let dir = std::env::temp_dir().join(format!("rtforge-toolkit-{}", std::process::id()));
        let inc = dir.join("lib/python3.11/site-packages/nvidia/cu13/include");
        std::fs::create_dir_all(&inc).unwrap();
        std::fs::write(inc.join(MARKER_HEADER), "").unwrap();
        let mut s = SearchPath::default();
        s.add_python_prefix(&dir);
        assert_eq!(s.find_include(), Some(inc));
        assert_eq!(s.find_nvrtc(), None);
        assert!(s.describe().contains("cuda_nvrtc"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
