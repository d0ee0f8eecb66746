//! The integer codes the kernels switch on (`ACT_*`, `BIN_*`, `REDUCE_*`, `PAD_*`, `COORD_*`,
//! `NEAREST_*` in the `.cu` files) and the mapping from IR ops to them. The tests read the kernel
//! sources and check every code here against its `#define`.

use crate::ir::{
    BinaryKind, ChainOp, ChainStep, CoordTransform, FusedActivation, NearestMode, PadMode,
    ReduceKind, UnaryKind,
};

/// A function of one float, with its two parameters: `apply_act(code, x, a, b)`.
pub type Act = (i32, f32, f32);

/// `ACT_*` codes by name, as `common.cuh` defines them.
pub const ACT_CODES: [(&str, i32); 48] = [
    ("IDENTITY", 0),
    ("RELU", 1),
    ("LEAKY_RELU", 2),
    ("ELU", 3),
    ("SELU", 4),
    ("CELU", 5),
    ("THRESHOLDED_RELU", 6),
    ("SIGMOID", 7),
    ("HARD_SIGMOID", 8),
    ("HARD_SWISH", 9),
    ("SOFTPLUS", 10),
    ("SOFTSIGN", 11),
    ("MISH", 12),
    ("SWISH", 13),
    ("SHRINK", 14),
    ("TANH", 15),
    ("ERF", 16),
    ("GELU", 17),
    ("GELU_TANH", 18),
    ("SQRT", 19),
    ("EXP", 20),
    ("LOG", 21),
    ("NEG", 22),
    ("ABS", 23),
    ("RECIPROCAL", 24),
    ("FLOOR", 25),
    ("CEIL", 26),
    ("ROUND", 27),
    ("SIGN", 28),
    ("SIN", 29),
    ("COS", 30),
    ("TAN", 31),
    ("ASIN", 32),
    ("ACOS", 33),
    ("ATAN", 34),
    ("SINH", 35),
    ("COSH", 36),
    ("ASINH", 37),
    ("ACOSH", 38),
    ("ATANH", 39),
    ("CLIP", 40),
    ("CONST_ADD", 41),
    ("CONST_SUB", 42),
    ("CONST_MUL", 43),
    ("CONST_DIV", 44),
    ("CONST_POW", 45),
    ("CONST_MAX", 46),
    ("CONST_MIN", 47),
];

fn act(name: &str) -> i32 {
    ACT_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .expect("every name used below is in ACT_CODES")
}

/// The identity (no activation).
pub const NO_ACT: Act = (0, 0.0, 0.0);

/// The kernel function of a float unary op; `None` for Not, BitwiseNot, IsNaN and IsInf.
pub fn unary(kind: UnaryKind) -> Option<Act> {
    use UnaryKind::*;
    let simple = |n: &str| Some((act(n), 0.0, 0.0));
    match kind {
        Relu => simple("RELU"),
        LeakyRelu { alpha } => Some((act("LEAKY_RELU"), alpha, 0.0)),
        Elu { alpha } => Some((act("ELU"), alpha, 0.0)),
        Selu { alpha, gamma } => Some((act("SELU"), alpha, gamma)),
        Celu { alpha } => Some((act("CELU"), alpha, 0.0)),
        ThresholdedRelu { alpha } => Some((act("THRESHOLDED_RELU"), alpha, 0.0)),
        Sigmoid => simple("SIGMOID"),
        HardSigmoid { alpha, beta } => Some((act("HARD_SIGMOID"), alpha, beta)),
        HardSwish => simple("HARD_SWISH"),
        Softplus => simple("SOFTPLUS"),
        Softsign => simple("SOFTSIGN"),
        Mish => simple("MISH"),
        Swish { alpha } => Some((act("SWISH"), alpha, 0.0)),
        Shrink { bias, lambd } => Some((act("SHRINK"), bias, lambd)),
        Tanh => simple("TANH"),
        Erf => simple("ERF"),
        Gelu { tanh: false } => simple("GELU"),
        Gelu { tanh: true } => simple("GELU_TANH"),
        Sqrt => simple("SQRT"),
        Exp => simple("EXP"),
        Log => simple("LOG"),
        Neg => simple("NEG"),
        Abs => simple("ABS"),
        Reciprocal => simple("RECIPROCAL"),
        Floor => simple("FLOOR"),
        Ceil => simple("CEIL"),
        Round => simple("ROUND"),
        Sign => simple("SIGN"),
        Sin => simple("SIN"),
        Cos => simple("COS"),
        Tan => simple("TAN"),
        Asin => simple("ASIN"),
        Acos => simple("ACOS"),
        Atan => simple("ATAN"),
        Sinh => simple("SINH"),
        Cosh => simple("COSH"),
        Asinh => simple("ASINH"),
        Acosh => simple("ACOSH"),
        Atanh => simple("ATANH"),
        Not | BitwiseNot | IsNaN | IsInf { .. } => None,
    }
}

