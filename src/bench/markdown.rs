//! The Markdown report (`--report FILE.md`): the speedup table, an SVG bar chart of median latency
//! written beside the `.md` (Markdown viewers render an `<img>` of an SVG file, while inline
//! `<svg>` is stripped by most), and per run the performance summary as a table.

use super::report::{BenchReport, RunReport};
use super::stats::{percentile_label, Stats};

/// The Markdown text; `chart` is the SVG file's name relative to the `.md` (`None`: no chart).
pub fn to_markdown(r: &BenchReport, chart: Option<&str>) -> String {
    let threads = r.results.first().map_or(0, |x| x.setup.threads);
    let mut md = format!(
        "# rtforge bench: `{}`\n\nrtforge {} · {threads} CPU thread(s) on a {}-core machine · inputs: seeded random (seed {})\n\n",
        r.model,
        crate::VERSION,
        r.cpu_cores,
        r.seed
    );
    md.push_str("## Speedup\n\n| backend | precision | batch | median ms | p90 ms | throughput (qps) | vs cpu fp32 |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for s in &r.speedups {
        let sp = s.speedup.map_or("n/a".to_string(), |x| format!("{x:.2}×"));
        md.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.2} | {sp} |\n",
            s.backend, s.precision, s.batch, s.median_ms, s.p90_ms, s.throughput_qps
        ));
    }
    if r.speedups.iter().any(|s| s.speedup.is_some()) {
        md.push_str(&format!("\n{}\n", super::speedup::BASELINE_NOTE));
    }
    if let Some(c) = chart {
        md.push_str(&format!("\n![median latency per run, ms]({c})\n"));
    }
    for run in &r.results {
        md.push_str(&run_section(run));
    }
    md
}

fn run_section(run: &RunReport) -> String {
    let s = &run.setup;
    let mut md = format!(
        "\n## {} {} (batch {}, {} thread(s))\n\n",
        s.backend, s.precision, s.batch, s.threads
    );
    let pct: Vec<String> = run
        .percentiles
        .iter()
        .map(|p| format!("p{}", percentile_label(*p)))
        .collect();
    md.push_str(&format!(
        "| metric (ms) | min | max | mean | median | {} |\n",
        pct.join(" | ")
    ));
    md.push_str(&format!(
        "|---|---:|---:|---:|---:|{}\n",
        "---:|".repeat(pct.len())
    ));
    let row = |name: &str, st: Option<&Stats>, na: &str| match st {
        Some(st) => {
            let p: Vec<String> = run
                .percentiles
                .iter()
                .map(|&p| st.percentile(p).map_or("".into(), |v| format!("{v:.3}")))
                .collect();
            format!(
                "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {} |\n",
                st.min,
                st.max,
                st.mean,
                st.median,
                p.join(" | ")
            )
        }
        None => format!(
            "| {name} | not applicable: {na} |{}\n",
            " |".repeat(3 + run.percentiles.len())
        ),
    };
    md.push_str(&row("Latency", Some(&run.latency), ""));
    md.push_str(&row("Enqueue Time", Some(&run.enqueue), ""));
    md.push_str(&row(
        "H2D Latency",
        run.h2d.as_ref(),
        "no host-to-device copy",
    ));
    md.push_str(&row(
        "GPU Compute Time",
        run.compute.as_ref(),
        "computes on the host",
    ));
    md.push_str(&row(
        "D2H Latency",
        run.d2h.as_ref(),
        "no device-to-host copy",
    ));
    md.push_str(&format!(
        "\n- Throughput: {:.3} qps over {} queries; total host walltime {:.3} s\n",
        run.throughput_qps(),
        run.queries(),
        run.walltime_ms / 1e3
    ));
    md.push_str(&match run.peak_memory_bytes {
        Some(n) => format!(
            "- Peak activation memory: {:.2} MiB\n",
            n as f64 / (1 << 20) as f64
        ),
        None => format!(
            "- Peak activation memory: not tracked by the {} backend\n",
            s.backend
        ),
    });
    md.push_str(&format!(
        "- {}\n",
        run.check.to_text().replace('\n', "\n  ")
    ));
    md
}

