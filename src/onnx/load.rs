//! `ModelProto` → [`Model`]: opsets per domain, initializers (every data field, external data),
//! Constant nodes folded into initializers, symbolic dims, and If/Loop subgraphs whose outer-scope
//! reads become explicit node inputs ([`Graph::captures`]). Every unsupported op type of the model
//! (subgraphs included) is reported in one error.

use super::attrs::NodeCtx;
use super::proto::{self, GraphProto, ModelProto, NodeProto, TypeProto, ValueInfoProto};
use super::tensor_proto::from_proto;
use crate::error::{Error, Result, UnsupportedOp};
use crate::ir::{self, Dim, Graph, Model, Node, Op, ValueId, ValueInfo};
use crate::tensor::{DType, Tensor};
use prost::Message;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Loads and imports an ONNX model file.
pub fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    import_bytes(&bytes, &path.display().to_string(), base)
}

/// Imports a model from its serialized bytes. `base_dir` resolves external data.
pub fn import_bytes(bytes: &[u8], source: &str, base_dir: Option<&Path>) -> Result<Model> {
    let decode_err = |msg: String| Error::Decode {
        path: source.to_string(),
        msg,
    };
    if bytes.is_empty() {
        return Err(decode_err("the file is empty".into()));
    }
    let mp = ModelProto::decode(bytes)
        .map_err(|e| decode_err(format!("protobuf decoding failed: {e}")))?;
    import_model(&mp, source, base_dir)
}

/// Imports a decoded `ModelProto`.
pub fn import_model(mp: &ModelProto, source: &str, base_dir: Option<&Path>) -> Result<Model> {
    let decode_err = |msg: String| Error::Decode {
        path: source.to_string(),
        msg,
    };
    let gp = mp
        .graph
        .as_ref()
        .ok_or_else(|| decode_err("the model has no graph".into()))?;
    if gp.node.is_empty() && gp.output.is_empty() {
        return Err(decode_err("the graph has no nodes and no outputs".into()));
    }
    let mut opsets = BTreeMap::new();
    for o in &mp.opset_import {
        let domain = match o.domain.as_deref().unwrap_or("") {
            "ai.onnx" => "",
            d => d,
        };
        opsets.insert(domain.to_string(), o.version.unwrap_or(0));
    }
    if mp.opset_import.is_empty() {
        // IR version 1/2 models predate opset_import; they are opset 1.
        opsets.insert(String::new(), 1);
    }
    let mut importer = Importer {
        opsets: &opsets,
        base_dir,
        unsupported: Vec::new(),
        seen: HashSet::new(),
    };
    let result = importer.graph(gp, None);
    if !importer.unsupported.is_empty() {
        return Err(Error::UnsupportedOps {
            path: source.to_string(),
            ops: importer.unsupported,
        });
    }
    let (mut graph, outer) = result.map_err(|e| match e {
        e @ (Error::Node { .. } | Error::Tensor { .. }) => Error::Decode {
            path: source.to_string(),
            msg: e.to_string(),
        },
        e => e,
    })?;
    if let Some(name) = outer.first() {
        return Err(decode_err(format!(
            "a node reads '{name}', which no input, initializer or node defines"
        )));
    }
    graph
        .sort_topologically()
        .map_err(|e| decode_err(e.to_string()))?;
    ir::verify(&graph).map_err(|e| decode_err(e.to_string()))?;
    ir::infer::infer_shapes(&mut graph).map_err(|e| decode_err(e.to_string()))?;
    Ok(Model {
        graph,
        opsets,
        ir_version: mp.ir_version.unwrap_or(0),
        producer_name: mp.producer_name.clone().unwrap_or_default(),
        producer_version: mp.producer_version.clone().unwrap_or_default(),
        source: source.to_string(),
    })
}

struct Importer<'a> {
    opsets: &'a BTreeMap<String, i64>,
    base_dir: Option<&'a Path>,
    unsupported: Vec<UnsupportedOp>,
    seen: HashSet<(String, String)>,
}

/// Per-graph name table while importing.
struct Scope {
    graph: Graph,
    by_name: HashMap<String, ValueId>,
    /// Names read but defined in no enclosing part of this graph: captured from outside.
    outer: Vec<String>,
    is_subgraph: bool,
}

impl Scope {
    fn value(&mut self, name: &str) -> ValueId {
        if let Some(&v) = self.by_name.get(name) {
            return v;
        }
        let v = self.graph.add_value(ValueInfo::named(name));
        self.by_name.insert(name.to_string(), v);
        v
    }
}

