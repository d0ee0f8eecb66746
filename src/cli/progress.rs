//! A one-line progress display on stderr for long benchmarks, redrawn in place with a carriage
//! return, at most ten times a second, and only when stderr is a terminal (logs and pipes stay
//! clean).

use crate::bench::runner::{Phase, Progress};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws `[label] phase: N queries, T s (P%)` on stderr.
pub struct ProgressLine {
    label: String,
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    /// A line for the run named `label`; silent unless stderr is a terminal.
    pub fn new(label: &str) -> ProgressLine {
        ProgressLine {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    /// Shows `p` unless the line was redrawn less than 100 ms ago.
    pub fn update(&mut self, p: &Progress) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let phase = match p.phase {
            Phase::WarmUp => "warm-up",
            Phase::Timing => "timing",
        };
        let line = format!(
            "[{}] {phase}: {} queries, {:.1} s ({:.0}%)",
            self.label,
            p.queries,
            p.elapsed.as_secs_f64(),
            p.fraction * 100.0
        );
        let mut err = std::io::stderr().lock();
        // Padding overwrites the tail of a longer previous line.
        let _ = write!(err, "\r{line:<72}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erases the line so the summary that follows starts clean.
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:<72}\r", "");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.finish();
    }
}
