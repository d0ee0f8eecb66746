//! If cases: conditions known on the host (from a small integer input, from a shape), each
//! branch taken, branch constants, a nested If, and a branch output read again after the If.

use super::*;

/// Builds graphs value by value.
pub(super) struct Builder {
    pub(super) g: Graph,
}

impl Builder {
    pub(super) fn new(name: &str) -> Builder {
        Builder {
            g: Graph {
                name: name.into(),
                ..Default::default()
            },
        }
    }

    pub(super) fn value(&mut self, name: &str) -> ValueId {
        self.g.add_value(ValueInfo::named(name))
    }

    pub(super) fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> ValueId {
        let v = self.g.add_value(ValueInfo {
            name: name.into(),
            dtype: Some(dtype),
            shape: Some(shape.iter().map(|&d| Dim::Fixed(d)).collect()),
        });
        self.g.inputs.push(v);
        v
    }

    pub(super) fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        let v = self.value(name);
        self.g.initializers.insert(v, Arc::new(t));
        v
    }

    pub(super) fn node(&mut self, name: &str, op: Op, inputs: &[ValueId]) -> ValueId {
        let out = self.value(&format!("{name}_out"));
        self.g.nodes.push(Node {
            name: name.into(),
            op,
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: vec![Some(out)],
        });
        out
    }

    /// An If over `cond` whose branches read the outer values `then_caps` / `else_caps`.
    fn if_(&mut self, name: &str, cond: ValueId, then: Branch, els: Branch) -> ValueId {
        let mut inputs = vec![cond];
        inputs.extend(&then.outer);
        inputs.extend(&els.outer);
        let op = Op::If(If {
            then_branch: Box::new(then.g),
            else_branch: Box::new(els.g),
        });
        self.node(name, op, &inputs)
    }
}

/// A branch graph and the outer values its captures read.
struct Branch {
    g: Graph,
    outer: Vec<ValueId>,
}

/// A branch with one capture (`x` outside) and one output, built by `body` from the captured value.
fn branch(name: &str, x: ValueId, body: impl FnOnce(&mut Builder, ValueId) -> ValueId) -> Branch {
    let mut b = Builder::new(name);
    let inner = b.value(&format!("{name}_x"));
    b.g.captures = vec![inner];
    let out = body(&mut b, inner);
    b.g.outputs = vec![out];
    Branch {
        g: b.g,
        outer: vec![x],
    }
}

fn bin(k: BinaryKind) -> Op {
    Op::Binary(Binary { kind: k })
}

pub(super) fn model(b: Builder, out: ValueId, name: &str, feed: HashMap<String, Tensor>) -> Case {
    let mut g = b.g;
    g.outputs = vec![out];
    Case {
        name: name.into(),
        source: None,
        model: Model {
            graph: g,
            opsets: BTreeMap::from([(String::new(), 17)]),
            ..Default::default()
        },
        feed,
        fp16: false,
    }
}

/// `y = If(n > 0, relu(x) · 2, -x) + x`, with `n` an int64 scalar input fed `n`; the then
/// branch holds a nested If on x's first dim.
fn on_input(n: i64) -> Case {
    let mut b = Builder::new("if_on_input");
    let x = b.input("x", DType::F32, &[2, 3]);
    let nv = b.input("n", DType::I64, &[]);
    let zero = b.constant("zero", Tensor::scalar(0i64));
    let cond = b.node("positive", bin(BinaryKind::Greater), &[nv, zero]);
    let then = branch("then", x, |t, xi| {
        let r = t.node("relu", unary(UnaryKind::Relu), &[xi]);
        let two = t.constant("two", Tensor::scalar(2.0f32));
        let doubled = t.node("double", bin(BinaryKind::Mul), &[r, two]);
        // A nested If whose condition comes from a shape: x has 2 rows, so `doubled` passes.
        let shape = t.node(
            "shape",
            Op::Shape(ShapeOf {
                start: 0,
                end: None,
            }),
            &[xi],
        );
        let idx = t.constant("idx", Tensor::scalar(0i64));
        let rows = t.node("rows", Op::Gather(Gather { axis: 0 }), &[shape, idx]);
        let expect = t.constant("two_rows", Tensor::scalar(2i64));
        let c = t.node("two_rows?", bin(BinaryKind::Equal), &[rows, expect]);
        let keep = branch("keep", doubled, |k, d| k.node("same", Op::Identity, &[d]));
        let drop = branch("drop", doubled, |k, d| {
            k.node("negate", unary(UnaryKind::Neg), &[d])
        });
        t.if_("inner_if", c, keep, drop)
    });
    let els = branch("else", x, |e, xi| {
        e.node("neg", unary(UnaryKind::Neg), &[xi])
    });
    let y = b.if_("if", cond, then, els);
    let out = b.node("add", bin(BinaryKind::Add), &[y, x]);
    let feed = HashMap::from([
        (
            "x".to_string(),
            random_tensor(DType::F32, &[2, 3], 3).unwrap(),
        ),
        ("n".to_string(), Tensor::scalar(n)),
    ]);
    let which = if n > 0 { "then" } else { "else" };
    model(b, out, &format!("If on an int64 input ({which})"), feed)
}

/// `If(x > 0, x, -x)` on a float input: the condition is computed on the device.
pub fn on_device_condition() -> Case {
    let mut b = Builder::new("if_on_device");
    let x = b.input("x", DType::F32, &[1]);
    let zero = b.constant("zero", Tensor::from_vec(vec![1], vec![0.0f32]).unwrap());
    let cond = b.node("positive", bin(BinaryKind::Greater), &[x, zero]);
    let then = branch("then", x, |t, xi| t.node("same", Op::Identity, &[xi]));
    let els = branch("else", x, |e, xi| {
        e.node("neg", unary(UnaryKind::Neg), &[xi])
    });
    let y = b.if_("device_if", cond, then, els);
    let feed = HashMap::from([(
        "x".to_string(),
        Tensor::from_vec(vec![1], vec![-2.0f32]).unwrap(),
    )]);
    model(b, y, "If on a device condition", feed)
}

pub fn cases() -> Vec<Case> {
    vec![on_input(16_000), on_input(-1)]
}
