//! A host interpreter of lowered CUDA programs, for checking the lowering without a GPU: each
//! kernel's meaning written again in plain Rust from its `.cu` source (reading the arguments in the
//! kernel's parameter order), cuBLASLt's column-major GEMM, device copies, nodes run on the host
//! (the CPU fallback, through the CPU backend's kernel as the worker runs them); memory is the planned
//! arena plus weights and constants at fake addresses. Run on the zoo models it checks arena
//! reuse, offsets, strides, broadcasting and the row-major → column-major GEMM mapping against the
//! CPU backend. It does not check the CUDA C itself: `tests/gpu.rs` does that on a GPU.
#![allow(dead_code)]

use half::f16;
use rtforge::backend::cuda::program::{Arg, Buf, HostInput, HostStep, OutputSource, Program, Step};
use rtforge::ir::Graph;
use rtforge::tensor::{decode_le, to_le_bytes, DType, Tensor};
use std::collections::HashMap;

const REGION: u64 = 1 << 40;

/// Emulated device memory: region `addr / REGION`, byte `addr % REGION`.
struct Mem {
    regions: HashMap<u64, Vec<u8>>,
}

impl Mem {
    fn bytes(&mut self, addr: u64, n: usize) -> &mut [u8] {
        let r = self
            .regions
            .get_mut(&(addr / REGION))
            .expect("a known region");
        let o = (addr % REGION) as usize;
        &mut r[o..o + n]
    }
    fn read(&self, addr: u64, n: usize) -> &[u8] {
        let r = &self.regions[&(addr / REGION)];
        let o = (addr % REGION) as usize;
        &r[o..o + n]
    }
    fn get(&self, t: &str, addr: u64, i: i64) -> f64 {
        let s = size(t);
        let b = self.read(addr + (i * s as i64) as u64, s);
        match t {
            "f32" => f32::from_le_bytes(b.try_into().unwrap()) as f64,
            "f16" => f16::from_le_bytes(b.try_into().unwrap()).to_f64(),
            "i32" => i32::from_le_bytes(b.try_into().unwrap()) as f64,
            "i64" => i64::from_le_bytes(b.try_into().unwrap()) as f64,
            _ => b[0] as f64,
        }
    }
    fn set(&mut self, t: &str, addr: u64, i: i64, v: f64) {
        let s = size(t);
        let b = self.bytes(addr + (i * s as i64) as u64, s);
        match t {
            "f32" => b.copy_from_slice(&(v as f32).to_le_bytes()),
            "f16" => b.copy_from_slice(&f16::from_f64(v).to_le_bytes()),
            "i32" => b.copy_from_slice(&(if v.is_nan() { 0 } else { v as i32 }).to_le_bytes()),
            "i64" => b.copy_from_slice(&(if v.is_nan() { 0 } else { v as i64 }).to_le_bytes()),
            "bool" => b[0] = (v != 0.0) as u8,
            _ => b[0] = if v.is_nan() { 0 } else { v as i32 as u8 },
        }
    }
    fn copy(&mut self, dst: u64, src: u64, n: usize) {
        let v = self.bytes(src, n).to_vec();
        self.bytes(dst, n).copy_from_slice(&v);
    }
    /// Copies element `si` of `src` to element `di` of `dst`, `s` bytes each.
    fn copy_elem(&mut self, s: usize, dst: u64, di: i64, src: u64, si: i64) {
        self.copy(
            dst + (di * s as i64) as u64,
            src + (si * s as i64) as u64,
            s,
        )
    }
    /// Writes the low `s` bytes of `bits` as element `di` of `dst`.
    fn write_bits(&mut self, s: usize, dst: u64, di: i64, bits: u64) {
        let b = bits.to_le_bytes();
        self.bytes(dst + (di * s as i64) as u64, s)
            .copy_from_slice(&b[..s]);
    }
}

fn size(t: &str) -> usize {
    match t {
        "f32" | "i32" | "b4" => 4,
        "f16" | "b2" => 2,
        "i64" | "b8" => 8,
        _ => 1,
    }
}

