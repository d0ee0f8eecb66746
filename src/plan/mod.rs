//! Engine plans: what `rtforge build` writes and every runtime entry point can load instead of an
//! ONNX model, like a TensorRT engine file.
//!
//! A [`Plan`] is the optimized [`Model`] (graph and weights), the [`Fingerprint`] of the build that
//! made it (rtforge version, backend, precision, device), the [`BuildOptions`] it was built with, its
//! optimization [`Profile`]s (min/opt/max shape per input) and per-backend payloads (compiled kernels,
//! serialized TensorRT engines; empty for the CPU backend). The graph stays backend-neutral.
//!
//! ```text
//!  Model ─► build::build (bind shapes, passes) ─► Plan ─► format (bytes, docs/plan-format.md) ─► .plan
//!  .plan ─► Plan::load (mmap, checksum, validate) ─► Session::from_plan (backend check, profiles)
//! ```
//! - [`format`]: the byte layout, writing and fully validated reading.
//! - [`weights`]: initializers of the graph and its subgraphs as aligned raw blobs.
//! - [`profile`]: shape profiles, parsing `NAME:1x3x224x224` lists, checks at build and run time;
//!   [`bind_fixed_shapes`] makes the inputs a profile fixes concrete in the graph.
//! - [`mod@build`]: the build pipeline behind `rtforge build`.

mod bind_shapes;
pub mod build;
pub mod format;
pub mod profile;
mod tensor_serde;
#[cfg(test)]
mod tests_support;
mod walk;
pub mod weights;

pub use bind_shapes::bind_fixed_shapes;
pub use build::{build, BuildReport, BuildRequest};
pub use format::{checksum, is_plan_file, FORMAT_VERSION, MAGIC};
pub use profile::{check_profiles, format_dims, parse_shape_list, InputProfile, Profile};

use crate::error::{Error, Result};
use crate::ir::Model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The arithmetic precision a plan's kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    Fp16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who built a plan and for what: a plan is only run where these match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`crate::VERSION`] of the build: package version and git commit.
    pub rtforge: String,
    /// The backend the plan was built for (`cpu`, `cuda`, `tensorrt`).
    pub backend: String,
    pub precision: Precision,
    /// GPU plans: the device it was built on (`NVIDIA H100 80GB HBM3`).
    #[serde(default)]
    pub device_name: Option<String>,
    /// GPU plans: the compute capability the kernels were compiled for (`9.0`).
    #[serde(default)]
    pub compute_capability: Option<String>,
}

/// The options a plan was built with, kept so `inspect` can show them and an error can print the
/// exact command that rebuilds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// The model as given to `--onnx`: a path or `zoo:NAME`.
    pub source: String,
    /// Batch size given for a `zoo:NAME` model.
    #[serde(default)]
    pub batch: Option<usize>,
    /// Optimization level, 0..=3.
    pub opt_level: u8,
    /// Worker threads a session uses when the caller does not say (`None`: one per core).
    #[serde(default)]
    pub threads: Option<usize>,
    /// GPU: TF32 tensor cores were turned off (`--no-tf32`); sessions of the plan keep them off.
    #[serde(default)]
    pub no_tf32: bool,
    /// GPU: the architecture named with `--arch` (`sm_90`); `None`: the build machine's device.
    #[serde(default)]
    pub arch: Option<String>,
    /// GPU: nodes without a device kernel run on the CPU (`--allow-cpu-fallback`); sessions of
    /// the plan allow it too.
    #[serde(default)]
    pub allow_cpu_fallback: bool,
}

/// An optimized model with everything needed to run it without the ONNX file.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The optimized graph and its weights. After [`Plan::load`], `model.source` is the plan's path.
    pub model: Model,
    pub fingerprint: Fingerprint,
    pub build: BuildOptions,
    /// Shape ranges the plan accepts; empty means any shape the model itself accepts.
    pub profiles: Vec<Profile>,
    /// Backend-specific compiled artifacts by name (PTX modules, TensorRT engines).
    pub payloads: BTreeMap<String, Vec<u8>>,
}

