//! Short summaries of output tensors for the terminal and for `--json`.

use crate::Tensor;
use serde_json::{json, Value};

/// Statistics of one output.
pub struct Summary {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub first: Vec<f64>,
}

impl Summary {
    pub fn of(name: &str, t: &Tensor) -> Summary {
        let v = t.to_vec::<f64>();
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &x in &v {
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        let mean = if v.is_empty() {
            f64::NAN
        } else {
            sum / v.len() as f64
        };
        Summary {
            name: name.to_string(),
            dtype: t.dtype().name().to_string(),
            shape: t.shape().to_vec(),
            min,
            max,
            mean,
            first: v.iter().take(8).copied().collect(),
        }
    }

    pub fn to_json(&self) -> Value {
        // JSON has no NaN/inf: those become null.
        let num = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        json!({
            "name": self.name,
            "dtype": self.dtype,
            "shape": self.shape,
            "min": num(self.min),
            "max": num(self.max),
            "mean": num(self.mean),
            "first": self.first.iter().map(|&x| num(x)).collect::<Vec<_>>(),
        })
    }

    pub fn to_text(&self) -> String {
        let first: Vec<String> = self.first.iter().map(|x| format!("{x:.6}")).collect();
        format!(
            "{}: {}{:?}  min {:.6}  max {:.6}  mean {:.6}\n  first: [{}]",
            self.name,
            self.dtype,
            self.shape,
            self.min,
            self.max,
            self.mean,
            first.join(", ")
        )
    }
}

/// The file name an output is saved under: every character outside `[A-Za-z0-9._-]` becomes `_`.
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s == "." || s == ".." {
        format!("output{s}").replace('.', "_")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("logits:0"), "logits_0");
        assert_eq!(sanitize("a/b c.npy"), "a_b_c.npy");
        assert_eq!(sanitize(".."), "output__");
    }
}
