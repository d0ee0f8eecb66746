//! Unary, binary, variadic, Clip, Where, PRelu, Cast and ElementwiseChain cases.

use super::*;

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, k) in [
        ("Relu", UnaryKind::Relu),
        ("LeakyRelu", UnaryKind::LeakyRelu { alpha: 0.1 }),
        ("Sigmoid", UnaryKind::Sigmoid),
        ("Tanh", UnaryKind::Tanh),
        ("Gelu", UnaryKind::Gelu { tanh: false }),
        ("GeluTanh", UnaryKind::Gelu { tanh: true }),
        ("Erf", UnaryKind::Erf),
        ("Exp", UnaryKind::Exp),
        ("HardSwish", UnaryKind::HardSwish),
        (
            "HardSigmoid",
            UnaryKind::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
        ),
        ("Softplus", UnaryKind::Softplus),
        ("Mish", UnaryKind::Mish),
        ("Elu", UnaryKind::Elu { alpha: 1.0 }),
        (
            "Selu",
            UnaryKind::Selu {
                alpha: 1.67,
                gamma: 1.05,
            },
        ),
        ("Neg", UnaryKind::Neg),
        ("Abs", UnaryKind::Abs),
        ("Floor", UnaryKind::Floor),
        ("Round", UnaryKind::Round),
        ("Sin", UnaryKind::Sin),
        ("Atan", UnaryKind::Atan),
        ("Sign", UnaryKind::Sign),
    ] {
        v.push(single(name, unary(k), vec![x()], 1));
    }
    let pos =
        || In::Const(Tensor::from_vec(vec![6], vec![0.5f32, 1.0, 2.0, 3.5, 7.0, 9.0]).unwrap());
    v.push(single("Sqrt", unary(UnaryKind::Sqrt), vec![pos()], 1));
    v.push(single("Log", unary(UnaryKind::Log), vec![pos()], 1));
    v.push(single(
        "Relu i64",
        unary(UnaryKind::Relu),
        vec![In::Feed(DType::I64, vec![7])],
        1,
    ));
    v.push(single(
        "Not",
        unary(UnaryKind::Not),
        vec![In::Feed(DType::Bool, vec![9])],
        1,
    ));
    v.push(single(
        "Add broadcast",
        binary(BinaryKind::Add),
        vec![x(), feed(&[4, 1])],
        1,
    ));
    v.push(single(
        "Sub scalar",
        binary(BinaryKind::Sub),
        vec![x(), feed(&[])],
        1,
    ));
    v.push(single(
        "Mul channels",
        binary(BinaryKind::Mul),
        vec![x(), feed(&[3, 1, 1])],
        1,
    ));
    v.push(single(
        "Div",
        binary(BinaryKind::Div),
        vec![x(), pos_like(&[2, 3, 4, 5])],
        1,
    ));
    v.push(single(
        "Pow",
        binary(BinaryKind::Pow),
        vec![pos_like(&[3, 4]), feed(&[4])],
        1,
    ));
    v.push(single(
        "Mod fmod",
        binary(BinaryKind::Mod { fmod: true }),
        vec![x(), pos_like(&[5])],
        1,
    ));
    v.push(single(
        "Less",
        binary(BinaryKind::Less),
        vec![x(), feed(&[5])],
        1,
    ));
    v.push(single(
        "Equal i64",
        binary(BinaryKind::Equal),
        vec![
            In::Feed(DType::I64, vec![3, 4]),
            In::Feed(DType::I64, vec![4]),
        ],
        1,
    ));
    v.push(single(
        "And",
        binary(BinaryKind::And),
        vec![
            In::Feed(DType::Bool, vec![6]),
            In::Feed(DType::Bool, vec![6]),
        ],
        1,
    ));
    v.push(single(
        "Add i64",
        binary(BinaryKind::Add),
        vec![In::Feed(DType::I64, vec![2, 3]), ints(&[1, -2, 3])],
        1,
    ));
    for (name, kind) in [
        ("Sum", VariadicKind::Sum),
        ("Mean", VariadicKind::Mean),
        ("Max", VariadicKind::Max),
    ] {
        v.push(single(
            name,
            Op::Variadic(Variadic { kind }),
            vec![x(), feed(&[5]), feed(&[4, 1])],
            1,
        ));
    }
    v.push(single(
        "Clip attr",
        Op::Clip(Clip {
            min: Some(-0.2),
            max: Some(0.3),
        }),
        vec![x()],
        1,
    ));
    let scalar = |f: f32| In::Const(Tensor::scalar(f));
    v.push(single(
        "Clip inputs",
        Op::Clip(Clip {
            min: None,
            max: None,
        }),
        vec![x(), scalar(0.0), scalar(0.5)],
        1,
    ));
    v.push(single(
        "Where",
        Op::Where,
        vec![In::Feed(DType::Bool, vec![4, 5]), x(), feed(&[5])],
        1,
    ));
    v.push(single("PRelu", Op::PRelu, vec![x(), feed(&[3, 1, 1])], 1));
    for to in [DType::F16, DType::I64, DType::Bool, DType::I32] {
        v.push(single(
            &format!("Cast f32 to {to}"),
            Op::Cast(Cast { to }),
            vec![x()],
            1,
        ));
    }
    v.push(single(
        "Cast i64 to f32",
        Op::Cast(Cast { to: DType::F32 }),
        vec![In::Feed(DType::I64, vec![8])],
        1,
    ));
    let steps: Vec<ChainStep> = (0..10)
        .map(|i| match i % 3 {
            0 => ChainStep::Unary(UnaryKind::Tanh),
            1 => ChainStep::Binary {
                op: ChainOp::Mul,
                constant: 1.5,
                constant_first: false,
            },
            _ => ChainStep::Binary {
                op: ChainOp::Sub,
                constant: 0.25,
                constant_first: true,
            },
        })
        .collect();
    v.push(single(
        "ElementwiseChain 10 steps",
        Op::ElementwiseChain(ElementwiseChain { steps }),
        vec![x()],
        1,
    ));
    v
}