impl Plan {
    /// Reads and validates a plan file (memory-mapped; see [`format`] for what is checked).
    pub fn load(path: &Path) -> Result<Plan> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let name = path.display().to_string();
        if len == 0 {
            return format::read(&[], &name);
        }
        // SAFETY: the map is only read, and only inside this call. Another process truncating the
        // file meanwhile could fault the reads, as with any mapped file; rtforge itself never
        // changes a plan in place (`save` writes a new file and renames it over the old one).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        format::read(&map, &name)
    }

    /// Parses a plan held in memory; `name` stands for the file in errors.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Plan> {
        format::read(bytes, name)
    }

    /// The plan file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = vec![];
        format::write(self, &mut out)?;
        Ok(out)
    }

    /// Writes the plan to `path` (through a temporary file renamed into place, so a reader never
    /// sees half a plan); returns its size in bytes.
    pub fn save(&self, path: &Path) -> Result<u64> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
        let written = (|| {
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let n = format::write(self, std::io::BufWriter::new(f))?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
            Ok(n)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    pub fn precision(&self) -> Precision {
        self.fingerprint.precision
    }

    pub fn backend(&self) -> &str {
        &self.fingerprint.backend
    }

    /// The `rtforge build` command that makes this plan again at `path`.
    pub fn rebuild_command(&self, path: &str) -> String {
        let b = &self.build;
        let mut cmd = format!(
            "rtforge build --onnx {} --save-engine {path} --backend {} -O {}",
            b.source, self.fingerprint.backend, b.opt_level
        );
        if let Some(n) = b.batch {
            cmd += &format!(" --batch {n}");
        }
        if self.fingerprint.precision == Precision::Fp16 {
            cmd += " --fp16";
        }
        if b.no_tf32 {
            cmd += " --no-tf32";
        }
        if let Some(a) = &b.arch {
            cmd += &format!(" --arch {a}");
        }
        if b.allow_cpu_fallback {
            cmd += " --allow-cpu-fallback";
        }
        if let Some(p) = self.profiles.first() {
            cmd += &p.to_flags();
        }
        cmd
    }

    /// Checks that this plan was built for `backend` (the one a caller asked to run it on).
    pub fn check_backend(&self, backend: &str) -> Result<()> {
        if self.fingerprint.backend == backend {
            return Ok(());
        }
        let path = &self.model.source;
        let mut wanted = self.clone_header();
        wanted.fingerprint.backend = backend.to_string();
        Err(Error::Plan {
            path: path.clone(),
            msg: format!(
                "this plan was built for backend '{built}', not '{backend}' \
                 (run it with --backend {built}, or rebuild it for {backend})",
                built = self.fingerprint.backend
            ),
            rebuild: wanted.rebuild_command(path),
        })
    }

    /// The plan without its graph and payloads: enough to print rebuild commands.
    fn clone_header(&self) -> Plan {
        Plan {
            model: Model::default(),
            fingerprint: self.fingerprint.clone(),
            build: self.build.clone(),
            profiles: self.profiles.clone(),
            payloads: BTreeMap::new(),
        }
    }
}

/// The rebuild command for a file whose own header cannot be read.
pub(crate) fn generic_rebuild(path: &str) -> String {
    format!("rtforge build --onnx MODEL --save-engine {path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plan {
        Plan {
            model: Model {
                source: "engines/m.plan".into(),
                ..Default::default()
            },
            fingerprint: Fingerprint {
                rtforge: crate::VERSION.into(),
                backend: "cpu".into(),
                precision: Precision::Fp32,
                device_name: None,
                compute_capability: None,
            },
            build: BuildOptions {
                source: "zoo:resnet18".into(),
                batch: Some(4),
                opt_level: 2,
                threads: None,
                no_tf32: false,
                arch: None,
                allow_cpu_fallback: false,
            },
            profiles: vec![],
            payloads: BTreeMap::new(),
        }
    }

    #[test]
    fn rebuild_command_repeats_the_build_options() {
        assert_eq!(
            sample().rebuild_command("out.plan"),
            "rtforge build --onnx zoo:resnet18 --save-engine out.plan --backend cpu -O 2 --batch 4"
        );
        let mut p = sample();
        p.build.allow_cpu_fallback = true;
        assert!(p
            .rebuild_command("out.plan")
            .ends_with(" --allow-cpu-fallback"));
    }

    #[test]
    fn build_options_of_older_plans_read_with_the_defaults() {
        let b: BuildOptions =
            serde_json::from_str(r#"{"source": "m.onnx", "opt_level": 3}"#).unwrap();
        assert!(!b.allow_cpu_fallback && !b.no_tf32 && b.arch.is_none());
    }

    #[test]
    fn another_backend_is_an_error_naming_both() {
        let e = sample().check_backend("cuda").unwrap_err().to_string();
        assert!(
            e.starts_with("engines/m.plan: this plan was built for backend 'cpu', not 'cuda'"),
            "{e}"
        );
        assert!(
            e.contains("--save-engine engines/m.plan --backend cuda -O 2"),
            "{e}"
        );
        sample().check_backend("cpu").unwrap();
    }

    #[test]
    fn precision_names_are_lowercase() {
        assert_eq!(serde_json::to_string(&Precision::Fp16).unwrap(), "\"fp16\"");
        assert_eq!(Precision::default().to_string(), "fp32");
    }
}
