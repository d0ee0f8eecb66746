//! Each kernel of `src/backend/cuda/kernels/*.cu` in plain Rust, reading its arguments in the
//! kernel's parameter order (see the `.cu` signatures).

use super::{act, binary, offset, size, Args, Mem};
use rtforge::backend::cuda::program::{Arg, WindowArg};

fn window(a: &mut Args) -> WindowArg {
    match a.other() {
        Arg::Window(w) => w,
        other => panic!("emulator: expected a Window, got {other:?}"),
    }
}

fn vol(d: [i32; 3]) -> i64 {
    d.iter().map(|&v| v as i64).product()
}

/// (od, oh, ow) of flat spatial position `p` of extents `e`.
fn pos(p: i64, e: [i32; 3]) -> [i64; 3] {
    let (e1, e2) = (e[1] as i64, e[2] as i64);
    [p / (e1 * e2), (p / e2) % e1, p % e2]
}

/// The flat input position that output position `o` reads through kernel tap `k`, or `None` when
/// the tap falls in the padding.
fn tap(w: &WindowArg, o: &[i64; 3], k: &[i64; 3]) -> Option<i64> {
    let s: Vec<i64> = (0..3)
        .map(|d| o[d] * w.stride[d] as i64 - w.pad[d] as i64 + k[d] * w.dilation[d] as i64)
        .collect();
    (0..3)
        .all(|d| s[d] >= 0 && s[d] < w.input[d] as i64)
        .then(|| (s[0] * w.input[1] as i64 + s[1]) * w.input[2] as i64 + s[2])
}

