//! `GraphBuilder`: the small ONNX writer the zoo architectures are written with. Each method adds
//! one exporter-style node (and its seeded initializers) and returns the name of its output, so an
//! architecture file reads like the layer table of its paper.
//!
//! Names follow the PyTorch exporter: initializers carry the module path (`layer1.0.conv1.weight`),
//! nodes are named `/layer1/0/conv1/Conv` and their outputs `/layer1/0/conv1/Conv_output_0`.
//! Weights come from [`super::weights`], seeded per tensor from the model seed and its name.
//! Operator pages: <https://onnx.ai/onnx/operators/>

use super::weights::kaiming;
pub use super::weights::Init;
use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use crate::onnx::proto::{
    type_proto, AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use crate::onnx::tensor_proto::to_proto;
use crate::tensor::{DType, Tensor};
use std::collections::HashMap;

/// One attribute of a node.
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

/// Accumulates nodes, initializers, inputs and outputs of one ONNX graph.
pub struct GraphBuilder {
    seed: u64,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    /// How often each node or constant name was taken, to suffix repeats `_1`, `_2`.
    used: HashMap<String, usize>,
}

impl GraphBuilder {
    pub fn new(seed: u64) -> GraphBuilder {
        GraphBuilder {
            seed,
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            used: HashMap::new(),
        }
    }

    /// Declares a graph input and returns its name.
    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> String {
        self.inputs.push(value_info(name, dtype, shape));
        name.to_string()
    }

    /// Declares `value` a graph output under `name`, renaming it everywhere it appears.
    pub fn output(&mut self, value: &str, name: &str, dtype: DType, shape: &[usize]) {
        for n in &mut self.nodes {
            for s in n.input.iter_mut().chain(n.output.iter_mut()) {
                if s == value {
                    *s = name.to_string();
                }
            }
        }
        self.outputs.push(value_info(name, dtype, shape));
    }

    /// The finished graph.
    pub fn finish(self, name: &str) -> GraphProto {
        GraphProto {
            name: Some(name.to_string()),
            node: self.nodes,
            initializer: self.initializers,
            input: self.inputs,
            output: self.outputs,
            ..Default::default()
        }
    }

    /// Adds a seeded float initializer named `name`.
    pub fn weight(&mut self, name: &str, shape: &[usize], init: Init) -> String {
        let v = init.values(self.seed, name, shape.iter().product());
        self.tensor(name, Tensor::from_vec(shape.to_vec(), v))
    }

    /// Adds an initializer with given values (shape constants, scalars, position ids).
    pub fn tensor(&mut self, name: &str, t: crate::Result<Tensor>) -> String {
        // Shapes here are built by the zoo itself, never read from data, so a mismatch is a bug.
        let t = t.expect("zoo initializer shape matches its values");
        self.initializers.push(to_proto(name, &t));
        name.to_string()
    }

    /// A float scalar initializer.
    pub fn scalar_f32(&mut self, name: &str, v: f32) -> String {
        self.tensor(name, Ok(Tensor::scalar(v)))
    }

    /// A 1-D int64 initializer (shapes, axes, perms given as inputs).
    pub fn ints(&mut self, name: &str, v: &[i64]) -> String {
        self.tensor(name, Tensor::from_vec(vec![v.len()], v.to_vec()))
    }

    /// `base` the first time, then `base_1`, `base_2`, ... as exporters name repeats.
    pub fn unique(&mut self, base: &str) -> String {
        let count = self.used.entry(base.to_string()).or_insert(0);
        let name = if *count == 0 {
            base.to_string()
        } else {
            format!("{base}_{count}")
        };
        *count += 1;
        name
    }

    /// Adds a node with one output; `scope` is the module path (`layer1.0.conv1`).
    pub fn node(
        &mut self,
        op: &str,
        scope: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
    ) -> String {
        let base = if scope.is_empty() {
            format!("/{op}")
        } else {
            format!("/{}/{op}", scope.replace('.', "/"))
        };
        let name = self.unique(&base);
        let out = format!("{name}_output_0");
        self.nodes.push(NodeProto {
            name: Some(name),
            op_type: Some(op.to_string()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute: attrs.into_iter().map(|(k, a)| attribute(k, a)).collect(),
            ..Default::default()
        });
        out
    }

    /// `Conv` without bias (a BatchNormalization follows), Kaiming-initialized.
    pub fn conv(
        &mut self,
        scope: &str,
        x: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
    ) -> String {
        let fan_in = cin / groups * k * k;
        let w = self.weight(
            &format!("{scope}.weight"),
            &[cout, cin / groups, k, k],
            kaiming(fan_in),
        );
        let (k, s, p) = (k as i64, stride as i64, (k / 2) as i64);
        let attrs = vec![
            ("dilations", Attr::Ints(vec![1, 1])),
            ("group", Attr::Int(groups as i64)),
            ("kernel_shape", Attr::Ints(vec![k, k])),
            ("pads", Attr::Ints(vec![p, p, p, p])),
            ("strides", Attr::Ints(vec![s, s])),
        ];
        self.node("Conv", scope, &[x, &w], attrs)
    }

    /// `BatchNormalization` in inference mode. Statistics and affine parameters are random but
    /// tame (var and scale in [0.5, 1.5), mean and bias in ±0.1), so folding it changes the conv.
    pub fn batch_norm(&mut self, scope: &str, x: &str, c: usize) -> String {
        self.batch_norm_scaled(scope, x, c, 1.0)
    }

    /// [`Self::batch_norm`] with the scale multiplied by `gain`: the last BN of a residual branch
    /// is damped, as zero-init-residual training leaves it, so depth does not blow activations up.
    pub fn batch_norm_scaled(&mut self, scope: &str, x: &str, c: usize, gain: f32) -> String {
        let scale = self.weight(
            &format!("{scope}.weight"),
            &[c],
            Init::Uniform(0.5 * gain, 1.5 * gain),
        );
        let bias = self.weight(&format!("{scope}.bias"), &[c], Init::Uniform(-0.1, 0.1));
        let mean = self.weight(
            &format!("{scope}.running_mean"),
            &[c],
            Init::Uniform(-0.1, 0.1),
        );
        let var = self.weight(
            &format!("{scope}.running_var"),
            &[c],
            Init::Uniform(0.5, 1.5),
        );
        let attrs = vec![
            ("epsilon", Attr::Float(1e-5)),
            ("momentum", Attr::Float(0.9)),
        ];
        self.node(
            "BatchNormalization",
            scope,
            &[x, &scale, &bias, &mean, &var],
            attrs,
        )
    }

    pub fn relu(&mut self, scope: &str, x: &str) -> String {
        self.node("Relu", scope, &[x], vec![])
    }

    /// `Clip` with min and max given as inputs (opset ≥ 11): ReLU6 is `clip(x, 0, 6)`.
    pub fn clip(&mut self, scope: &str, x: &str, min: f32, max: f32) -> String {
        let (lo, hi) = (
            self.unique(&format!("{scope}.clip_min")),
            self.unique(&format!("{scope}.clip_max")),
        );
        let lo = self.scalar_f32(&lo, min);
        let hi = self.scalar_f32(&hi, max);
        self.node("Clip", scope, &[x, &lo, &hi], vec![])
    }

    /// A binary elementwise op (`Add`, `Sub`, `Mul`, `Div`).
    pub fn binary(&mut self, op: &str, scope: &str, a: &str, b: &str) -> String {
        self.node(op, scope, &[a, b], vec![])
    }

    pub fn add(&mut self, scope: &str, a: &str, b: &str) -> String {
        self.binary("Add", scope, a, b)
    }

    pub fn max_pool(
        &mut self,
        scope: &str,
        x: &str,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> String {
        let (k, s, p) = (k as i64, stride as i64, pad as i64);
        let attrs = vec![
            ("ceil_mode", Attr::Int(0)),
            ("dilations", Attr::Ints(vec![1, 1])),
            ("kernel_shape", Attr::Ints(vec![k, k])),
            ("pads", Attr::Ints(vec![p, p, p, p])),
            ("strides", Attr::Ints(vec![s, s])),
        ];
        self.node("MaxPool", scope, &[x], attrs)
    }

    pub fn global_avg_pool(&mut self, scope: &str, x: &str) -> String {
        self.node("GlobalAveragePool", scope, &[x], vec![])
    }

    pub fn flatten(&mut self, scope: &str, x: &str) -> String {
        self.node("Flatten", scope, &[x], vec![("axis", Attr::Int(1))])
    }

    /// A fully connected layer as `Gemm(x, W, b, transB=1)` with PyTorch's `Linear` layout
    /// (`W` is `[out, in]`) and its default init, uniform in ±1/√in.
    pub fn gemm(&mut self, scope: &str, x: &str, cin: usize, cout: usize) -> String {
        let bound = 1.0 / (cin as f32).sqrt();
        let w = self.weight(
            &format!("{scope}.weight"),
            &[cout, cin],
            Init::Uniform(-bound, bound),
        );
        let b = self.weight(
            &format!("{scope}.bias"),
            &[cout],
            Init::Uniform(-bound, bound),
        );
        let attrs = vec![
            ("alpha", Attr::Float(1.0)),
            ("beta", Attr::Float(1.0)),
            ("transB", Attr::Int(1)),
        ];
        self.node("Gemm", scope, &[x, &w, &b], attrs)
    }

    /// A fully connected layer on a rank > 2 input, as exporters write it: `MatMul` by the
    /// transposed weight `[in, out]`, then `Add` of the bias.
    pub fn linear(&mut self, scope: &str, x: &str, cin: usize, cout: usize, init: Init) -> String {
        let w = self.weight(&format!("{scope}.weight"), &[cin, cout], init);
        let b = self.weight(
            &format!("{scope}.bias"),
            &[cout],
            Init::Uniform(-0.02, 0.02),
        );
        let y = self.node("MatMul", scope, &[x, &w], vec![]);
        self.node("Add", scope, &[&b, &y], vec![])
    }

    /// `LayerNormalization` over the last axis (opset 17). Scale near 1 and bias near 0, but not
    /// exactly, so a fused kernel that drops either one is caught.
    pub fn layer_norm(&mut self, scope: &str, x: &str, dim: usize, eps: f32) -> String {
        let g = self.weight(&format!("{scope}.weight"), &[dim], Init::Uniform(0.8, 1.2));
        let b = self.weight(&format!("{scope}.bias"), &[dim], Init::Uniform(-0.1, 0.1));
        let attrs = vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps))];
        self.node("LayerNormalization", scope, &[x, &g, &b], attrs)
    }

    pub fn gather(&mut self, scope: &str, data: &str, indices: &str, axis: i64) -> String {
        self.node(
            "Gather",
            scope,
            &[data, indices],
            vec![("axis", Attr::Int(axis))],
        )
    }

    /// `Reshape` to a constant shape.
    pub fn reshape(&mut self, scope: &str, x: &str, shape: &[i64]) -> String {
        let name = self.unique(&format!("{scope}.shape"));
        let s = self.ints(&name, shape);
        self.node("Reshape", scope, &[x, &s], vec![])
    }

    pub fn transpose(&mut self, scope: &str, x: &str, perm: &[i64]) -> String {
        self.node(
            "Transpose",
            scope,
            &[x],
            vec![("perm", Attr::Ints(perm.to_vec()))],
        )
    }

    pub fn softmax(&mut self, scope: &str, x: &str, axis: i64) -> String {
        self.node("Softmax", scope, &[x], vec![("axis", Attr::Int(axis))])
    }

    pub fn cast(&mut self, scope: &str, x: &str, to: DType) -> String {
        self.node(
            "Cast",
            scope,
            &[x],
            vec![("to", Attr::Int(to.onnx_code() as i64))],
        )
    }

    /// `Unsqueeze` with axes as an input (opset ≥ 13).
    pub fn unsqueeze(&mut self, scope: &str, x: &str, axes: &[i64]) -> String {
        let a = self.unique(&format!("{scope}.unsqueeze_axes"));
        let a = self.ints(&a, axes);
        self.node("Unsqueeze", scope, &[x, &a], vec![])
    }
}