/// Clip to `[min, max]` (unbounded sides as ±∞).
pub fn clip(min: Option<f32>, max: Option<f32>) -> Act {
    (
        act("CLIP"),
        min.unwrap_or(f32::NEG_INFINITY),
        max.unwrap_or(f32::INFINITY),
    )
}

/// Multiplication by a constant.
pub fn mul_by(c: f32) -> Act {
    (act("CONST_MUL"), c, 0.0)
}

/// The function of a fused activation (none: the identity); `None` when it has no float form.
pub fn fused(a: Option<FusedActivation>) -> Option<Act> {
    match a {
        None => Some(NO_ACT),
        Some(FusedActivation::Unary(k)) => unary(k),
        Some(FusedActivation::Clip { min, max }) => Some(clip(min, max)),
    }
}

/// One ElementwiseChain step; `None` for the unary ops without a float form.
pub fn chain_step(s: &ChainStep) -> Option<Act> {
    match *s {
        ChainStep::Unary(k) => unary(k),
        ChainStep::Binary {
            op,
            constant,
            constant_first,
        } => {
            let name = match op {
                ChainOp::Add => "CONST_ADD",
                ChainOp::Sub => "CONST_SUB",
                ChainOp::Mul => "CONST_MUL",
                ChainOp::Div => "CONST_DIV",
                ChainOp::Pow => "CONST_POW",
                ChainOp::Max => "CONST_MAX",
                ChainOp::Min => "CONST_MIN",
            };
            Some((act(name), constant, if constant_first { 1.0 } else { 0.0 }))
        }
    }
}

/// What a binary op computes, which decides the kernel family and the output dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryClass {
    /// Output has the operands' dtype (`binary_*`).
    Arith,
    /// Output is bool (`compare_*`).
    Compare,
}

/// `BIN_*` codes by name, as `common.cuh` defines them.
pub const BIN_CODES: [(&str, i32); 18] = [
    ("ADD", 0),
    ("SUB", 1),
    ("MUL", 2),
    ("DIV", 3),
    ("POW", 4),
    ("FMOD", 5),
    ("MOD", 6),
    ("MAX", 7),
    ("MIN", 8),
    ("PRELU", 9),
    ("EQUAL", 10),
    ("LESS", 11),
    ("LESS_EQUAL", 12),
    ("GREATER", 13),
    ("GREATER_EQUAL", 14),
    ("AND", 15),
    ("OR", 16),
    ("XOR", 17),
];

/// The `BIN_*` code of `name`.
pub fn bin(name: &str) -> i32 {
    BIN_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .expect("every name used is in BIN_CODES")
}

/// The kernel code and class of a binary op; `None` for the bitwise and shift ops.
pub fn binary(kind: BinaryKind) -> Option<(i32, BinaryClass)> {
    use BinaryClass::*;
    use BinaryKind::*;
    let (name, class) = match kind {
        Add => ("ADD", Arith),
        Sub => ("SUB", Arith),
        Mul => ("MUL", Arith),
        Div => ("DIV", Arith),
        Pow => ("POW", Arith),
        Mod { fmod: true } => ("FMOD", Arith),
        Mod { fmod: false } => ("MOD", Arith),
        Equal => ("EQUAL", Compare),
        Less => ("LESS", Compare),
        LessOrEqual => ("LESS_EQUAL", Compare),
        Greater => ("GREATER", Compare),
        GreaterOrEqual => ("GREATER_EQUAL", Compare),
        And => ("AND", Compare),
        Or => ("OR", Compare),
        Xor => ("XOR", Compare),
        BitShift { .. } | BitwiseAnd | BitwiseOr | BitwiseXor => return None,
    };
    Some((bin(name), class))
}

/// `REDUCE_*` codes, in `ReduceKind` order (`reduce.cu`).
pub fn reduce(kind: ReduceKind) -> i32 {
    match kind {
        ReduceKind::Sum => 0,
        ReduceKind::Mean => 1,
        ReduceKind::Max => 2,
        ReduceKind::Min => 3,
        ReduceKind::Prod => 4,
        ReduceKind::L1 => 5,
        ReduceKind::L2 => 6,
        ReduceKind::LogSum => 7,
        ReduceKind::LogSumExp => 8,
        ReduceKind::SumSquare => 9,
    }
}