fn act(code: i32, x: f64, a: f64, b: f64) -> f64 {
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let sp = |x: f64| {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    };
    let c01 = |x: f64| x.clamp(0.0, 1.0);
    match code {
        0 => x,
        1 => x.max(0.0),
        2 => {
            if x < 0.0 {
                a * x
            } else {
                x
            }
        }
        3 => {
            if x < 0.0 {
                a * x.exp_m1()
            } else {
                x
            }
        }
        4 => {
            if x <= 0.0 {
                b * a * x.exp_m1()
            } else {
                b * x
            }
        }
        5 => {
            if x < 0.0 {
                a * (x / a).exp_m1()
            } else {
                x
            }
        }
        6 => {
            if x > a {
                x
            } else {
                0.0
            }
        }
        7 => sig(x),
        8 => c01(a * x + b),
        9 => x * c01(x / 6.0 + 0.5),
        10 => sp(x),
        11 => x / (1.0 + x.abs()),
        12 => x * sp(x).tanh(),
        13 => x * sig(a * x),
        14 => {
            if x < -b {
                x + a
            } else if x > b {
                x - a
            } else {
                0.0
            }
        }
        15 => x.tanh(),
        16 => libm::erf(x),
        17 => 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt())),
        18 => {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
        }
        19 => x.sqrt(),
        20 => x.exp(),
        21 => x.ln(),
        22 => -x,
        23 => x.abs(),
        24 => 1.0 / x,
        25 => x.floor(),
        26 => x.ceil(),
        27 => x.round_ties_even(),
        28 => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        29 => x.sin(),
        30 => x.cos(),
        31 => x.tan(),
        32 => x.asin(),
        33 => x.acos(),
        34 => x.atan(),
        35 => x.sinh(),
        36 => x.cosh(),
        37 => x.asinh(),
        38 => x.acosh(),
        39 => x.atanh(),
        40 => {
            if x < a {
                a
            } else if x > b {
                b
            } else {
                x
            }
        }
        41 => x + a,
        42 => {
            if b != 0.0 {
                a - x
            } else {
                x - a
            }
        }
        43 => x * a,
        44 => {
            if b != 0.0 {
                a / x
            } else {
                x / a
            }
        }
        45 => {
            if b != 0.0 {
                a.powf(x)
            } else {
                x.powf(a)
            }
        }
        46 => x.max(a),
        47 => x.min(a),
        other => panic!("emulator: activation {other} not written"),
    }
}

fn binary(op: i32, a: f64, b: f64, int: bool) -> f64 {
    let r = match op {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 if int => {
            if b == 0.0 {
                0.0
            } else {
                (a / b).trunc()
            }
        }
        3 => a / b,
        4 => a.powf(b),
        5 => a % b,
        6 => {
            let r = a % b;
            if r != 0.0 && (r < 0.0) != (b < 0.0) {
                r + b
            } else {
                r
            }
        }
        7 => a.max(b),
        8 => a.min(b),
        9 => {
            if a < 0.0 {
                a * b
            } else {
                a
            }
        }
        10 => (a == b) as i32 as f64,
        11 => (a < b) as i32 as f64,
        12 => (a <= b) as i32 as f64,
        13 => (a > b) as i32 as f64,
        14 => (a >= b) as i32 as f64,
        15 => (a != 0.0 && b != 0.0) as i32 as f64,
        16 => (a != 0.0 || b != 0.0) as i32 as f64,
        17 => ((a != 0.0) != (b != 0.0)) as i32 as f64,
        other => panic!("emulator: binary op {other}"),
    };
    r
}

/// The offset of flat index `i` (the kernels' `offset_of`).
fn offset(mut i: i64, rank: usize, shape: &[i64; 8], strides: &[i64; 8]) -> i64 {
    let mut off = 0;
    for d in (0..rank).rev() {
        off += (i % shape[d]) * strides[d];
        i /= shape[d];
    }
    off
}

/// Typed access to a launch's arguments in order.
struct Args<'a>(&'a [Arg], usize);

impl Args<'_> {
    fn next(&mut self) -> &Arg {
        self.1 += 1;
        &self.0[self.1 - 1]
    }
    fn i(&mut self) -> i64 {
        match *self.next() {
            Arg::I32(v) => v as i64,
            Arg::I64(v) => v,
            Arg::U8(v) => v as i64,
            Arg::U16(v) => v as i64,
            Arg::U32(v) => v as i64,
            Arg::U64(v) => v as i64,
            ref other => panic!("emulator: expected an integer, got {other:?}"),
        }
    }
    fn f(&mut self) -> f64 {
        match *self.next() {
            Arg::F32(v) => v as f64,
            ref other => panic!("emulator: expected a float, got {other:?}"),
        }
    }
    fn p(&mut self) -> u64 {
        match *self.next() {
            Arg::U64(v) => v,
            ref other => panic!("emulator: expected a pointer, got {other:?}"),
        }
    }
    fn dims(&mut self) -> [i64; 8] {
        match *self.next() {
            Arg::Dims(d) => d,
            ref other => panic!("emulator: expected Dims, got {other:?}"),
        }
    }
    fn other(&mut self) -> Arg {
        self.next().clone()
    }
}

