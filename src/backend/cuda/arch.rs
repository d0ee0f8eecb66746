//! GPU architectures the kernels are compiled for: `sm_XY` for compute capability X.Y. The
//! device's own at engine build, or one named with `--arch` so a plan can be built where there is
//! no GPU. Volta (7.0) is the oldest rtforge runs on: the kernels use `__shfl_xor_sync` and the
//! GEMMs want tensor cores.
//! <https://docs.nvidia.com/cuda/cuda-c-programming-guide/#compute-capabilities>

use crate::error::{Error, Result};
use std::fmt;

/// The oldest compute capability the CUDA backend accepts.
pub const MIN_CAPABILITY: (u32, u32) = (7, 0);

/// The architectures CI compiles every kernel for.
pub const CI_ARCHES: [Arch; 2] = [Arch { major: 8, minor: 0 }, Arch { major: 9, minor: 0 }];

/// A compute capability, written `sm_XY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arch {
    pub major: u32,
    pub minor: u32,
}

impl Arch {
    /// Parses `sm_80`, `sm_90`, `sm_100`, `compute_86` or a capability such as `8.6`.
    pub fn parse(s: &str) -> Result<Arch> {
        let bad = || {
            Error::Other(format!(
                "unknown GPU architecture '{s}': write it as sm_80, sm_86, sm_89, sm_90 (or 8.6)"
            ))
        };
        let arch = if let Some((a, b)) = s.split_once('.') {
            Arch {
                major: a.parse().map_err(|_| bad())?,
                minor: b.parse().map_err(|_| bad())?,
            }
        } else {
            let digits = s
                .strip_prefix("sm_")
                .or_else(|| s.strip_prefix("compute_"))
                .ok_or_else(bad)?;
            if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let (a, b) = digits.split_at(digits.len() - 1);
            Arch {
                major: a.parse().map_err(|_| bad())?,
                minor: b.parse().map_err(|_| bad())?,
            }
        };
        if arch.minor > 9 {
            return Err(bad());
        }
        if (arch.major, arch.minor) < MIN_CAPABILITY {
            return Err(Error::Other(format!(
                "GPU architecture {arch} is below the oldest rtforge supports (sm_70)"
            )));
        }
        Ok(arch)
    }

    /// The NVRTC option selecting this architecture.
    pub fn nvrtc_option(self) -> String {
        format!("--gpu-architecture={self}")
    }

    /// `8.6`, as the plan fingerprint writes it.
    pub fn capability(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sm_{}{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(Arch::parse("sm_86").unwrap(), Arch { major: 8, minor: 6 });
        assert_eq!(Arch::parse("sm_100").unwrap().to_string(), "sm_100");
        assert_eq!(Arch::parse("9.0").unwrap().capability(), "9.0");
        assert_eq!(Arch::parse("compute_89").unwrap().to_string(), "sm_89");
        assert!(Arch::parse("sm_61")
            .unwrap_err()
            .to_string()
            .contains("below"));
        assert!(Arch::parse("ampere").is_err());
        assert!(Arch::parse("sm_8").is_err());
    }
}
