//! The kernels of `kernels/rnn.cu` in plain Rust, reading their arguments in the kernels'
//! parameter order: the fused LSTM / GRU / RNN cell of one time step and GRU's r ⊙ h.

use super::{act, Args, Mem};

/// `rnn_act`: apply_act's functions plus RNN_ACT_AFFINE (100) and RNN_ACT_SCALED_TANH (101).
fn rnn_act(code: i64, x: f64, a: f64, b: f64) -> f64 {
    match code {
        100 => a * x + b,
        101 => a * (b * x).tanh(),
        c => act(c as i32, x, a, b),
    }
}

fn clip(x: f64, c: f64) -> f64 {
    if x > c {
        c
    } else if x < -c {
        -c
    } else {
        x
    }
}

/// Element `i` of `p`, or 0 for a null pointer.
fn opt(m: &Mem, t: &str, p: u64, i: i64) -> f64 {
    if p == 0 {
        0.0
    } else {
        m.get(t, p, i)
    }
}

pub fn rnn_cell(m: &mut Mem, t: &str, a: &mut Args) {
    let (kind, flags, n, hs, step) = (a.i(), a.i(), a.i(), a.i(), a.i());
    let (xw, xw_b, hr, bias, peep, lens) = (a.p(), a.i(), a.p(), a.p(), a.p(), a.p());
    let (h_in, c_in, h, c, st_b, y, y_b) = (a.p(), a.p(), a.p(), a.p(), a.i(), a.p(), a.i());
    let mut fun = || (a.i(), a.f(), a.f());
    let (f, g, ha) = (fun(), fun(), fun());
    let cl = a.f();
    let gh = [4, 3, 1][kind as usize] * hs;
    let apply = |(code, x, y): (i64, f64, f64), v: f64| rnn_act(code, clip(v, cl), x, y);
    for i in 0..n {
        let (b, j) = (i / hs, i % hs);
        let s = b * st_b + j;
        let (h_prev, c_prev) = (opt(m, t, h_in, s), opt(m, t, c_in, s));
        if lens != 0 && step >= m.get("i32", lens, b) as i64 {
            if y != 0 {
                m.set(t, y, b * y_b + j, 0.0);
            }
            if h != h_in {
                m.set(t, h, s, h_prev);
            }
            if c != 0 && c != c_in {
                m.set(t, c, s, c_prev);
            }
            continue;
        }
        let x = |m: &Mem, k: i64| m.get(t, xw, b * xw_b + k * hs + j) + opt(m, t, bias, k * hs + j);
        let rb = |m: &Mem, k: i64| opt(m, t, bias, gh + k * hs + j);
        let rec = |m: &Mem, k: i64| {
            if hr == 0 {
                0.0
            } else {
                m.get(t, hr, b * gh + k * hs + j)
            }
        };
        let pre = |m: &Mem, k: i64| x(m, k) + rec(m, k) + rb(m, k);
        let h_new = match kind {
            0 => {
                let pp = |k: i64| opt(m, t, peep, k * hs + j);
                let ig = apply(f, pre(m, 0) + pp(0) * c_prev);
                let fg = if flags & 1 != 0 {
                    1.0 - ig
                } else {
                    apply(f, pre(m, 2) + pp(2) * c_prev)
                };
                let c_new = fg * c_prev + ig * apply(g, pre(m, 3));
                let og = apply(f, pre(m, 1) + pp(1) * c_new);
                m.set(t, c, s, c_new);
                og * rnn_act(ha.0, c_new, ha.1, ha.2)
            }
            1 => {
                let z = apply(f, pre(m, 0));
                let hh = if flags & 2 != 0 {
                    let r = apply(f, pre(m, 1));
                    apply(g, x(m, 2) + r * (rec(m, 2) + rb(m, 2)))
                } else {
                    apply(g, pre(m, 2))
                };
                (1.0 - z) * hh + z * h_prev
            }
            _ => apply(f, pre(m, 0)),
        };
        m.set(t, h, s, h_new);
        if y != 0 {
            m.set(t, y, b * y_b + j, h_new);
        }
    }
}

pub fn gru_reset(m: &mut Mem, t: &str, a: &mut Args) {
    let (n, hs, xw, xw_b, hr, bias, h_in, st_b, out) = (
        a.i(),
        a.i(),
        a.p(),
        a.i(),
        a.p(),
        a.p(),
        a.p(),
        a.i(),
        a.p(),
    );
    let (f, fa, fb, cl) = (a.i(), a.f(), a.f(), a.f());
    let gh = 3 * hs;
    for i in 0..n {
        let (b, j) = (i / hs, i % hs);
        let pre = m.get(t, xw, b * xw_b + hs + j)
            + opt(m, t, bias, hs + j)
            + m.get(t, hr, b * gh + hs + j)
            + opt(m, t, bias, gh + hs + j);
        let r = rnn_act(f, clip(pre, cl), fa, fb);
        m.set(t, out, i, r * m.get(t, h_in, b * st_b + j));
    }
}