/// A tensor-typed `ValueInfoProto` with fixed dims.
pub fn value_info(name: &str, dtype: DType, shape: &[usize]) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|&d| Dimension {
            value: Some(dimension::Value::DimValue(d as i64)),
            ..Default::default()
        })
        .collect();
    let tensor = type_proto::Tensor {
        elem_type: Some(dtype.onnx_code()),
        shape: Some(TensorShapeProto { dim }),
    };
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tensor)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn attribute(name: &str, a: Attr) -> AttributeProto {
    let mut p = AttributeProto {
        name: Some(name.to_string()),
        ..Default::default()
    };
    match a {
        Attr::Int(i) => {
            p.r#type = Some(AttributeType::Int as i32);
            p.i = Some(i);
        }
        Attr::Ints(v) => {
            p.r#type = Some(AttributeType::Ints as i32);
            p.ints = v;
        }
        Attr::Float(f) => {
            p.r#type = Some(AttributeType::Float as i32);
            p.f = Some(f);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_node_names_get_exporter_suffixes() {
        let mut b = GraphBuilder::new(0);
        assert_eq!(b.add("layer1.0", "a", "b"), "/layer1/0/Add_output_0");
        assert_eq!(b.add("layer1.0", "a", "b"), "/layer1/0/Add_1_output_0");
    }
}
