//! The plan file's byte layout (documented for outside readers in docs/plan-format.md): a fixed
//! preamble (magic, format version, total length, section table), a JSON header, the graph as CBOR,
//! the weights as 64-byte-aligned raw little-endian blobs, per-backend payloads, and an XXH3-64
//! checksum of everything before it. All integers are little-endian.
//!
//! Reading validates in order, so each failure has one clear message: magic, format version, length,
//! checksum, then every section bound and every weight entry. Nothing is allocated from a length field
//! before it has been checked against the file's real size.

use super::weights::{self, align_up, WeightRef, ALIGN};
use super::{generic_rebuild, BuildOptions, Fingerprint, Plan, Profile};
use crate::error::{Error, Result};
use crate::ir::Model;
use crate::tensor::to_le_bytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// The first eight bytes of every plan file.
pub const MAGIC: [u8; 8] = *b"RTFPLAN\0";
/// The layout version this build writes and reads. Any change to the layout or to the meaning of a
/// section bumps it.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the header: magic, version, reserved, file length, four (offset, length) pairs,
/// reserved.
pub const PREAMBLE_LEN: u64 = 96;
const CHECKSUM_LEN: u64 = 8;

/// The 64-bit checksum stored at the end of a plan: XXH3-64 (seed 0) of every byte before it.
pub fn checksum(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// Whether the file at `path` starts with the plan magic (the extension does not matter).
pub fn is_plan_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == MAGIC
}

/// The JSON header: everything but the graph, readable with `head -c`.
#[derive(Serialize, Deserialize)]
struct Header {
    fingerprint: Fingerprint,
    build: BuildOptions,
    profiles: Vec<Profile>,
    payloads: Vec<PayloadRef>,
}

/// Where one payload lies in the payload section.
#[derive(Serialize, Deserialize)]
struct PayloadRef {
    name: String,
    offset: u64,
    len: u64,
}

#[derive(Serialize)]
struct GraphSectionOut<'a> {
    model: &'a Model,
    weights: &'a [WeightRef],
}

#[derive(Deserialize)]
struct GraphSectionIn {
    model: Model,
    weights: Vec<WeightRef>,
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hash: Xxh3,
    written: u64,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.written += bytes.len() as u64;
        self.inner.write_all(bytes)
    }

    fn pad_to(&mut self, offset: u64) -> std::io::Result<()> {
        let n = offset.saturating_sub(self.written);
        self.put(&vec![0u8; n as usize])
    }
}

