//! Per-layer profile, as trtexec's `--dumpProfile --separateProfileRun`: after the timed queries,
//! a few more runs time every node; the table gives each layer's mean time and share, slowest
//! first, then the same summed per op type (where a model's time goes, at a glance).

use crate::backend::LayerTime;
use std::collections::HashMap;
use std::fmt::Write;

/// Mean time of each layer over the profiled runs, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerProfile {
    pub runs: usize,
    /// `(layer name, op, mean ms)`.
    pub layers: Vec<(String, String, f64)>,
    /// `(kernel, launches per run, mean ms per run)` summed over the layers, slowest first; empty
    /// when the backend does not split layers into kernels.
    pub kernels: Vec<(String, usize, f64)>,
}

impl LayerProfile {
    /// Averages runs of the same graph (each a list of layer times in execution order). `None`
    /// when there is no run, or runs disagree on the layers (data-dependent control flow).
    pub fn average(runs: &[Vec<LayerTime>]) -> Option<LayerProfile> {
        let first = runs.first()?;
        if runs.iter().any(|r| r.len() != first.len()) {
            return None;
        }
        let layers = first
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let total: f64 = runs.iter().map(|r| r[i].seconds).sum();
                let mean_ms = total * 1e3 / runs.len() as f64;
                (l.name.clone(), l.op.to_string(), mean_ms)
            })
            .collect();
        let mut kernels: HashMap<&str, (usize, f64)> = HashMap::new();
        for (label, seconds) in runs.iter().flatten().flat_map(|l| &l.kernels) {
            let e = kernels.entry(label.as_str()).or_default();
            e.0 += 1;
            e.1 += seconds;
        }
        let n = runs.len() as f64;
        let kernels = sorted(
            kernels
                .into_iter()
                .map(|(k, (count, s))| (k.to_string(), count / runs.len(), s * 1e3 / n))
                .collect(),
        );
        Some(LayerProfile {
            runs: runs.len(),
            layers,
            kernels,
        })
    }

    pub fn total_ms(&self) -> f64 {
        self.layers.iter().map(|l| l.2).sum()
    }

    /// Mean ms summed per op type, slowest first.
    pub fn by_op(&self) -> Vec<(String, usize, f64)> {
        let mut ops: HashMap<&str, (usize, f64)> = HashMap::new();
        for (_, op, ms) in &self.layers {
            let e = ops.entry(op.as_str()).or_default();
            e.0 += 1;
            e.1 += ms;
        }
        sorted(
            ops.into_iter()
                .map(|(op, (n, ms))| (op.to_string(), n, ms))
                .collect(),
        )
    }

    /// The text table: the `top` slowest layers, the rest summed, then the per-op summary.
    pub fn text(&self, top: usize) -> String {
        let total = self.total_ms().max(f64::MIN_POSITIVE);
        let mut order: Vec<&(String, String, f64)> = self.layers.iter().collect();
        order.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "=== Profile ({} layers, mean of {} runs; sum {:.3} ms) ===",
            self.layers.len(),
            self.runs,
            self.total_ms()
        );
        let _ = writeln!(s, "{:>10} {:>7}  {:<22} Layer", "Avg (ms)", "Time %", "Op");
        for (name, op, ms) in order.iter().take(top) {
            let _ = writeln!(
                s,
                "{ms:>10.4} {:>6.1}%  {op:<22} {name}",
                100.0 * ms / total
            );
        }
        if order.len() > top {
            let rest: f64 = order[top..].iter().map(|l| l.2).sum();
            let n = order.len() - top;
            let _ = writeln!(
                s,
                "{rest:>10.4} {:>6.1}%  ({n} more layers)",
                100.0 * rest / total
            );
        }
        let _ = writeln!(s, "--- per op type ---");
        for (op, n, ms) in self.by_op() {
            let _ = writeln!(s, "{ms:>10.4} {:>6.1}%  {op:<22} x{n}", 100.0 * ms / total);
        }
        if !self.kernels.is_empty() {
            let _ = writeln!(s, "--- per kernel ---");
            for (k, n, ms) in &self.kernels {
                let _ = writeln!(s, "{ms:>10.4} {:>6.1}%  {k:<22} x{n}", 100.0 * ms / total);
            }
        }
        s
    }
}

/// `(name, count, ms)` rows slowest first, ties by name.
fn sorted(mut rows: Vec<(String, usize, f64)>) -> Vec<(String, usize, f64)> {
    rows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, op: &'static str, seconds: f64) -> LayerTime {
        LayerTime {
            name: name.into(),
            op,
            seconds,
            kernels: vec![],
        }
    }

    #[test]
    fn averages_runs_and_sums_per_op() {
        let runs = vec![
            vec![
                t("a", "Conv", 0.002),
                t("b", "Relu", 0.001),
                t("c", "Conv", 0.004),
            ],
            vec![
                t("a", "Conv", 0.004),
                t("b", "Relu", 0.003),
                t("c", "Conv", 0.002),
            ],
        ];
        let p = LayerProfile::average(&runs).unwrap();
        assert_eq!(p.runs, 2);
        assert!((p.layers[0].2 - 3.0).abs() < 1e-9);
        assert!((p.total_ms() - 8.0).abs() < 1e-9);
        let ops = p.by_op();
        assert_eq!(ops[0].0, "Conv");
        assert_eq!(ops[0].1, 2);
        assert!((ops[0].2 - 6.0).abs() < 1e-9);
        let text = p.text(1);
        assert!(text.contains("(2 more layers)"), "{text}");
        assert!(text.contains("x2"), "{text}");
    }

    #[test]
    fn sums_kernels_over_layers() {
        let mut a = t("a", "Conv", 0.003);
        a.kernels = vec![("im2col".into(), 0.001), ("gemm".into(), 0.002)];
        let mut b = t("b", "Conv", 0.004);
        b.kernels = vec![("gemm".into(), 0.004)];
        let p = LayerProfile::average(&[vec![a.clone(), b.clone()], vec![a, b]]).unwrap();
        assert_eq!(p.kernels[0].0, "gemm");
        assert_eq!(p.kernels[0].1, 2);
        assert!((p.kernels[0].2 - 6.0).abs() < 1e-9);
        assert!((p.kernels[1].2 - 1.0).abs() < 1e-9);
        assert!(p.text(5).contains("--- per kernel ---"));
    }

    #[test]
    fn runs_with_different_layers_are_not_averaged() {
        let runs = vec![vec![t("a", "Conv", 0.1)], vec![]];
        assert!(LayerProfile::average(&runs).is_none());
        assert!(LayerProfile::average(&[]).is_none());
    }
}
