//! The output check of a benchmark: a fast wrong answer is a failure. Outputs of the run under test
//! are compared once with the reference (the cpu backend at FP32, or another engine in the peer
//! benchmark): same names, dtypes and shapes; floats by relative L2 error
//! `‖got − want‖₂ / ‖want‖₂` within a tolerance; integers and bools exactly.

use crate::{DType, Tensor};
use serde_json::{json, Value};

/// Relative L2 error allowed at FP32 (the same bar the model tests hold against onnxruntime).
pub const FP32_TOLERANCE: f64 = 1e-4;
/// Relative L2 error allowed for FP16 arithmetic (11-bit mantissa: about 5e-4 per rounding, which
/// accumulates over a network's depth).
pub const FP16_TOLERANCE: f64 = 1e-2;

/// The tolerance of a run at `precision` (`fp32`, `fp16`) against the FP32 reference.
pub fn tolerance_for(precision: &str) -> f64 {
    match precision {
        "fp16" | "bf16" => FP16_TOLERANCE,
        _ => FP32_TOLERANCE,
    }
}

/// [`tolerance_for`] a run on `backend`: an FP32 run of a GPU backend with TF32 on rounds its GEMM
/// operands to FP16's 10-bit mantissa, so it gets the FP16 tolerance (on an H100, TF32 ResNet-50
/// is 3.7e-4 from the CPU; FP32 proper 4.7e-7).
pub fn tolerance_for_run(backend: &str, precision: &str, tf32: bool) -> f64 {
    if backend != "cpu" && precision == "fp32" && tf32 {
        FP16_TOLERANCE
    } else {
        tolerance_for(precision)
    }
}

/// How one output compares.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputDiff {
    pub name: String,
    /// Relative L2 error (floats), or the fraction of differing elements (integers, bools);
    /// infinite when dtype or shape differ.
    pub error: f64,
    /// Largest absolute difference of one element.
    pub max_abs: f64,
    /// Set when the output cannot be compared value by value (missing, other dtype or shape).
    pub mismatch: Option<String>,
}

/// The result of comparing every output of a run with the reference.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckOutcome {
    /// Not compared, and why (the run is the reference itself).
    Skipped(String),
    /// Compared with `against` at `tolerance`; passed when every output is within it.
    Compared {
        against: String,
        tolerance: f64,
        outputs: Vec<OutputDiff>,
    },
}

impl CheckOutcome {
    /// Compares named outputs with the reference's, output by output, in the reference's order.
    pub fn compare(
        against: &str,
        got: &[(String, Tensor)],
        want: &[(String, Tensor)],
        tolerance: f64,
    ) -> CheckOutcome {
        let outputs = want
            .iter()
            .map(|(name, w)| match got.iter().find(|(n, _)| n == name) {
                Some((_, g)) => diff(name, g, w),
                None => OutputDiff {
                    name: name.clone(),
                    error: f64::INFINITY,
                    max_abs: f64::INFINITY,
                    mismatch: Some("missing from the run's outputs".into()),
                },
            })
            .collect();
        CheckOutcome::Compared {
            against: against.to_string(),
            tolerance,
            outputs,
        }
    }

    /// `Some(true)` when compared and every output is within tolerance; `None` when skipped.
    pub fn passed(&self) -> Option<bool> {
        match self {
            CheckOutcome::Skipped(_) => None,
            CheckOutcome::Compared {
                tolerance, outputs, ..
            } => Some(
                outputs
                    .iter()
                    .all(|o| o.mismatch.is_none() && o.error <= *tolerance),
            ),
        }
    }

    /// The largest error over the outputs (0 when there are none).
    pub fn worst_error(&self) -> Option<f64> {
        match self {
            CheckOutcome::Skipped(_) => None,
            CheckOutcome::Compared { outputs, .. } => {
                Some(outputs.iter().map(|o| o.error).fold(0.0, f64::max))
            }
        }
    }

    /// One line for the terminal: `Output check vs cpu fp32: passed (max relative L2 error 3.1e-7 <= 1e-4, 1 output)`.
    pub fn to_text(&self) -> String {
        match self {
            CheckOutcome::Skipped(why) => format!("Output check: skipped ({why})"),
            CheckOutcome::Compared {
                against,
                tolerance,
                outputs,
            } => {
                let verdict = if self.passed() == Some(true) {
                    "passed"
                } else {
                    "FAILED"
                };
                let mut s = format!(
                    "Output check vs {against}: {verdict} (max relative error {:.2e}, tolerance {tolerance:.0e}, {} output(s))",
                    self.worst_error().unwrap_or(0.0),
                    outputs.len()
                );
                for o in outputs
                    .iter()
                    .filter(|o| o.mismatch.is_some() || o.error > *tolerance)
                {
                    let why = o.mismatch.clone().unwrap_or_else(|| {
                        format!("relative error {:.3e}, max abs {:.3e}", o.error, o.max_abs)
                    });
                    s.push_str(&format!("\n  output '{}': {why}", o.name));
                }
                s
            }
        }
    }

    pub fn to_json(&self) -> Value {
        let num = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        match self {
            CheckOutcome::Skipped(why) => json!({"status": "skipped", "reason": why}),
            CheckOutcome::Compared {
                against,
                tolerance,
                outputs,
            } => json!({
                "status": if self.passed() == Some(true) { "passed" } else { "failed" },
                "against": against,
                "tolerance": tolerance,
                "max_error": num(self.worst_error().unwrap_or(0.0)),
                "outputs": outputs.iter().map(|o| json!({
                    "name": o.name, "error": num(o.error), "max_abs": num(o.max_abs), "mismatch": o.mismatch,
                })).collect::<Vec<_>>(),
            }),
        }
    }
}

