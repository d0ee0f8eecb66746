//! A model's initializers (main graph and every subgraph) as raw little-endian blobs, each starting
//! on a 64-byte boundary of the file so a reader can use them in place from a memory map. The graph
//! section carries one [`WeightRef`] per initializer; the blobs follow in the weights section.

use super::walk;
use crate::error::Result;
use crate::ir::{Graph, ValueId};
use crate::tensor::{checked_numel, decode_le, DType, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// Alignment of every blob, in bytes from the start of the file: a cache line, and enough for any
/// SIMD load or a GPU copy engine.
pub const ALIGN: u64 = 64;

/// Where one initializer's data lies in the weights section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightRef {
    /// The graph holding it, numbered as in [`super::walk`] (0 = main graph).
    pub graph: usize,
    pub value: ValueId,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Byte offset from the start of the weights section; a multiple of [`ALIGN`].
    pub offset: u64,
    pub len: u64,
}

/// The initializers of a model in the order they are written, with their refs.
pub struct Layout<'a> {
    pub refs: Vec<WeightRef>,
    pub tensors: Vec<&'a Tensor>,
    /// Bytes of the weights section, padding included.
    pub size: u64,
}

/// Rounds `n` up to a multiple of [`ALIGN`].
pub fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN) * ALIGN
}

/// Lays out every initializer of `g` and its subgraphs.
pub fn layout(g: &Graph) -> Layout<'_> {
    let mut refs = vec![];
    let mut tensors = vec![];
    let mut offset = 0u64;
    for (gi, graph) in walk::graphs(g).into_iter().enumerate() {
        for (v, t) in &graph.initializers {
            let len = t.size_bytes() as u64;
            refs.push(WeightRef {
                graph: gi,
                value: *v,
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
                offset,
                len,
            });
            tensors.push(&**t);
            offset = align_up(offset + len);
        }
    }
    Layout {
        refs,
        tensors,
        size: offset,
    }
}

/// Puts the blobs of `section` back into `g` as initializers. Every ref is checked against the
/// section and the graph first, so a bad ref is an error, never a panic or an oversized allocation.
pub fn restore(g: &mut Graph, refs: &[WeightRef], section: &[u8]) -> Result<(), String> {
    let n_graphs = walk::graphs(g).len();
    let mut per_graph: Vec<Vec<&WeightRef>> = vec![vec![]; n_graphs];
    let mut seen = HashSet::new();
    for r in refs {
        let bytes = checked_numel(&r.shape)
            .and_then(|n| n.checked_mul(r.dtype.size()))
            .ok_or_else(|| format!("weight {:?} of {} overflows", r.shape, r.dtype))?;
        if bytes as u64 != r.len {
            return Err(format!(
                "weight {:?} of {} needs {bytes} bytes but its entry says {}",
                r.shape, r.dtype, r.len
            ));
        }
        let end = r
            .offset
            .checked_add(r.len)
            .filter(|&e| e <= section.len() as u64);
        if end.is_none() || r.offset % ALIGN != 0 {
            return Err(format!(
                "weight at offset {} ({} bytes) lies outside the {}-byte weights section or is misaligned",
                r.offset,
                r.len,
                section.len()
            ));
        }
        if r.graph >= n_graphs {
            return Err(format!(
                "weight entry names graph #{} of {n_graphs}",
                r.graph
            ));
        }
        if !seen.insert((r.graph, r.value)) {
            return Err(format!(
                "graph #{} value #{} has two weight entries",
                r.graph, r.value.0
            ));
        }
        per_graph[r.graph].push(r);
    }
    let mut problem = None;
    let walked = walk::for_each_graph_mut(g, &mut |gi, graph| {
        for r in per_graph.get(gi).map_or(&[][..], |v| &v[..]) {
            if r.value.0 >= graph.values.len() {
                problem = Some(format!(
                    "weight entry names value #{} of graph '{}', which has {}",
                    r.value.0,
                    graph.name,
                    graph.values.len()
                ));
                return Ok(());
            }
            // Bounds were checked above; `usize` holds them because they fit in `section`.
            let bytes = &section[r.offset as usize..(r.offset + r.len) as usize];
            let t = Tensor::new(r.shape.clone(), decode_le(r.dtype, bytes));
            match t {
                Ok(t) => {
                    graph.initializers.insert(r.value, Arc::new(t));
                }
                Err(e) => problem = Some(e.to_string()),
            }
        }
        Ok(())
    });
    walked.map_err(|e| e.to_string())?;
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::ValueInfo;

    fn graph_with(ts: Vec<Tensor>) -> Graph {
        let mut g = Graph::default();
        for (i, t) in ts.into_iter().enumerate() {
            let v = g.add_value(ValueInfo::named(format!("w{i}")));
            g.initializers.insert(v, Arc::new(t));
        }
        g
    }

    #[test]
    fn blobs_are_aligned_and_restore_exactly() {
        let a = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![-5i64, 9]).unwrap();
        let g = graph_with(vec![a.clone(), b.clone()]);
        let l = layout(&g);
        assert_eq!(
            l.refs.iter().map(|r| (r.offset, r.len)).collect::<Vec<_>>(),
            [(0, 12), (64, 16)]
        );
        assert_eq!(l.size, 128);
        let mut section = vec![0u8; l.size as usize];
        for (r, t) in l.refs.iter().zip(&l.tensors) {
            let bytes = crate::tensor::to_le_bytes(t);
            section[r.offset as usize..r.offset as usize + bytes.len()].copy_from_slice(&bytes);
        }
        let mut empty = g.clone();
        empty.initializers.clear();
        restore(&mut empty, &l.refs, &section).unwrap();
        assert_eq!(empty, g);
    }

    #[test]
    fn bad_refs_are_errors() {
        let g = graph_with(vec![Tensor::from_vec(vec![4], vec![0u8; 4]).unwrap()]);
        let l = layout(&g);
        let section = vec![0u8; 64];
        let mut r = l.refs.clone();
        r[0].len = u64::MAX;
        let e = restore(&mut g.clone(), &r, &section).unwrap_err();
        assert!(e.contains("needs 4 bytes"), "{e}");
        let mut r = l.refs.clone();
        r[0].offset = 64;
        let e = restore(&mut g.clone(), &r, &section).unwrap_err();
        assert!(e.contains("outside the 64-byte weights section"), "{e}");
        let mut r = l.refs.clone();
        r[0].shape = vec![usize::MAX, 2];
        let e = restore(&mut g.clone(), &r, &section).unwrap_err();
        assert!(e.contains("overflows"), "{e}");
        let mut r = l.refs.clone();
        r[0].value = ValueId(7);
        let e = restore(&mut g.clone(), &r, &section).unwrap_err();
        assert!(e.contains("value #7"), "{e}");
    }
}