/// Writes `plan` to `out`; returns the bytes written.
pub fn write(plan: &Plan, out: impl Write) -> Result<u64> {
    let layout = weights::layout(&plan.model.graph);
    let mut graph = vec![];
    ciborium::into_writer(
        &GraphSectionOut {
            model: &plan.model,
            weights: &layout.refs,
        },
        &mut graph,
    )
    .map_err(|e| Error::Other(format!("encoding the plan graph: {e}")))?;
    let mut payload_refs = vec![];
    let mut payloads_len = 0u64;
    for (name, bytes) in &plan.payloads {
        payload_refs.push(PayloadRef {
            name: name.clone(),
            offset: payloads_len,
            len: bytes.len() as u64,
        });
        payloads_len = align_up(payloads_len + bytes.len() as u64);
    }
    let header = Header {
        fingerprint: plan.fingerprint.clone(),
        build: plan.build.clone(),
        profiles: plan.profiles.clone(),
        payloads: payload_refs,
    };
    let header = serde_json::to_vec(&header)
        .map_err(|e| Error::Other(format!("encoding the plan header: {e}")))?;

    let header_off = PREAMBLE_LEN;
    let graph_off = header_off + header.len() as u64;
    let weights_off = align_up(graph_off + graph.len() as u64);
    let payloads_off = align_up(weights_off + layout.size);
    let file_len = payloads_off + payloads_len + CHECKSUM_LEN;

    let mut pre = Vec::with_capacity(PREAMBLE_LEN as usize);
    pre.extend_from_slice(&MAGIC);
    pre.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    pre.extend_from_slice(&0u32.to_le_bytes());
    for v in [
        file_len,
        header_off,
        header.len() as u64,
        graph_off,
        graph.len() as u64,
        weights_off,
        layout.size,
        payloads_off,
        payloads_len,
        0,
    ] {
        pre.extend_from_slice(&v.to_le_bytes());
    }
    debug_assert_eq!(pre.len() as u64, PREAMBLE_LEN);

    let io = |e: std::io::Error| Error::Other(format!("writing the plan: {e}"));
    let mut w = Hashing {
        inner: out,
        hash: Xxh3::new(),
        written: 0,
    };
    w.put(&pre).map_err(io)?;
    w.put(&header).map_err(io)?;
    w.put(&graph).map_err(io)?;
    for (r, t) in layout.refs.iter().zip(&layout.tensors) {
        w.pad_to(weights_off + r.offset).map_err(io)?;
        w.put(&to_le_bytes(t)).map_err(io)?;
    }
    w.pad_to(payloads_off).map_err(io)?;
    for bytes in plan.payloads.values() {
        w.put(bytes).map_err(io)?;
        w.pad_to(align_up(w.written)).map_err(io)?;
    }
    w.pad_to(file_len - CHECKSUM_LEN).map_err(io)?;
    let sum = w.hash.digest();
    w.inner.write_all(&sum.to_le_bytes()).map_err(io)?;
    w.inner.flush().map_err(io)?;
    Ok(file_len)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Parses and validates a whole plan held in `bytes`; `path` names it in errors.
pub fn read(bytes: &[u8], path: &str) -> Result<Plan> {
    let fail = |msg: String| Error::Plan {
        path: path.to_string(),
        msg,
        rebuild: generic_rebuild(path),
    };
    let len = bytes.len() as u64;
    // A short file that starts like a plan is a truncated plan; anything else is not a plan.
    let head = &bytes[..bytes.len().min(8)];
    if head.is_empty() {
        return Err(fail("empty file, not an rtforge plan".into()));
    }
    if head != &MAGIC[..head.len()] {
        let onnx_like = bytes.first() == Some(&0x08);
        let what = if onnx_like {
            " (it looks like an ONNX model; build a plan from it)"
        } else {
            ""
        };
        return Err(fail(format!(
            "not an rtforge plan: it does not start with the plan magic{what}"
        )));
    }
    if len >= 12 {
        let version = u32_at(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(fail(format!(
                "plan format version {version}, but this rtforge ({}) reads version {FORMAT_VERSION}",
                crate::VERSION
            )));
        }
    }
    if len < PREAMBLE_LEN + CHECKSUM_LEN {
        return Err(fail(format!(
            "truncated: {len} bytes, shorter than the plan preamble"
        )));
    }
    let declared = u64_at(bytes, 16);
    if declared != len {
        return Err(fail(if len < declared {
            format!("truncated: {len} of {declared} bytes")
        } else {
            format!("{len} bytes, but its preamble says {declared}: data was appended")
        }));
    }
    let body = &bytes[..(len - CHECKSUM_LEN) as usize];
    let (stored, computed) = (u64_at(bytes, body.len()), checksum(body));
    if stored != computed {
        return Err(fail(format!(
            "checksum mismatch (stored {stored:016x}, computed {computed:016x}): the file is corrupted"
        )));
    }
    let section = |i: usize, what: &str| -> Result<&[u8]> {
        let (off, n) = (u64_at(bytes, 24 + 16 * i), u64_at(bytes, 32 + 16 * i));
        match off.checked_add(n) {
            Some(end) if off >= PREAMBLE_LEN && end <= len - CHECKSUM_LEN => {
                Ok(&bytes[off as usize..end as usize])
            }
            _ => Err(fail(format!(
                "the {what} section ({n} bytes at {off}) lies outside the file"
            ))),
        }
    };
    let header_bytes = section(0, "header")?;
    let graph_bytes = section(1, "graph")?;
    let weight_bytes = section(2, "weights")?;
    let payload_bytes = section(3, "payloads")?;
    if u64_at(bytes, 56) % ALIGN != 0 {
        return Err(fail("the weights section is not 64-byte aligned".into()));
    }
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|e| fail(format!("unreadable header: {e}")))?;
    let mut plan = Plan {
        model: Model::default(),
        fingerprint: header.fingerprint,
        build: header.build,
        profiles: header.profiles,
        payloads: BTreeMap::new(),
    };
    // From here on the header is known, so errors can print the exact rebuild command.
    let fail = |msg: String| Error::Plan {
        path: path.to_string(),
        msg,
        rebuild: plan.rebuild_command(path),
    };
    let mut payloads = BTreeMap::new();
    for p in header.payloads {
        let end = p
            .offset
            .checked_add(p.len)
            .filter(|&e| e <= payload_bytes.len() as u64);
        let Some(end) = end else {
            let (n, len, at) = (&p.name, p.len, p.offset);
            return Err(fail(format!(
                "payload '{n}' ({len} bytes at {at}) lies outside its section"
            )));
        };
        payloads.insert(
            p.name,
            payload_bytes[p.offset as usize..end as usize].to_vec(),
        );
    }
    let g: GraphSectionIn = ciborium::from_reader(graph_bytes).map_err(|e| {
        fail(format!(
            "unreadable graph section (written by rtforge {}): {e}",
            plan.fingerprint.rtforge
        ))
    })?;
    let mut model = g.model;
    weights::restore(&mut model.graph, &g.weights, weight_bytes)
        .map_err(|m| fail(format!("weights: {m}")))?;
    crate::ir::verify(&model.graph).map_err(|e| fail(format!("inconsistent graph: {e}")))?;
    model.source = path.to_string();
    plan.model = model;
    plan.payloads = payloads;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_plan() -> Plan {
        let mut plan = crate::plan::tests_support::plan_of(crate::plan::tests_support::add_model());
        plan.payloads.insert("cuda.ptx".into(), b"// ptx".to_vec());
        plan
    }

    #[test]
    fn layout_is_aligned_and_round_trips() {
        let plan = tiny_plan();
        let mut bytes = vec![];
        let n = write(&plan, &mut bytes).unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert_eq!(&bytes[..8], b"RTFPLAN\0");
        assert_eq!(u32_at(&bytes, 8), 1);
        assert_eq!(u64_at(&bytes, 56) % 64, 0);
        assert_eq!(u64_at(&bytes, 72) % 64, 0);
        assert_eq!(u64_at(&bytes, 24), 96);
        let header = &bytes[96..96 + u64_at(&bytes, 32) as usize];
        assert!(
            header.starts_with(b"{\"fingerprint\":{\"rtforge\":"),
            "{}",
            String::from_utf8_lossy(header)
        );
        let back = read(&bytes, "t.plan").unwrap();
        assert_eq!(back.model.graph, plan.model.graph);
        assert_eq!(back.payloads, plan.payloads);
        assert_eq!(back.fingerprint, plan.fingerprint);
        assert_eq!(back.model.source, "t.plan");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut bytes = vec![];
        write(&tiny_plan(), &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            let e = read(&bytes[..cut], "t.plan").unwrap_err().to_string();
            assert!(e.starts_with("t.plan: "), "cut at {cut}: {e}");
            assert!(
                e.contains("truncated") || (cut == 0 && e.contains("not an rtforge plan")),
                "cut at {cut}: {e}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_an_error() {
        let mut bytes = vec![];
        write(&tiny_plan(), &mut bytes).unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(
                read(&b, "t.plan").is_err(),
                "flipping byte {i} went unnoticed"
            );
        }
    }
}
