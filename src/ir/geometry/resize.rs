//! The output extents of Resize: for each resized axis, its scale and output length, from `sizes`
//! (with `keep_aspect_ratio_policy`) or from `scales`, over every axis or the `axes` attribute.
//! Where each output position reads from is the kernels' business.
//! <https://onnx.ai/onnx/operators/onnx__Resize.html>

use super::shape::norm_axis;
use crate::error::{Error, Result};
use crate::ir::{KeepAspect, Resize};
use crate::tensor::Tensor;

/// One axis Resize changes: which, by what scale, to what length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizedAxis {
    pub axis: usize,
    pub scale: f64,
    pub len: usize,
}

/// The axes Resize `p` changes on an input of shape `in_shape`, in `axes` order: from the `sizes`
/// input when given, else from the `scales` input or Upsample's `scales` attribute. An absent or
/// empty input is not given.
pub fn resized_axes(
    p: &Resize,
    in_shape: &[usize],
    scales: Option<&Tensor>,
    sizes: Option<&Tensor>,
) -> Result<Vec<ResizedAxis>> {
    let rank = in_shape.len();
    let axes: Vec<usize> = match &p.axes {
        Some(a) => a
            .iter()
            .map(|&ax| norm_axis(ax, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    let axis = |axis: usize, scale: f64, len: usize| ResizedAxis { axis, scale, len };
    if let Some(sizes) = sizes.filter(|t| !t.is_empty()) {
        let sizes = sizes.to_i64_vec();
        if sizes.len() != axes.len() || sizes.iter().any(|&s| s < 0) {
            return Err(Error::Shape(format!(
                "Resize: sizes {sizes:?} for {} axes",
                axes.len()
            )));
        }
        let ratios: Vec<f64> = axes
            .iter()
            .zip(&sizes)
            .map(|(&a, &s)| s as f64 / in_shape[a] as f64)
            .collect();
        let pick = match p.keep_aspect {
            KeepAspect::Stretch => None,
            KeepAspect::NotLarger => ratios.iter().copied().reduce(f64::min),
            KeepAspect::NotSmaller => ratios.iter().copied().reduce(f64::max),
        };
        return Ok(axes
            .iter()
            .enumerate()
            .map(|(i, &a)| match pick {
                // The common scale, with sizes rounded half up.
                Some(s) => axis(a, s, (s * in_shape[a] as f64 + 0.5).floor() as usize),
                None => axis(a, ratios[i], sizes[i] as usize),
            })
            .collect());
    }
    let scales: Vec<f32> = match (&p.scales_attr, scales.filter(|t| !t.is_empty())) {
        (Some(s), _) => s.clone(),
        (None, Some(t)) => t.to_f32_vec(),
        (None, None) => return Err(Error::Input("Resize needs scales or sizes".into())),
    };
    if scales.len() != axes.len() || scales.iter().any(|&s| !(s > 0.0) || !s.is_finite()) {
        return Err(Error::Shape(format!(
            "Resize: scales {scales:?} for {} axes (each must be > 0)",
            axes.len()
        )));
    }
    Ok(axes
        .iter()
        .zip(&scales)
        .map(|(&a, &s)| {
            axis(
                a,
                s as f64,
                (in_shape[a] as f64 * s as f64).floor() as usize,
            )
        })
        .collect())
}

/// `in_shape` with each resized axis at its new length.
pub fn resized_shape(in_shape: &[usize], resized: &[ResizedAxis]) -> Vec<usize> {
    let mut shape = in_shape.to_vec();
    for r in resized {
        shape[r.axis] = r.len;
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_a_kept_aspect_ratio() {
        let p = Resize {
            axes: Some(vec![-2, -1]),
            keep_aspect: KeepAspect::NotLarger,
            ..Resize::default()
        };
        // 4×6 into at most 2×2: the smaller ratio 1/3 wins, 4/3 rounds to 1.
        let sizes = Tensor::from_vec(vec![2], vec![2i64, 2]).unwrap();
        let r = resized_axes(&p, &[1, 4, 6], None, Some(&sizes)).unwrap();
        assert_eq!(
            r.iter().map(|r| (r.axis, r.len)).collect::<Vec<_>>(),
            [(1, 1), (2, 2)]
        );
        assert_eq!(resized_shape(&[1, 4, 6], &r), [1, 1, 2]);
    }

    #[test]
    fn scales_floor_the_length() {
        let scales = Tensor::from_vec(vec![2], vec![1.0f32, 1.5]).unwrap();
        let empty = Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap();
        let r = resized_axes(&Resize::default(), &[2, 5], Some(&scales), Some(&empty)).unwrap();
        assert_eq!((r[1].scale, r[1].len), (1.5, 7));
        let bad = Tensor::from_vec(vec![2], vec![1.0f32, 0.0]).unwrap();
        assert!(resized_axes(&Resize::default(), &[2, 5], Some(&bad), None).is_err());
        assert!(resized_axes(&Resize::default(), &[2, 5], None, None).is_err());
    }
}