pub fn launch(m: &mut Mem, kernel: &str, grid: u32, args: &[Arg]) {
    let families = [
        "chain",
        "int_unary",
        "not",
        "binary",
        "compare",
        "where",
        "cast",
        "epilogue",
        "im2col",
        "col2im",
        "depthwise",
        "global_pool",
        "pool",
        "softmax",
        "layer_norm",
        "batch_norm",
        "instance_norm",
        "reduce_thread",
        "reduce_block",
        "reduce_int",
        "copy_nd",
        "gather",
        "pad",
        "resize_nearest",
        "resize_linear",
        "rnn_cell",
        "gru_reset",
    ];
    let fam = families
        .iter()
        .find(|f| kernel.strip_prefix(**f).is_some_and(|r| r.starts_with('_')))
        .unwrap_or_else(|| panic!("emulator: kernel {kernel} not written"));
    let t = &kernel[fam.len() + 1..];
    let a = &mut Args(args, 0);
    match *fam {
        "chain" => {
            let (n, x, y) = (a.i(), a.p(), a.p());
            let Arg::Chain(c) = a.other() else { panic!() };
            for i in 0..n {
                let mut v = m.get(t, x, i);
                for s in 0..c.n as usize {
                    v = act(c.code[s], v, c.a[s] as f64, c.b[s] as f64);
                }
                m.set(t, y, i, v);
            }
        }
        "int_unary" => {
            let (code, n, x, y) = (a.i(), a.i(), a.p(), a.p());
            for i in 0..n {
                let v = m.get(t, x, i);
                let r = match code {
                    1 => v.max(0.0),
                    22 => -v,
                    23 => v.abs(),
                    _ => v.signum() * (v != 0.0) as i32 as f64,
                };
                m.set(t, y, i, r);
            }
        }
        "not" => {
            let (n, x, y) = (a.i(), a.p(), a.p());
            for i in 0..n {
                let v = m.get("u8", x, i);
                m.set("u8", y, i, (v == 0.0) as i32 as f64);
            }
        }
        "binary" | "compare" => {
            let (op, n, rank) = (a.i() as i32, a.i(), a.i() as usize);
            let (shape, sa, sb) = (a.dims(), a.dims(), a.dims());
            let (x, y, out) = (a.p(), a.p(), a.p());
            let int = matches!(t, "i32" | "i64" | "u8");
            let ot = if *fam == "binary" { t } else { "u8" };
            for i in 0..n {
                let va = m.get(t, x, offset(i, rank, &shape, &sa));
                let vb = m.get(t, y, offset(i, rank, &shape, &sb));
                m.set(ot, out, i, binary(op, va, vb, int));
            }
        }
        "where" => {
            let (n, rank) = (a.i(), a.i() as usize);
            let (shape, sc, sx, sy) = (a.dims(), a.dims(), a.dims(), a.dims());
            let (c, x, y, out) = (a.p(), a.p(), a.p(), a.p());
            for i in 0..n {
                let take_x = m.get("u8", c, offset(i, rank, &shape, &sc)) != 0.0;
                let (src, s) = if take_x { (x, &sx) } else { (y, &sy) };
                m.copy_elem(size(t), out, i, src, offset(i, rank, &shape, s));
            }
        }
        "cast" => {
            let (s, d) = t.split_once('_').unwrap();
            let (n, x, y) = (a.i(), a.p(), a.p());
            for i in 0..n {
                let v = m.get(s, x, i);
                let v = if d == "bool" {
                    (v != 0.0) as i32 as f64
                } else {
                    v
                };
                m.set(if d == "bool" { "u8" } else { d }, y, i, v);
            }
        }
        "epilogue" => {
            let (n, y, bias, inner, channels, res) = (a.i(), a.p(), a.p(), a.i(), a.i(), a.p());
            let (code, fa, fb) = (a.i() as i32, a.f(), a.f());
            for i in 0..n {
                let mut v = m.get(t, y, i);
                if bias != 0 {
                    v += m.get(t, bias, (i / inner) % channels);
                }
                if res != 0 {
                    v += m.get(t, res, i);
                }
                m.set(t, y, i, act(code, v, fa, fb));
            }
        }
        "im2col" => {
            let (total, x, col, x_img, channels) = (a.i(), a.p(), a.p(), a.i(), a.i());
            let w = window(a);
            let (p_n, kk, plane) = (vol(w.output), vol(w.kernel), vol(w.input));
            let k_n = channels * kk;
            for i in 0..total {
                let (p, r) = (i % p_n, i / p_n);
                let (kx, img) = (r % k_n, r / k_n);
                let (c, kr) = (kx / kk, kx % kk);
                let (o, k) = (pos(p, w.output), pos(kr, w.kernel));
                let src: Vec<i64> = (0..3)
                    .map(|d| {
                        o[d] * w.stride[d] as i64 - w.pad[d] as i64 + k[d] * w.dilation[d] as i64
                    })
                    .collect();
                let inside = (0..3).all(|d| src[d] >= 0 && src[d] < w.input[d] as i64);
                let v = if inside {
                    let at = (src[0] * w.input[1] as i64 + src[1]) * w.input[2] as i64 + src[2];
                    m.get(t, x, img * x_img + c * plane + at)
                } else {
                    0.0
                };
                m.set(t, col, i, v);
            }
        }
        "col2im" => {
            let (total, col, y, channels) = (a.i(), a.p(), a.p(), a.i());
            let w = window(a);
            let accumulate = a.i() != 0;
            let (p_n, kk, plane) = (vol(w.output), vol(w.kernel), vol(w.input));
            for i in 0..total {
                let (o, c, img) = (i % plane, (i / plane) % channels, i / (plane * channels));
                let yo = pos(o, w.input);
                let mut acc = if accumulate { m.get(t, y, i) } else { 0.0 };
                for kr in 0..kk {
                    let k = pos(kr, w.kernel);
                    let mut at = [0i64; 3];
                    let ok = (0..3).all(|d| {
                        let s = yo[d] + w.pad[d] as i64 - k[d] * w.dilation[d] as i64;
                        at[d] = s / w.stride[d] as i64;
                        s >= 0 && s % w.stride[d] as i64 == 0 && at[d] < w.output[d] as i64
                    });
                    if ok {
                        let flat =
                            (at[0] * w.output[1] as i64 + at[1]) * w.output[2] as i64 + at[2];
                        acc += m.get(t, col, (img * channels * kk + c * kk + kr) * p_n + flat);
                    }
                }
                m.set(t, y, i, acc);
            }
        }
        "depthwise" => {
            let (total, x, wt, bias, res, y) = (a.i(), a.p(), a.p(), a.p(), a.p(), a.p());
            let (cin, mult) = (a.i(), a.i());
            let w = window(a);
            let (code, fa, fb) = (a.i() as i32, a.f(), a.f());
            let (p_n, kk, plane) = (vol(w.output), vol(w.kernel), vol(w.input));
            let cout = cin * mult;
            for i in 0..total {
                let (p, mo, img) = (i % p_n, (i / p_n) % cout, i / (p_n * cout));
                let o = pos(p, w.output);
                let mut acc = if bias != 0 { m.get(t, bias, mo) } else { 0.0 };
                for kr in 0..kk {
                    if let Some(at) = tap(&w, &o, &pos(kr, w.kernel)) {
                        acc += m.get(t, x, (img * cin + mo / mult) * plane + at)
                            * m.get(t, wt, mo * kk + kr);
                    }
                }
                if res != 0 {
                    acc += m.get(t, res, i);
                }
                m.set(t, y, i, act(code, acc, fa, fb));
            }
        }
        "pool" => {
            let (total, x, y) = (a.i(), a.p(), a.p());
            let w = window(a);
            let (is_max, cip) = (a.i() != 0, a.i() != 0);
            let (p_n, plane) = (vol(w.output), vol(w.input));
            for i in 0..total {
                let o = pos(i % p_n, w.output);
                let (mut best, mut sum, mut count, mut padded) = (f64::NAN, 0.0, 0i64, 1i64);
                // count_include_pad: taps inside the input and its explicit padding.
                for d in 0..3 {
                    let origin = o[d] * w.stride[d] as i64 - w.pad[d] as i64;
                    let (lo, hi) = (-(w.pad[d] as i64), (w.input[d] + w.pad_end[d]) as i64);
                    padded *= (0..w.kernel[d] as i64)
                        .map(|k| origin + k * w.dilation[d] as i64)
                        .filter(|&s| s >= lo && s < hi)
                        .count() as i64;
                }
                for kr in 0..vol(w.kernel) {
                    if let Some(at) = tap(&w, &o, &pos(kr, w.kernel)) {
                        let v = m.get(t, x, (i / p_n) * plane + at);
                        if !v.is_nan() && (best.is_nan() || v > best) {
                            best = v;
                        }
                        sum += v;
                        count += 1;
                    }
                }
                let r = if is_max {
                    best
                } else {
                    sum / (if cip { padded } else { count }).max(1) as f64
                };
                m.set(t, y, i, r);
            }
        }
        "global_pool" => {
            let (x, y, plane, is_max) = (a.p(), a.p(), a.i(), a.i() != 0);
            for pl in 0..grid as i64 {
                let v: Vec<f64> = (0..plane).map(|j| m.get(t, x, pl * plane + j)).collect();
                let r = if is_max {
                    v.iter()
                        .copied()
                        .filter(|x| !x.is_nan())
                        .fold(f64::NAN, |b, x| if b.is_nan() || x > b { x } else { b })
                } else {
                    v.iter().sum::<f64>() / plane as f64
                };
                m.set(t, y, pl, r);
            }
        }
        "softmax" => {
            let (x, y, len, inner, log) = (a.p(), a.p(), a.i(), a.i(), a.i() != 0);
            for row in 0..grid as i64 {
                let base = (row / inner) * len * inner + row % inner;
                let v: Vec<f64> = (0..len).map(|j| m.get(t, x, base + j * inner)).collect();
                let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = v.iter().map(|x| (x - mx).exp()).sum();
                for (j, x) in v.iter().enumerate() {
                    let r = if log {
                        x - mx - s.ln()
                    } else {
                        (x - mx).exp() / s
                    };
                    m.set(t, y, base + j as i64 * inner, r);
                }
            }
        }
        "layer_norm" => {
            let (x, scale, bias, y, cols, sn, bn, eps) =
                (a.p(), a.p(), a.p(), a.p(), a.i(), a.i(), a.i(), a.f());
            for row in 0..grid as i64 {
                let v: Vec<f64> = (0..cols).map(|j| m.get(t, x, row * cols + j)).collect();
                let mean = v.iter().sum::<f64>() / cols as f64;
                let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / cols as f64;
                for (j, x) in v.iter().enumerate() {
                    let j = j as i64;
                    let mut r = (x - mean) / (var + eps).sqrt() * m.get(t, scale, j % sn);
                    if bias != 0 {
                        r += m.get(t, bias, j % bn);
                    }
                    m.set(t, y, row * cols + j, r);
                }
            }
        }
        "batch_norm" => {
            let (n, x, scale, bias, mean, var, y) =
                (a.i(), a.p(), a.p(), a.p(), a.p(), a.p(), a.p());
            let (inner, channels, eps) = (a.i(), a.i(), a.f());
            for i in 0..n {
                let c = (i / inner) % channels;
                let v = (m.get(t, x, i) - m.get(t, mean, c)) / (m.get(t, var, c) + eps).sqrt();
                m.set(t, y, i, v * m.get(t, scale, c) + m.get(t, bias, c));
            }
        }
        "instance_norm" => {
            let (x, scale, bias, y, plane, channels, eps) =
                (a.p(), a.p(), a.p(), a.p(), a.i(), a.i(), a.f());
            for pl in 0..grid as i64 {
                let v: Vec<f64> = (0..plane).map(|j| m.get(t, x, pl * plane + j)).collect();
                let mean = v.iter().sum::<f64>() / plane as f64;
                let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / plane as f64;
                let c = pl % channels;
                for (j, x) in v.iter().enumerate() {
                    let r =
                        (x - mean) / (var + eps).sqrt() * m.get(t, scale, c) + m.get(t, bias, c);
                    m.set(t, y, pl * plane + j as i64, r);
                }
            }
        }
        "reduce_thread" | "reduce_block" | "reduce_int" => {
            let (op, n, orank, oshape, ks) = (a.i(), a.i(), a.i() as usize, a.dims(), a.dims());
            let (rrank, rshape, rs, r_n, x, y) =
                (a.i() as usize, a.dims(), a.dims(), a.i(), a.p(), a.p());
            for i in 0..n {
                let base = offset(i, orank, &oshape, &ks);
                let v: Vec<f64> = (0..r_n)
                    .map(|r| m.get(t, x, base + offset(r, rrank, &rshape, &rs)))
                    .collect();
                let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = v.iter().sum();
                let r = match op {
                    0 => sum,
                    1 if *fam == "reduce_int" => (sum / r_n as f64).trunc(),
                    1 => sum / r_n as f64,
                    2 => mx,
                    3 => v.iter().copied().fold(f64::INFINITY, f64::min),
                    4 => v.iter().product(),
                    5 => v.iter().map(|x| x.abs()).sum(),
                    6 => v.iter().map(|x| x * x).sum::<f64>().sqrt(),
                    7 => sum.ln(),
                    8 => mx + v.iter().map(|x| (x - mx).exp()).sum::<f64>().ln(),
                    _ => v.iter().map(|x| x * x).sum(),
                };
                m.set(t, y, i, r);
            }
        }
        "copy_nd" => {
            let (n, rank, shape, ss, ds, src, dst) = (
                a.i(),
                a.i() as usize,
                a.dims(),
                a.dims(),
                a.dims(),
                a.p(),
                a.p(),
            );
            for i in 0..n {
                m.copy_elem(
                    size(t),
                    dst,
                    offset(i, rank, &shape, &ds),
                    src,
                    offset(i, rank, &shape, &ss),
                );
            }
        }
        "gather" => {
            let (e, it) = t.split_once('_').unwrap();
            let (n, inner, count, axis_len, x, idx, y) =
                (a.i(), a.i(), a.i(), a.i(), a.p(), a.p(), a.p());
            for i in 0..n {
                let (inn, j, o) = (i % inner, (i / inner) % count, i / (inner * count));
                let mut k = m.get(it, idx, j) as i64;
                if k < 0 {
                    k += axis_len;
                }
                m.copy_elem(size(e), y, i, x, (o * axis_len + k) * inner + inn);
            }
        }
        "pad" => {
            let (n, rank, out, inp, begin, mode) =
                (a.i(), a.i() as usize, a.dims(), a.dims(), a.dims(), a.i());
            let (value, x, y) = (a.i() as u64, a.p(), a.p());
            for i in 0..n {
                let (mut rest, mut off, mut stride, mut inside) = (i, 0, 1, true);
                for d in (0..rank).rev() {
                    let mut c = rest % out[d] - begin[d];
                    rest /= out[d];
                    let len = inp[d];
                    if c < 0 || c >= len {
                        match mode {
                            0 => inside = false,
                            2 => c = if c < 0 { 0 } else { len - 1 },
                            3 => c = c.rem_euclid(len),
                            _ if len == 1 => c = 0,
                            _ => {
                                let period = 2 * (len - 1);
                                c = c.rem_euclid(period);
                                if c >= len {
                                    c = period - c;
                                }
                            }
                        }
                    }
                    off += c * stride;
                    stride *= len;
                }
                if inside {
                    m.copy_elem(size(t), y, i, x, off);
                } else {
                    m.write_bits(size(t), y, i, value);
                }
            }
        }
        "resize_nearest" | "resize_linear" => {
            let (n, rank, out, inp) = (a.i(), a.i() as usize, a.dims(), a.dims());
            let Arg::Scales(scale) = a.other() else {
                panic!()
            };
            let coord = a.i();
            let mode = if *fam == "resize_nearest" { a.i() } else { -1 };
            let (x, y) = (a.p(), a.p());
            let src = |o: i64, d: usize| -> f64 {
                let (yv, inf, s) = (o as f64, inp[d] as f64, scale[d]);
                let outf = s * inf;
                match coord {
                    0 => (yv + 0.5) / s - 0.5,
                    1 => inf / 2.0 * (1.0 - out[d] as f64 / outf) + (yv + 0.5) / s - 0.5,
                    2 => {
                        if outf == 1.0 {
                            -0.5
                        } else {
                            (yv + 0.5) / s - 0.5
                        }
                    }
                    3 => {
                        if outf == 1.0 {
                            0.0
                        } else {
                            yv * (inf - 1.0) / (outf - 1.0)
                        }
                    }
                    _ => yv / s,
                }
            };
            for i in 0..n {
                if mode >= 0 {
                    let (mut rest, mut off, mut stride) = (i, 0, 1);
                    for d in (0..rank).rev() {
                        let o = rest % out[d];
                        rest /= out[d];
                        let k = if inp[d] == out[d] && scale[d] == 1.0 {
                            o
                        } else {
                            let c = src(o, d);
                            let (f, r) = (c.floor(), c - c.floor());
                            let up = c != f
                                && match mode {
                                    0 => r > 0.5,
                                    1 => r >= 0.5,
                                    2 => false,
                                    _ => true,
                                };
                            (f as i64 + up as i64).clamp(0, inp[d] - 1)
                        };
                        off += k * stride;
                        stride *= inp[d];
                    }
                    m.copy_elem(size(t), y, i, x, off);
                } else {
                    let (dh, dw) = (rank - 2, rank - 1);
                    let (ow, oh, plane) = (
                        i % out[dw],
                        (i / out[dw]) % out[dh],
                        i / (out[dw] * out[dh]),
                    );
                    let fh = src(oh, dh).clamp(0.0, (inp[dh] - 1) as f64);
                    let fw = src(ow, dw).clamp(0.0, (inp[dw] - 1) as f64);
                    let (h0, w0) = (fh.floor() as i64, fw.floor() as i64);
                    let (h1, w1) = ((h0 + 1).min(inp[dh] - 1), (w0 + 1).min(inp[dw] - 1));
                    let base = plane * inp[dh] * inp[dw];
                    let g = |m: &mut Mem, h: i64, w: i64| m.get(t, x, base + h * inp[dw] + w);
                    let (v00, v01, v10, v11) =
                        (g(m, h0, w0), g(m, h0, w1), g(m, h1, w0), g(m, h1, w1));
                    let (ah, aw) = (fh - h0 as f64, fw - w0 as f64);
                    let top = v00 + (v01 - v00) * aw;
                    let bottom = v10 + (v11 - v10) * aw;
                    m.set(t, y, i, top + (bottom - top) * ah);
                }
            }
        }
        "rnn_cell" => super::recurrent::rnn_cell(m, t, a),
        "gru_reset" => super::recurrent::gru_reset(m, t, a),
        other => panic!("emulator: family {other} not written"),
    }
}