/// Runs `p` for `g` on `inputs`, returning the outputs, as the GPU would.
pub fn run(g: &Graph, p: &Program, inputs: &[Tensor]) -> Vec<Tensor> {
    let mut mem = Mem {
        regions: HashMap::new(),
    };
    mem.regions.insert(1, vec![0u8; p.arena_bytes + 256]);
    let mut weight_region = HashMap::new();
    for (i, (v, t)) in g.initializers.iter().enumerate() {
        mem.regions.insert(100 + i as u64, to_le_bytes(t));
        weight_region.insert(*v, 100 + i as u64);
    }
    for (i, t) in p.consts.iter().enumerate() {
        mem.regions.insert(10_000 + i as u64, to_le_bytes(t));
    }
    let addr = |b: Buf| -> u64 {
        match b {
            Buf::Arena(o) => REGION + o as u64,
            Buf::Weight { value, offset } => weight_region[&value] * REGION + offset as u64,
            Buf::Const { index, offset } => (10_000 + index as u64) * REGION + offset as u64,
            Buf::Null => 0,
            Buf::Virtual { .. } => panic!("emulator: unplanned buffer"),
        }
    };
    for (slot, t) in p.inputs.iter().zip(inputs) {
        let b = to_le_bytes(t);
        mem.bytes(addr(slot.buf), b.len()).copy_from_slice(&b);
    }
    for (step, _) in &p.steps {
        match step {
            Step::Copy { src, dst, bytes } => mem.copy(addr(*dst), addr(*src), *bytes),
            Step::Gemm(gm) => gemm(&mut mem, gm, addr(gm.a), addr(gm.b), addr(gm.d)),
            Step::Launch(l) => {
                let args: Vec<Arg> = l
                    .args
                    .iter()
                    .map(|a| match a {
                        Arg::Ptr(b) => Arg::U64(addr(*b)),
                        other => other.clone(),
                    })
                    .collect();
                kernels::launch(&mut mem, &l.kernel, l.grid, &args);
            }
            Step::Host(h) => host_step(&mut mem, h, &addr),
        }
    }
    p.outputs
        .iter()
        .map(|o| match o {
            OutputSource::Host(t) => (**t).clone(),
            OutputSource::Device(t) => {
                let b = mem.bytes(addr(t.buf), t.bytes()).to_vec();
                Tensor::new(t.shape.clone(), decode_le(t.dtype, &b)).unwrap()
            }
        })
        .collect()
}

/// A node run on the host: its device inputs read from memory, the CPU kernel run, its outputs
/// checked against the planned dtype and shape and written to their buffers.
fn host_step(mem: &mut Mem, h: &HostStep, addr: &impl Fn(Buf) -> u64) {
    let args: Vec<Option<Tensor>> = h
        .inputs
        .iter()
        .map(|i| match i {
            HostInput::Absent => None,
            HostInput::Known(t) => Some((**t).clone()),
            HostInput::Device(t) => {
                let b = mem.read(addr(t.buf), t.bytes()).to_vec();
                Some(Tensor::new(t.shape.clone(), decode_le(t.dtype, &b)).unwrap())
            }
        })
        .collect();
    let refs: Vec<Option<&Tensor>> = args.iter().map(|a| a.as_ref()).collect();
    let outs = rtforge::backend::cpu::ops::run(&h.node, &refs).unwrap();
    for (out, slot) in outs.iter().zip(&h.outputs) {
        let Some(slot) = slot else { continue };
        assert_eq!(
            (out.dtype(), out.shape()),
            (slot.dtype, slot.shape.as_slice())
        );
        let b = to_le_bytes(out);
        mem.bytes(addr(slot.buf), b.len()).copy_from_slice(&b);
    }
}

/// cuBLASLt's column-major `D = alpha · op(A) · op(B) + beta · D`, batched with strides.
fn gemm(mem: &mut Mem, g: &rtforge::backend::cuda::program::Gemm, a0: u64, b0: u64, d0: u64) {
    let t = if g.dtype == DType::F16 { "f16" } else { "f32" };
    let es = size(t) as i64;
    let (m, n, k) = (g.m as i64, g.n as i64, g.k as i64);
    // Reads the `count` elements from `base` once.
    let read = |mem: &mut Mem, base: u64, count: i64| -> Vec<f64> {
        (0..count).map(|i| mem.get(t, base, i)).collect()
    };
    for bt in 0..g.batch as i64 {
        let (a, b, d) = (
            a0 + (bt * g.stride_a * es) as u64,
            b0 + (bt * g.stride_b * es) as u64,
            d0 + (bt * g.stride_c * es) as u64,
        );
        let (ar, ac) = if g.trans_a { (k, m) } else { (m, k) };
        let (br, bc) = if g.trans_b { (n, k) } else { (k, n) };
        let av = read(mem, a, (ac - 1) * g.lda + ar);
        let bv = read(mem, b, (bc - 1) * g.ldb + br);
        let at = |i: i64, kk: i64| {
            av[(if g.trans_a {
                kk + i * g.lda
            } else {
                i + kk * g.lda
            }) as usize]
        };
        let bt_ = |kk: i64, j: i64| {
            bv[(if g.trans_b {
                j + kk * g.ldb
            } else {
                kk + j * g.ldb
            }) as usize]
        };
        for j in 0..n {
            let mut col = vec![0.0f64; m as usize];
            for kk in 0..k {
                let bkj = bt_(kk, j);
                for (i, c) in col.iter_mut().enumerate() {
                    *c += at(i as i64, kk) * bkj;
                }
            }
            for (i, c) in col.iter().enumerate() {
                let i = i as i64;
                let old = if g.beta != 0.0 {
                    mem.get(t, d, i + j * g.ldc)
                } else {
                    0.0
                };
                mem.set(
                    t,
                    d,
                    i + j * g.ldc,
                    g.alpha as f64 * c + g.beta as f64 * old,
                );
            }
        }
    }
}

mod kernels;
mod recurrent;