fn diff(name: &str, got: &Tensor, want: &Tensor) -> OutputDiff {
    let bad = |why: String| OutputDiff {
        name: name.to_string(),
        error: f64::INFINITY,
        max_abs: f64::INFINITY,
        mismatch: Some(why),
    };
    if got.dtype() != want.dtype() {
        return bad(format!(
            "dtype {} but the reference has {}",
            got.dtype(),
            want.dtype()
        ));
    }
    if got.shape() != want.shape() {
        return bad(format!(
            "shape {:?} but the reference has {:?}",
            got.shape(),
            want.shape()
        ));
    }
    let (g, w) = (got.to_vec::<f64>(), want.to_vec::<f64>());
    let max_abs = g
        .iter()
        .zip(&w)
        .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
        .fold(0.0, f64::max);
    let error = if want.dtype().is_float() {
        relative_l2(&g, &w)
    } else if w.is_empty() {
        0.0
    } else {
        let differing = if want.dtype() == DType::U64 {
            got.to_vec::<u64>()
                .iter()
                .zip(want.to_vec::<u64>())
                .filter(|(a, b)| **a != *b)
                .count()
        } else {
            got.to_vec::<i64>()
                .iter()
                .zip(want.to_vec::<i64>())
                .filter(|(a, b)| **a != *b)
                .count()
        };
        differing as f64 / w.len() as f64
    };
    OutputDiff {
        name: name.to_string(),
        error,
        max_abs,
        mismatch: None,
    }
}

/// ‖g − w‖₂ / ‖w‖₂; the absolute ‖g − w‖₂ when `w` is all zeros. NaN where the reference is not
/// NaN (or the reverse) makes it infinite.
pub fn relative_l2(g: &[f64], w: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&a, &b) in g.iter().zip(w) {
        if a.is_nan() || b.is_nan() {
            if a.is_nan() != b.is_nan() {
                return f64::INFINITY;
            }
            continue;
        }
        if a.is_infinite() || b.is_infinite() {
            if a != b {
                return f64::INFINITY;
            }
            continue;
        }
        num += (a - b) * (a - b);
        den += b * b;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f32>) -> Tensor {
        Tensor::from_vec(vec![v.len()], v).unwrap()
    }

    #[test]
    fn half_precision_gets_a_wider_tolerance() {
        assert_eq!(tolerance_for("fp32"), 1e-4);
        assert_eq!(tolerance_for("fp16"), 1e-2);
    }

    #[test]
    fn relative_l2_on_known_values() {
        assert_eq!(relative_l2(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
        // ‖(0, 0.5)‖ / ‖(3, 4)‖ = 0.5 / 5.
        assert_eq!(relative_l2(&[3.0, 4.5], &[3.0, 4.0]), 0.1);
        assert_eq!(relative_l2(&[0.0, 2.0], &[0.0, 0.0]), 2.0);
        assert_eq!(relative_l2(&[f64::NAN], &[1.0]), f64::INFINITY);
        assert_eq!(relative_l2(&[f64::NAN, 1.0], &[f64::NAN, 1.0]), 0.0);
    }

    #[test]
    fn a_wrong_answer_fails_and_says_which_output() {
        let want = vec![("y".to_string(), t(vec![3.0, 4.0]))];
        let good = vec![("y".to_string(), t(vec![3.0, 4.0000001]))];
        let bad = vec![("y".to_string(), t(vec![3.0, 4.5]))];
        let c = CheckOutcome::compare("cpu fp32", &good, &want, FP32_TOLERANCE);
        assert_eq!(c.passed(), Some(true));
        assert!(
            c.to_text().starts_with("Output check vs cpu fp32: passed"),
            "{}",
            c.to_text()
        );
        let c = CheckOutcome::compare("cpu fp32", &bad, &want, FP32_TOLERANCE);
        assert_eq!(c.passed(), Some(false));
        assert_eq!(c.worst_error(), Some(0.1));
        assert!(
            c.to_text().contains("FAILED") && c.to_text().contains("output 'y'"),
            "{}",
            c.to_text()
        );
        assert_eq!(c.to_json()["status"], "failed");
    }

    #[test]
    fn shape_dtype_and_missing_outputs_are_mismatches() {
        let want = vec![
            ("y".to_string(), t(vec![1.0, 2.0])),
            ("z".to_string(), t(vec![1.0])),
        ];
        let got = vec![(
            "y".to_string(),
            Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap(),
        )];
        let c = CheckOutcome::compare("ref", &got, &want, FP32_TOLERANCE);
        assert_eq!(c.passed(), Some(false));
        let text = c.to_text();
        assert!(
            text.contains("dtype int64") && text.contains("'z': missing"),
            "{text}"
        );
    }

    #[test]
    fn integers_compare_exactly_and_skips_say_why() {
        let i = |v: Vec<i64>| Tensor::from_vec(vec![v.len()], v).unwrap();
        let want = vec![("k".to_string(), i(vec![1, 2, 3, 4]))];
        let c = CheckOutcome::compare("ref", &[("k".to_string(), i(vec![1, 2, 3, 5]))], &want, 0.0);
        assert_eq!((c.passed(), c.worst_error()), (Some(false), Some(0.25)));
        let s = CheckOutcome::Skipped("this run is the reference".into());
        assert_eq!(s.passed(), None);
        assert_eq!(
            s.to_text(),
            "Output check: skipped (this run is the reference)"
        );
        assert_eq!(s.to_json()["status"], "skipped");
    }
}