impl Importer<'_> {
    /// Imports a graph. Returns it with the outer-scope names it reads, in `captures` order.
    fn graph(&mut self, gp: &GraphProto, _parent: Option<&Scope>) -> Result<(Graph, Vec<String>)> {
        let mut s = Scope {
            graph: Graph {
                name: gp.name.clone().unwrap_or_default(),
                ..Default::default()
            },
            by_name: HashMap::new(),
            outer: vec![],
            is_subgraph: _parent.is_some(),
        };
        // Everything this graph defines itself.
        let mut local: HashSet<&str> = HashSet::new();
        for vi in &gp.input {
            local.insert(vi.name.as_deref().unwrap_or(""));
        }
        for t in &gp.initializer {
            local.insert(t.name.as_deref().unwrap_or(""));
        }
        for n in &gp.node {
            for o in &n.output {
                local.insert(o);
            }
        }
        for t in &gp.initializer {
            let name = t.name.clone().unwrap_or_default();
            let tensor = from_proto(t, self.base_dir)?;
            let v = s.value(&name);
            let info = s.graph.value_mut(v);
            info.dtype = Some(tensor.dtype());
            info.shape = Some(tensor.shape().iter().map(|&d| Dim::Fixed(d)).collect());
            s.graph.initializers.insert(v, Arc::new(tensor));
        }
        if !gp.sparse_initializer.is_empty() {
            return Err(Error::Other(format!(
                "graph '{}' has sparse initializers, which are not supported",
                s.graph.name
            )));
        }
        for vi in &gp.input {
            let name = vi.name.clone().unwrap_or_default();
            let v = s.value(&name);
            // An input that also has an initializer is a constant with a default: keep it constant.
            if !s.graph.initializers.contains_key(&v) || s.is_subgraph {
                s.graph.inputs.push(v);
            }
            apply_type(s.graph.value_mut(v), vi)?;
        }
        for vi in &gp.value_info {
            if let Some(&v) = vi.name.as_deref().and_then(|n| s.by_name.get(n)) {
                apply_type(s.graph.value_mut(v), vi)?;
            } else {
                let name = vi.name.clone().unwrap_or_default();
                if local.contains(name.as_str()) {
                    let v = s.value(&name);
                    apply_type(s.graph.value_mut(v), vi)?;
                }
            }
        }
        let mut first_err: Option<Error> = None;
        for (idx, np) in gp.node.iter().enumerate() {
            if let Err(e) = self.node(np, idx, &mut s, &local) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        for vi in &gp.output {
            let name = vi.name.clone().unwrap_or_default();
            let v = self.resolve(&name, &mut s, &local)?;
            s.graph.outputs.push(v);
            apply_type(s.graph.value_mut(v), vi)?;
        }
        Ok((s.graph, s.outer))
    }

    /// The value for a name read by a node: local, or captured from the enclosing scope.
    fn resolve(&mut self, name: &str, s: &mut Scope, local: &HashSet<&str>) -> Result<ValueId> {
        if local.contains(name) || s.by_name.contains_key(name) {
            return Ok(s.value(name));
        }
        let v = s.value(name);
        s.graph.captures.push(v);
        s.outer.push(name.to_string());
        Ok(v)
    }

    fn node(
        &mut self,
        np: &NodeProto,
        idx: usize,
        s: &mut Scope,
        local: &HashSet<&str>,
    ) -> Result<()> {
        let op_type = np.op_type.clone().unwrap_or_default();
        let name = match np.name.as_deref() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!(
                "{op_type}#{idx}{}",
                np.output
                    .first()
                    .map(|o| format!(" -> '{o}'"))
                    .unwrap_or_default()
            ),
        };
        let domain = match np.domain.as_deref().unwrap_or("") {
            "ai.onnx" => "",
            d => d,
        };
        let opset = match self.opsets.get(domain) {
            Some(&v) => v,
            None => {
                return Err(Error::node(
                    &name,
                    &op_type,
                    format!("domain '{domain}' is not imported by the model"),
                ));
            }
        };
        let ctx = NodeCtx::new(np, name.clone(), opset);

        if op_type == "Constant" && domain.is_empty() {
            let t = constant_value(&ctx)?;
            let out = np
                .output
                .first()
                .ok_or_else(|| ctx.err("Constant has no output"))?;
            let v = s.value(out);
            let info = s.graph.value_mut(v);
            info.dtype = Some(t.dtype());
            info.shape = Some(t.shape().iter().map(|&d| Dim::Fixed(d)).collect());
            s.graph.initializers.insert(v, Arc::new(t));
            return Ok(());
        }

        let mut inputs = Vec::with_capacity(np.input.len());
        for i in &np.input {
            inputs.push(if i.is_empty() {
                None
            } else {
                Some(self.resolve(i, s, local)?)
            });
        }

        let op = if domain.is_empty() && (op_type == "If" || op_type == "Loop") {
            let (op, outer_names) = self.control_flow(&ctx, s)?;
            for n in outer_names {
                inputs.push(Some(self.resolve(&n, s, local)?));
            }
            Some(op)
        } else {
            super::ops::convert(&ctx)?
        };
        let Some(op) = op else {
            if self.seen.insert((domain.to_string(), op_type.clone())) {
                self.unsupported.push(UnsupportedOp {
                    domain: domain.to_string(),
                    op_type: op_type.clone(),
                    opset,
                    first_node: name,
                });
            }
            return Ok(());
        };
        let outputs = np
            .output
            .iter()
            .map(|o| if o.is_empty() { None } else { Some(s.value(o)) })
            .collect();
        s.graph.nodes.push(Node {
            name,
            op,
            inputs,
            outputs,
        });
        Ok(())
    }

    /// Imports If / Loop subgraphs; returns the op and the outer names its bodies capture, in the
    /// order the node's trailing inputs must list them.
    fn control_flow(&mut self, ctx: &NodeCtx, s: &Scope) -> Result<(Op, Vec<String>)> {
        let sub = |imp: &mut Self, attr: &str| -> Result<(Graph, Vec<String>)> {
            let gp = ctx
                .graph(attr)
                .ok_or_else(|| ctx.err(format!("attribute '{attr}' (a graph) is required")))?;
            imp.graph(gp, Some(s))
                .map_err(|e| e.in_node(&ctx.name, ctx.op_type))
        };
        if ctx.op_type == "If" {
            let (then_g, mut names) = sub(self, "then_branch")?;
            let (else_g, else_names) = sub(self, "else_branch")?;
            if then_g.outputs.len() != else_g.outputs.len() {
                return Err(ctx.err(format!(
                    "then_branch has {} outputs but else_branch has {}",
                    then_g.outputs.len(),
                    else_g.outputs.len()
                )));
            }
            names.extend(else_names);
            Ok((
                Op::If(ir::If {
                    then_branch: Box::new(then_g),
                    else_branch: Box::new(else_g),
                }),
                names,
            ))
        } else {
            let (body, names) = sub(self, "body")?;
            if body.inputs.len() < 2 {
                return Err(ctx.err(format!(
                    "Loop body needs at least 2 inputs (iteration, cond), has {}",
                    body.inputs.len()
                )));
            }
            let carried = body.inputs.len() - 2;
            if ctx.input_count() < 2 + carried {
                return Err(ctx.err(format!(
                    "Loop has {} inputs but its body carries {carried} values (needs M, cond and {carried} initial values)",
                    ctx.input_count()
                )));
            }
            Ok((
                Op::Loop(ir::Loop {
                    body: Box::new(body),
                }),
                names,
            ))
        }
    }
}

