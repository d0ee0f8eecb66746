//! How the operands of Conv and ConvTranspose fit together: X `(N, C, spatial…)`, W `(M, C/g, k…)`
//! (ConvTranspose: `(C, M/g, k…)`) and the optional bias B `(M)`, split into `g` groups.
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>

use crate::error::{Error, Result};

/// Channel bookkeeping of a (transposed) convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvChannels {
    pub batch: usize,
    /// Input channels per group.
    pub cg: usize,
    /// Output channels per group.
    pub mg: usize,
    pub groups: usize,
}

impl ConvChannels {
    /// Checks the shapes of X and W against each other and `group`. `w_in_first`: W is
    /// `(C, M/g, k…)` (ConvTranspose) rather than `(M, C/g, k…)`.
    pub fn new(
        op: &str,
        x: &[usize],
        w: &[usize],
        group: usize,
        w_in_first: bool,
    ) -> Result<ConvChannels> {
        if x.len() < 3 || w.len() != x.len() {
            return Err(Error::Shape(format!(
                "{op} expects X (N, C, spatial…) and W of the same rank, got {x:?} and {w:?}"
            )));
        }
        let c = x[1];
        if group == 0 || c % group != 0 {
            return Err(Error::Shape(format!(
                "{op}: {c} input channels do not split into {group} groups"
            )));
        }
        let (cg, m) = if w_in_first {
            if w[0] != c {
                return Err(Error::Shape(format!(
                    "{op}: W {w:?} should have {c} input channels first"
                )));
            }
            (c / group, w[1] * group)
        } else {
            if w[1] * group != c || w[0] % group != 0 {
                return Err(Error::Shape(format!(
                    "{op}: W {w:?} does not fit {c} input channels in {group} groups"
                )));
            }
            (w[1], w[0])
        };
        Ok(ConvChannels {
            batch: x[0],
            cg,
            mg: m / group,
            groups: group,
        })
    }

    /// All input channels, C.
    pub fn in_channels(&self) -> usize {
        self.cg * self.groups
    }

    /// All output channels, M.
    pub fn out_channels(&self) -> usize {
        self.mg * self.groups
    }

    /// Checks that the bias of shape `b` has one value per output channel.
    pub fn check_bias(&self, op: &str, b: &[usize]) -> Result<()> {
        let m = self.out_channels();
        if b.iter().product::<usize>() != m {
            return Err(Error::Shape(format!(
                "{op}: bias of shape {b:?}, expected ({m})"
            )));
        }
        Ok(())
    }
}

/// The kernel's spatial shape: W's spatial dims, which the `kernel_shape` attribute must equal
/// when it is given.
pub fn kernel_shape(op: &str, attr: &[usize], w: &[usize]) -> Result<Vec<usize>> {
    let from_w = w.get(2..).unwrap_or_default();
    if !attr.is_empty() && attr != from_w {
        return Err(Error::Shape(format!(
            "{op}: kernel_shape {attr:?} but W has spatial shape {from_w:?}"
        )));
    }
    Ok(from_w.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_channels() {
        // 8 input channels in 2 groups, W (6, 4, 3, 3): 3 output channels per group.
        let ch = ConvChannels::new("Conv", &[1, 8, 5, 5], &[6, 4, 3, 3], 2, false).unwrap();
        assert_eq!((ch.cg, ch.mg, ch.out_channels()), (4, 3, 6));
        assert!(ch.check_bias("Conv", &[6]).is_ok());
        assert!(ch.check_bias("Conv", &[3]).is_err());
        // ConvTranspose: W (C, M/g, k…) = (8, 5, 3, 3) in 2 groups gives M = 10.
        let ch = ConvChannels::new("ConvTranspose", &[1, 8, 5, 5], &[8, 5, 3, 3], 2, true).unwrap();
        assert_eq!((ch.cg, ch.out_channels()), (4, 10));
        assert!(ConvChannels::new("Conv", &[1, 8, 5, 5], &[6, 3, 3, 3], 2, false).is_err());
        assert!(ConvChannels::new("Conv", &[1, 8], &[6, 4], 2, false).is_err());
    }

    #[test]
    fn kernel_shape_agrees_with_w() {
        assert_eq!(kernel_shape("Conv", &[], &[6, 4, 3, 2]).unwrap(), [3, 2]);
        assert!(kernel_shape("Conv", &[3, 3], &[6, 4, 3, 2]).is_err());
    }
}
