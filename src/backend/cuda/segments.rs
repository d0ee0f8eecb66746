//! A program's steps as a CUDA graph replays them: runs of device steps, each captured as one
//! graph, between the steps that run on the host (`--allow-cpu-fallback`), which a capture cannot
//! hold.

use super::program::Step;
use std::ops::Range;

/// One part: device steps `range` (captured as one graph), or the host step at an index.
#[derive(Debug, PartialEq)]
pub enum Part {
    Device(Range<usize>),
    Host(usize),
}

/// `steps` split at its host steps, in order.
pub fn parts(steps: &[(Step, usize)]) -> Vec<Part> {
    let mut out = vec![];
    let mut start = 0;
    for (i, (step, _)) in steps.iter().enumerate() {
        if matches!(step, Step::Host(_)) {
            if start < i {
                out.push(Part::Device(start..i));
            }
            out.push(Part::Host(i));
            start = i + 1;
        }
    }
    if start < steps.len() {
        out.push(Part::Device(start..steps.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parts, Part};
    use crate::backend::cuda::program::{Buf, HostStep, Step};
    use crate::ir::{Node, Op};

    #[test]
    fn host_steps_split_the_graph_into_parts() {
        let copy = || Step::Copy {
            src: Buf::Null,
            dst: Buf::Null,
            bytes: 0,
        };
        let host = || {
            Step::Host(HostStep {
                node: Box::new(Node {
                    name: "n".into(),
                    op: Op::Identity,
                    inputs: vec![],
                    outputs: vec![],
                }),
                inputs: vec![],
                outputs: vec![],
            })
        };
        let steps: Vec<(Step, usize)> = [host(), copy(), copy(), host(), host(), copy()]
            .into_iter()
            .map(|s| (s, 0))
            .collect();
        assert_eq!(
            parts(&steps),
            vec![
                Part::Host(0),
                Part::Device(1..3),
                Part::Host(3),
                Part::Host(4),
                Part::Device(5..6)
            ]
        );
        assert_eq!(parts(&steps[1..3]), vec![Part::Device(0..2)]);
        assert!(parts(&[]).is_empty());
    }
}