/// A horizontal bar chart of median latency per run (shorter is faster), with p90 as a tick.
pub fn svg_chart(r: &BenchReport) -> String {
    const LABEL_W: f64 = 170.0;
    const BAR_AREA: f64 = 380.0;
    const ROW_H: f64 = 30.0;
    let rows = &r.speedups;
    let top = 40.0;
    let height = top + ROW_H * rows.len() as f64 + 30.0;
    let width = LABEL_W + BAR_AREA + 120.0;
    let max = rows
        .iter()
        .map(|s| s.p90_ms.max(s.median_ms))
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"15\">{} — median latency (ms), p90 tick</text>\n",
        xml_escape(&r.model)
    );
    for (i, s) in rows.iter().enumerate() {
        let y = top + ROW_H * i as f64;
        let w = BAR_AREA * s.median_ms / max;
        let p90 = LABEL_W + BAR_AREA * s.p90_ms / max;
        let label = format!("{} {} b{}", s.backend, s.precision, s.batch);
        let value = match s.speedup {
            Some(x) => format!("{:.2} ms ({x:.2}×)", s.median_ms),
            None => format!("{:.2} ms", s.median_ms),
        };
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#4c78a8\"/>\n\
             <line x1=\"{p90:.1}\" x2=\"{p90:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e45756\" stroke-width=\"2\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            LABEL_W - 8.0,
            y + 17.0,
            xml_escape(&label),
            y + 4.0,
            ROW_H - 8.0,
            y + 2.0,
            y + ROW_H - 2.0,
            LABEL_W + w.max(p90 - LABEL_W) + 6.0,
            y + 17.0,
            xml_escape(&value)
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::check::CheckOutcome;
    use crate::bench::report::RunSetup;
    use crate::bench::speedup::speedups;
    use crate::bench::trace::{QueryTrace, Trace};

    fn report() -> BenchReport {
        let queries = (0..4)
            .map(|i| QueryTrace::host_only(i as f64 * 8.0, (i + 1) as f64 * 8.0))
            .collect();
        let trace = Trace {
            queries,
            warm_up_queries: 1,
            warm_up_ms: 10.0,
        };
        let setup = RunSetup {
            backend: "cpu".into(),
            precision: "fp32".into(),
            batch: 1,
            threads: 2,
            streams: 1,
        };
        let run = RunReport::new(
            setup,
            &trace,
            &[90.0, 99.0],
            None,
            CheckOutcome::Skipped("reference".into()),
        )
        .unwrap();
        let runs = vec![run];
        BenchReport {
            model: "a<b>.onnx".into(),
            cpu_cores: 2,
            seed: 0,
            speedups: speedups(&runs),
            results: runs,
        }
    }

    #[test]
    fn markdown_has_the_tables_and_links_the_chart() {
        let md = to_markdown(&report(), Some("r.svg"));
        assert!(
            md.contains("| cpu | fp32 | 1 | 8.000 | 8.000 | 125.00 | 1.00× |"),
            "{md}"
        );
        assert!(md.contains("![median latency per run, ms](r.svg)"), "{md}");
        assert!(
            md.contains("| metric (ms) | min | max | mean | median | p90 | p99 |"),
            "{md}"
        );
        assert!(
            md.contains("| Latency | 8.000 | 8.000 | 8.000 | 8.000 | 8.000 | 8.000 |"),
            "{md}"
        );
        assert!(
            md.contains("| H2D Latency | not applicable: no host-to-device copy |"),
            "{md}"
        );
        assert!(md.contains("2 CPU thread(s)"), "{md}");
    }

    #[test]
    fn the_chart_has_one_bar_per_run_and_escapes_names() {
        let svg = svg_chart(&report());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("fill=\"#4c78a8\"").count(), 1);
        assert!(
            svg.contains("a&lt;b&gt;.onnx") && svg.contains("8.00 ms (1.00×)"),
            "{svg}"
        );
        // The longest bar fills the bar area.
        assert!(svg.contains("width=\"380.0\""), "{svg}");
    }
}
