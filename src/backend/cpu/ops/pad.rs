//! Pad: grows (or, with negative pads, crops) each dim, filling new elements with a constant or by
//! reflecting, repeating the edge, or wrapping around. <https://onnx.ai/onnx/operators/onnx__Pad.html>

use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::geometry::{int_values, norm_axes};
use crate::ir::*;
use crate::tensor::{check_alloc, strides_of, Element, Tensor, TensorData};
use crate::with_data;
use rayon::prelude::*;

/// Rows shorter than this are grouped so each rayon task has real work.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Pad: `pads` (attribute, or input 1) lists all begin pads then all end pads for the dims in
/// `axes` (input 3, default every dim); the constant comes from the attribute or input 2.
pub fn pad(p: &Pad, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let rank = x.rank();
    let pads = match &p.pads {
        Some(v) => v.clone(),
        None => int_values(input(inputs, 1)?, "Pad pads")?,
    };
    let axes = match (p.pads.is_none(), opt_input(inputs, 3)) {
        (true, Some(t)) => norm_axes(&int_values(t, "Pad axes")?, rank)?,
        _ => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(Error::Shape(format!(
            "Pad: {} pads given for {} axes of input {:?}; expected {}",
            pads.len(),
            axes.len(),
            x.shape(),
            2 * axes.len()
        )));
    }
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (i, &a) in axes.iter().enumerate() {
        begin[a] = pads[i];
        end[a] = pads[i + axes.len()];
    }
    let mut out_shape = Vec::with_capacity(rank);
    for d in 0..rank {
        let n = x.shape()[d] as i64 + begin[d] + end[d];
        if n < 0 {
            return Err(Error::Shape(format!(
                "Pad: pads {pads:?} crop dim {d} of {:?} below zero",
                x.shape()
            )));
        }
        out_shape.push(n as usize);
    }
    check_alloc(&out_shape, x.dtype())?;
    // Per dim, the source index each output index reads (`None`: the constant).
    let maps: Vec<Vec<Option<usize>>> = (0..rank)
        .map(|d| source_map(p.mode, x.shape()[d], begin[d], out_shape[d]))
        .collect::<Result<_>>()?;
    let fill = match p.mode {
        PadMode::Constant => constant(p, inputs, x)?,
        _ => Tensor::zeros(x.dtype(), vec![1])?,
    };
    let data =
        with_data!(x.data(), v => pad_typed(v, fill.as_slice()?[0], x.shape(), &out_shape, &maps));
    Ok(vec![Tensor::new(out_shape, data)?])
}

/// The fill value, in the input's dtype (zero when none is given).
fn constant(p: &Pad, inputs: &[Option<&Tensor>], x: &Tensor) -> Result<Tensor> {
    let v = match (p.value, opt_input(inputs, 2)) {
        (Some(v), _) => Tensor::scalar(v).cast(x.dtype()),
        (None, Some(t)) if !t.is_empty() => t.cast(x.dtype()),
        _ => Tensor::zeros(x.dtype(), vec![1])?,
    };
    Ok(v)
}

/// Maps every output index of one dim to the input index it copies.
fn source_map(mode: PadMode, dim: usize, begin: i64, out: usize) -> Result<Vec<Option<usize>>> {
    let d = dim as i64;
    if dim == 0 && out > 0 && mode != PadMode::Constant {
        return Err(Error::Shape(format!(
            "Pad: {mode:?} mode cannot pad an empty dim"
        )));
    }
    Ok((0..out as i64)
        .map(|o| {
            let i = o - begin;
            if (0..d).contains(&i) {
                return Some(i as usize);
            }
            Some(match mode {
                PadMode::Constant => return None,
                PadMode::Edge => i.clamp(0, d - 1),
                PadMode::Wrap => i.rem_euclid(d),
                PadMode::Reflect if d == 1 => 0,
                PadMode::Reflect => {
                    // Reflection without repeating the edge has period 2(d-1).
                    let period = 2 * (d - 1);
                    let m = i.rem_euclid(period);
                    if m < d {
                        m
                    } else {
                        period - m
                    }
                }
            } as usize)
        })
        .collect())
}

/// Builds the padded buffer row by row (a row is the last output dim).
fn pad_typed<T: Element>(
    src: &[T],
    fill: T,
    in_shape: &[usize],
    out_shape: &[usize],
    maps: &[Vec<Option<usize>>],
) -> TensorData {
    let n: usize = out_shape.iter().product();
    let Some((&inner, outer)) = out_shape.split_last() else {
        return T::wrap(src.to_vec());
    };
    if n == 0 {
        return T::wrap(Vec::new());
    }
    let in_strides = strides_of(in_shape);
    let last = maps.len() - 1;
    let fill_row = |r: usize, row: &mut [T]| {
        let mut rem = r;
        let mut base = Some(0usize);
        for d in (0..outer.len()).rev() {
            let o = rem % outer[d];
            rem /= outer[d];
            base = base.and_then(|b| maps[d][o].map(|i| b + i * in_strides[d]));
        }
        match base {
            None => row.fill(fill),
            Some(b) => {
                for (e, m) in row.iter_mut().zip(&maps[last]) {
                    *e = m.map_or(fill, |i| src[b + i]);
                }
            }
        }
    };
    let mut out = vec![fill; n];
    if n < PAR_MIN_ELEMS {
        out.chunks_mut(inner)
            .enumerate()
            .for_each(|(r, row)| fill_row(r, row));
    } else {
        let rows = (PAR_MIN_ELEMS / inner).max(1);
        out.par_chunks_mut(inner)
            .with_min_len(rows)
            .enumerate()
            .for_each(|(r, row)| fill_row(r, row));
    }
    T::wrap(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: PadMode, pads: Vec<i64>) -> Vec<i32> {
        let x = Tensor::from_vec(vec![1, 3], vec![1i32, 2, 3]).unwrap();
        let p = Pad {
            mode,
            pads: Some(pads),
            value: Some(9.0),
        };
        pad(&p, &[Some(&x)]).unwrap()[0]
            .as_slice::<i32>()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn pad_modes() {
        assert_eq!(
            run(PadMode::Constant, vec![0, 2, 0, 1]),
            vec![9, 9, 1, 2, 3, 9]
        );
        assert_eq!(
            run(PadMode::Reflect, vec![0, 2, 0, 1]),
            vec![3, 2, 1, 2, 3, 2]
        );
        assert_eq!(run(PadMode::Edge, vec![0, 2, 0, 1]), vec![1, 1, 1, 2, 3, 3]);
        assert_eq!(run(PadMode::Wrap, vec![0, 2, 0, 1]), vec![2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn negative_pads_crop() {
        assert_eq!(run(PadMode::Constant, vec![0, -1, 0, 1]), vec![2, 3, 9]);
    }
}
