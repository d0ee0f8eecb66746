//! Elementwise ops: unary math and activations, binary arithmetic/comparison/logic with broadcasting,
//! the variadic Min/Max/Sum/Mean, Clip, Where, PRelu, Cast, CastLike, Identity, Dropout and the
//! softmax family. <https://onnx.ai/onnx/operators/>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;
use crate::tensor::DType;

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    use UnaryKind as U;
    let unary = |kind| Ok(Some(Op::Unary(Unary { kind })));
    let binary = |kind| Ok(Some(Op::Binary(Binary { kind })));
    let variadic = |kind| Ok(Some(Op::Variadic(Variadic { kind })));
    match c.op_type {
        "Relu" => unary(U::Relu),
        "LeakyRelu" => unary(U::LeakyRelu {
            alpha: c.float("alpha", 0.01),
        }),
        "Elu" => unary(U::Elu {
            alpha: c.float("alpha", 1.0),
        }),
        "Selu" => unary(U::Selu {
            alpha: c.float("alpha", 1.673_263_2),
            gamma: c.float("gamma", 1.050_701),
        }),
        "Celu" => unary(U::Celu {
            alpha: c.float("alpha", 1.0),
        }),
        "ThresholdedRelu" => unary(U::ThresholdedRelu {
            alpha: c.float("alpha", 1.0),
        }),
        "Sigmoid" => unary(U::Sigmoid),
        "HardSigmoid" => unary(U::HardSigmoid {
            alpha: c.float("alpha", 0.2),
            beta: c.float("beta", 0.5),
        }),
        "HardSwish" => unary(U::HardSwish),
        "Softplus" => unary(U::Softplus),
        "Softsign" => unary(U::Softsign),
        "Mish" => unary(U::Mish),
        "Swish" => unary(U::Swish {
            alpha: c.float("alpha", 1.0),
        }),
        "Shrink" => unary(U::Shrink {
            bias: c.float("bias", 0.0),
            lambd: c.float("lambd", 0.5),
        }),
        "Tanh" => unary(U::Tanh),
        "Erf" => unary(U::Erf),
        "Gelu" => unary(U::Gelu {
            tanh: match c.string("approximate", "none").as_str() {
                "none" => false,
                "tanh" => true,
                other => return Err(c.err(format!("unknown approximate '{other}'"))),
            },
        }),
        "Sqrt" => unary(U::Sqrt),
        "Exp" => unary(U::Exp),
        "Log" => unary(U::Log),
        "Neg" => unary(U::Neg),
        "Abs" => unary(U::Abs),
        "Reciprocal" => unary(U::Reciprocal),
        "Floor" => unary(U::Floor),
        "Ceil" => unary(U::Ceil),
        "Round" => unary(U::Round),
        "Sign" => unary(U::Sign),
        "Sin" => unary(U::Sin),
        "Cos" => unary(U::Cos),
        "Tan" => unary(U::Tan),
        "Asin" => unary(U::Asin),
        "Acos" => unary(U::Acos),
        "Atan" => unary(U::Atan),
        "Sinh" => unary(U::Sinh),
        "Cosh" => unary(U::Cosh),
        "Asinh" => unary(U::Asinh),
        "Acosh" => unary(U::Acosh),
        "Atanh" => unary(U::Atanh),
        "Not" => unary(U::Not),
        "BitwiseNot" => unary(U::BitwiseNot),
        "IsNaN" => unary(U::IsNaN),
        "IsInf" => unary(U::IsInf {
            detect_positive: c.bool("detect_positive", true),
            detect_negative: c.bool("detect_negative", true),
        }),
        "Add" | "Sub" | "Mul" | "Div" if c.opset < 7 && c.bool("broadcast", false) => Err(c.err(
            "legacy (opset < 7) axis broadcasting is not supported; re-export with opset >= 7",
        )),
        "Add" => binary(BinaryKind::Add),
        "Sub" => binary(BinaryKind::Sub),
        "Mul" => binary(BinaryKind::Mul),
        "Div" => binary(BinaryKind::Div),
        "Pow" => binary(BinaryKind::Pow),
        "Mod" => binary(BinaryKind::Mod {
            fmod: c.bool("fmod", false),
        }),
        "Equal" => binary(BinaryKind::Equal),
        "Less" => binary(BinaryKind::Less),
        "LessOrEqual" => binary(BinaryKind::LessOrEqual),
        "Greater" => binary(BinaryKind::Greater),
        "GreaterOrEqual" => binary(BinaryKind::GreaterOrEqual),
        "And" => binary(BinaryKind::And),
        "Or" => binary(BinaryKind::Or),
        "Xor" => binary(BinaryKind::Xor),
        "BitShift" => binary(BinaryKind::BitShift {
            left: match c.string("direction", "").as_str() {
                "LEFT" => true,
                "RIGHT" => false,
                other => {
                    return Err(c.err(format!("direction must be LEFT or RIGHT, got '{other}'")))
                }
            },
        }),
        "BitwiseAnd" => binary(BinaryKind::BitwiseAnd),
        "BitwiseOr" => binary(BinaryKind::BitwiseOr),
        "BitwiseXor" => binary(BinaryKind::BitwiseXor),
        "Min" => variadic(VariadicKind::Min),
        "Max" => variadic(VariadicKind::Max),
        "Sum" => variadic(VariadicKind::Sum),
        "Mean" => variadic(VariadicKind::Mean),
        "Clip" => Ok(Some(Op::Clip(if c.opset < 11 {
            Clip {
                min: Some(c.float("min", f32::MIN)),
                max: Some(c.float("max", f32::MAX)),
            }
        } else {
            Clip {
                min: None,
                max: None,
            }
        }))),
        "Where" => Ok(Some(Op::Where)),
        "PRelu" => Ok(Some(Op::PRelu)),
        "Cast" => {
            let code = c.int("to", 0) as i32;
            let to = DType::from_onnx(code).ok_or_else(|| {
                c.err(format!(
                    "cast to {} is not supported",
                    DType::onnx_name(code)
                ))
            })?;
            Ok(Some(Op::Cast(Cast { to })))
        }
        "CastLike" => Ok(Some(Op::CastLike)),
        "Identity" => Ok(Some(Op::Identity)),
        // At inference Dropout is the identity; a `training_mode` input that is true is rejected by
        // the kernel, since rtforge does not train.
        "Dropout" => Ok(Some(Op::Dropout(Dropout {
            ratio: c.float("ratio", 0.5),
        }))),
        "Softmax" | "LogSoftmax" | "Hardmax" => {
            let legacy = c.opset < 13;
            let s = Softmax {
                axis: c.int("axis", if legacy { 1 } else { -1 }),
                coerce_2d: legacy,
            };
            Ok(Some(match c.op_type {
                "Softmax" => Op::Softmax(s),
                "LogSoftmax" => Op::LogSoftmax(s),
                _ => Op::Hardmax(s),
            }))
        }
        _ => Ok(None),
    }
}