/// The tensor a Constant node holds, from whichever `value*` attribute it uses.
fn constant_value(c: &NodeCtx) -> Result<Tensor> {
    if let Some(t) = c.tensor_opt("value")? {
        return Ok(t);
    }
    let wrap = |r: Result<Tensor>| r.map_err(|e| c.err(e.to_string()));
    if let Some(f) = c.float_opt("value_float") {
        return Ok(Tensor::scalar(f));
    }
    if let Some(i) = c.int_opt("value_int") {
        return Ok(Tensor::scalar(i));
    }
    if let Some(fs) = c.floats_opt("value_floats") {
        return wrap(Tensor::from_vec(vec![fs.len()], fs));
    }
    if let Some(is) = c.ints_opt("value_ints") {
        return wrap(Tensor::from_vec(vec![is.len()], is));
    }
    if c.has("sparse_value") {
        return Err(c.err("sparse constants are not supported"));
    }
    if c.has("value_string") || c.has("value_strings") {
        return Err(c.err("string constants are not supported"));
    }
    Err(c.err("Constant has no value attribute"))
}

/// Copies dtype and shape from a `ValueInfoProto` (tensor types only).
fn apply_type(info: &mut ValueInfo, vi: &ValueInfoProto) -> Result<()> {
    let Some(TypeProto {
        value: Some(tv), ..
    }) = &vi.r#type
    else {
        return Ok(());
    };
    match tv {
        proto::type_proto::Value::TensorType(tt) => {
            if let Some(code) = tt.elem_type {
                match DType::from_onnx(code) {
                    Some(d) => info.dtype = Some(d),
                    None if code == 0 => {}
                    None => {
                        return Err(Error::tensor(
                            &info.name,
                            format!("element type {} is not supported", DType::onnx_name(code)),
                        ))
                    }
                }
            }
            if let Some(shape) = &tt.shape {
                use proto::tensor_shape_proto::dimension::Value;
                info.shape = Some(
                    shape
                        .dim
                        .iter()
                        .map(|d| match &d.value {
                            Some(Value::DimValue(v)) if *v >= 0 => Dim::Fixed(*v as usize),
                            // Some exporters (paddle2onnx) write "?" for every unknown dim; it
                            // names no shared symbol, so two "?" dims need not be equal.
                            Some(Value::DimParam(p)) if !p.is_empty() && p != "?" => {
                                Dim::Symbol(p.clone())
                            }
                            _ => Dim::Unknown,
                        })
                        .collect(),
                );
            }
            Ok(())
        }
        _ => Err(Error::tensor(
            &info.name,
            "sequence, map and optional values are not supported (only tensors)",
        )),
    }
}