/// `PAD_*` codes (`layout.cu`).
pub fn pad(mode: PadMode) -> i32 {
    match mode {
        PadMode::Constant => 0,
        PadMode::Reflect => 1,
        PadMode::Edge => 2,
        PadMode::Wrap => 3,
    }
}

/// `COORD_*` codes (`layout.cu`); `None` for tf_crop_and_resize, which needs the roi input.
pub fn coord(c: CoordTransform) -> Option<i32> {
    Some(match c {
        CoordTransform::HalfPixel => 0,
        CoordTransform::HalfPixelSymmetric => 1,
        CoordTransform::PytorchHalfPixel => 2,
        CoordTransform::AlignCorners => 3,
        CoordTransform::Asymmetric => 4,
        CoordTransform::TfCropAndResize => return None,
    })
}

/// `NEAREST_*` codes (`layout.cu`).
pub fn nearest(m: NearestMode) -> i32 {
    match m {
        NearestMode::RoundPreferFloor => 0,
        NearestMode::RoundPreferCeil => 1,
        NearestMode::Floor => 2,
        NearestMode::Ceil => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cuda::nvrtc::{COMMON, KERNEL_FILES};

    /// `#define PREFIX_NAME value` lines of `src`.
    fn defines(src: &str, prefix: &str) -> Vec<(String, i32)> {
        src.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next()? == "#define").then_some(())?;
                let name = w.next()?.strip_prefix(prefix)?.to_string();
                Some((name, w.next()?.parse().ok()?))
            })
            .collect()
    }

    fn source(name: &str) -> &'static str {
        KERNEL_FILES.iter().find(|f| f.name == name).unwrap().source
    }

    #[test]
    fn codes_match_the_kernel_sources() {
        let acts = defines(COMMON, "ACT_");
        assert_eq!(acts.len(), ACT_CODES.len());
        for (n, c) in ACT_CODES {
            assert!(acts.contains(&(n.to_string(), c)), "ACT_{n} = {c}");
        }
        let bins = defines(COMMON, "BIN_");
        assert_eq!(bins.len(), BIN_CODES.len());
        for (n, c) in BIN_CODES {
            assert!(bins.contains(&(n.to_string(), c)), "BIN_{n} = {c}");
        }
        let reduces = defines(source("reduce"), "REDUCE_");
        for (n, k) in [
            ("SUM", ReduceKind::Sum),
            ("MEAN", ReduceKind::Mean),
            ("MAX", ReduceKind::Max),
            ("MIN", ReduceKind::Min),
            ("PROD", ReduceKind::Prod),
            ("L1", ReduceKind::L1),
            ("L2", ReduceKind::L2),
            ("LOG_SUM", ReduceKind::LogSum),
            ("LOG_SUM_EXP", ReduceKind::LogSumExp),
            ("SUM_SQUARE", ReduceKind::SumSquare),
        ] {
            assert!(reduces.contains(&(n.to_string(), reduce(k))), "REDUCE_{n}");
        }
        let layout = source("layout");
        let pads = defines(layout, "PAD_");
        for (n, m) in [
            ("CONSTANT", PadMode::Constant),
            ("REFLECT", PadMode::Reflect),
            ("EDGE", PadMode::Edge),
            ("WRAP", PadMode::Wrap),
        ] {
            assert!(pads.contains(&(n.to_string(), pad(m))), "PAD_{n}");
        }
        let coords = defines(layout, "COORD_");
        assert_eq!(coords.len(), 5);
        assert!(coords.contains(&(
            "ALIGN_CORNERS".into(),
            coord(CoordTransform::AlignCorners).unwrap()
        )));
        let nearests = defines(layout, "NEAREST_");
        assert!(nearests.contains(&("FLOOR".into(), nearest(NearestMode::Floor))));
        assert!(nearests.contains(&(
            "ROUND_PREFER_CEIL".into(),
            nearest(NearestMode::RoundPreferCeil)
        )));
    }

    #[test]
    fn op_mapping() {
        assert_eq!(unary(UnaryKind::Relu), Some((1, 0.0, 0.0)));
        assert_eq!(unary(UnaryKind::IsNaN), None);
        assert_eq!(clip(Some(0.0), None).2, f32::INFINITY);
        assert_eq!(binary(BinaryKind::Less), Some((11, BinaryClass::Compare)));
        assert_eq!(binary(BinaryKind::BitwiseAnd), None);
        let s = ChainStep::Binary {
            op: ChainOp::Sub,
            constant: 2.0,
            constant_first: true,
        };
        assert_eq!(chain_step(&s), Some((42, 2.0, 1.0)));
    }
}
