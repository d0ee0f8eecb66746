//! A BERT encoder (Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
//! Language Understanding", 2018), bert-base shape by default, written node for node the way
//! exporters write Hugging Face's `BertModel`: MatMul+Add projections, Reshape/Transpose to heads,
//! the additive mask `(1 - mask) · -10000`, GELU as its erf formula, and LayerNormalization
//! (opset 17). Inputs are int64 `input_ids`, `attention_mask`, `token_type_ids` of `[batch, seq]`;
//! outputs `last_hidden_state` `[batch, seq, hidden]` and `pooler_output` `[batch, hidden]`.

use super::builder::GraphBuilder;
use super::weights::Init;
use crate::tensor::{DType, Tensor};

/// The hyper-parameters of one BERT.
#[derive(Clone, Debug)]
pub struct BertConfig {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
}

impl BertConfig {
    /// bert-base-uncased: 110 M parameters.
    pub fn base() -> BertConfig {
        BertConfig {
            hidden: 768,
            heads: 12,
            intermediate: 3072,
            layers: 12,
            vocab: 30522,
            max_positions: 512,
            type_vocab: 2,
        }
    }
}

/// BERT's `initializer_range`: every projection and embedding is drawn with this std.
const INIT: Init = Init::Std(0.02);
/// Query and key projections are drawn wider than `INIT`: at std 0.02 the attention scores have
/// std 0.3 and softmax is nearly uniform (max 0.03 over 96 tokens), which hides attention bugs; at
/// 0.05 the scores have std about 2 and each head attends to a few tokens, as trained heads do.
const QK_INIT: Init = Init::Std(0.05);
/// BERT's `layer_norm_eps`.
const LN_EPS: f32 = 1e-12;

/// Scalar constants shared by every layer.
struct Consts {
    sqrt_head_dim: String,
    sqrt2: String,
    one: String,
    half: String,
}

/// Writes the encoder for `batch` sequences of `seq` tokens (`seq` ≤ `max_positions`).
pub fn bert(g: &mut GraphBuilder, cfg: &BertConfig, batch: usize, seq: usize) {
    let ids = g.input("input_ids", DType::I64, &[batch, seq]);
    let mask = g.input("attention_mask", DType::I64, &[batch, seq]);
    let types = g.input("token_type_ids", DType::I64, &[batch, seq]);
    let h = embeddings(g, cfg, &ids, &types, seq);

    // get_extended_attention_mask: [N, S] → [N, 1, 1, S], 0 where attended, -10000 where masked.
    let m = g.unsqueeze("", &mask, &[1, 2]);
    let m = g.cast("", &m, DType::F32);
    let one = g.scalar_f32("one", 1.0);
    let m = g.binary("Sub", "", &one, &m);
    let big = g.scalar_f32("mask_fill", -10000.0);
    let mask = g.binary("Mul", "", &m, &big);

    let consts = Consts {
        sqrt_head_dim: g.scalar_f32("sqrt_head_dim", ((cfg.hidden / cfg.heads) as f32).sqrt()),
        sqrt2: g.scalar_f32("sqrt2", std::f32::consts::SQRT_2),
        one,
        half: g.scalar_f32("half", 0.5),
    };
    let mut h = h;
    for i in 0..cfg.layers {
        h = layer(
            g,
            cfg,
            &consts,
            &format!("encoder.layer.{i}"),
            &h,
            &mask,
            batch,
            seq,
        );
    }

    // Pooler: the first token's state through a dense layer and tanh.
    let zero = g.tensor("first_token", Ok(Tensor::scalar(0i64)));
    let first = g.gather("pooler", &h, &zero, 1);
    let p = g.gemm("pooler.dense", &first, cfg.hidden, cfg.hidden);
    let p = g.node("Tanh", "pooler.activation", &[&p], vec![]);
    g.output(
        &h,
        "last_hidden_state",
        DType::F32,
        &[batch, seq, cfg.hidden],
    );
    g.output(&p, "pooler_output", DType::F32, &[batch, cfg.hidden]);
}

/// Word + token type + position embeddings, then LayerNormalization.
fn embeddings(
    g: &mut GraphBuilder,
    cfg: &BertConfig,
    ids: &str,
    types: &str,
    seq: usize,
) -> String {
    let s = "embeddings";
    let words = g.weight(
        "embeddings.word_embeddings.weight",
        &[cfg.vocab, cfg.hidden],
        INIT,
    );
    let positions = g.weight(
        "embeddings.position_embeddings.weight",
        &[cfg.max_positions, cfg.hidden],
        INIT,
    );
    let type_table = g.weight(
        "embeddings.token_type_embeddings.weight",
        &[cfg.type_vocab, cfg.hidden],
        INIT,
    );
    // The position_ids buffer sliced to `seq`, which an export with fixed shapes folds to a constant.
    let pos_ids = g.tensor(
        "embeddings.position_ids",
        Tensor::from_vec(vec![1, seq], (0..seq as i64).collect()),
    );
    let w = g.gather(&format!("{s}.word_embeddings"), &words, ids, 0);
    let t = g.gather(&format!("{s}.token_type_embeddings"), &type_table, types, 0);
    let e = g.add(s, &w, &t);
    let p = g.gather(&format!("{s}.position_embeddings"), &positions, &pos_ids, 0);
    let e = g.add(s, &e, &p);
    g.layer_norm(&format!("{s}.LayerNorm"), &e, cfg.hidden, LN_EPS)
}

/// One encoder layer: self-attention with residual + LayerNorm, then the FFN with residual +
/// LayerNorm.
#[allow(clippy::too_many_arguments)]
fn layer(
    g: &mut GraphBuilder,
    cfg: &BertConfig,
    c: &Consts,
    scope: &str,
    h: &str,
    mask: &str,
    n: usize,
    seq: usize,
) -> String {
    let (hid, heads) = (cfg.hidden, cfg.heads);
    let dh = hid / heads;
    let heads_shape = [n as i64, seq as i64, heads as i64, dh as i64];

    let sa = format!("{scope}.attention.self");
    let q = g.linear(&format!("{sa}.query"), h, hid, hid, QK_INIT);
    let k = g.linear(&format!("{sa}.key"), h, hid, hid, QK_INIT);
    let v = g.linear(&format!("{sa}.value"), h, hid, hid, INIT);
    // [N, S, H] → [N, heads, S, dh]; K goes straight to [N, heads, dh, S] for QKᵀ.
    let q = g.reshape(&sa, &q, &heads_shape);
    let q = g.transpose(&sa, &q, &[0, 2, 1, 3]);
    let k = g.reshape(&sa, &k, &heads_shape);
    let k = g.transpose(&sa, &k, &[0, 2, 3, 1]);
    let v = g.reshape(&sa, &v, &heads_shape);
    let v = g.transpose(&sa, &v, &[0, 2, 1, 3]);
    let scores = g.node("MatMul", &sa, &[&q, &k], vec![]);
    let scores = g.binary("Div", &sa, &scores, &c.sqrt_head_dim);
    let scores = g.add(&sa, &scores, mask);
    let probs = g.softmax(&sa, &scores, -1);
    let ctx = g.node("MatMul", &sa, &[&probs, &v], vec![]);
    let ctx = g.transpose(&sa, &ctx, &[0, 2, 1, 3]);
    let ctx = g.reshape(&sa, &ctx, &[n as i64, seq as i64, hid as i64]);

    let ao = format!("{scope}.attention.output");
    let a = g.linear(&format!("{ao}.dense"), &ctx, hid, hid, INIT);
    let a = g.add(&ao, &a, h);
    let a = g.layer_norm(&format!("{ao}.LayerNorm"), &a, hid, LN_EPS);

    let inter = format!("{scope}.intermediate");
    let f = g.linear(&format!("{inter}.dense"), &a, hid, cfg.intermediate, INIT);
    let f = gelu_erf(g, c, &format!("{inter}.intermediate_act_fn"), &f);
    let out = format!("{scope}.output");
    let f = g.linear(&format!("{out}.dense"), &f, cfg.intermediate, hid, INIT);
    let f = g.add(&out, &f, &a);
    g.layer_norm(&format!("{out}.LayerNorm"), &f, hid, LN_EPS)
}

/// GELU as `x · 0.5 · (1 + erf(x / √2))`, the five nodes older exporters write (no `Gelu` op).
fn gelu_erf(g: &mut GraphBuilder, c: &Consts, scope: &str, x: &str) -> String {
    let y = g.binary("Div", scope, x, &c.sqrt2);
    let y = g.node("Erf", scope, &[&y], vec![]);
    let y = g.add(scope, &y, &c.one);
    let y = g.binary("Mul", scope, x, &y);
    g.binary("Mul", scope, &y, &c.half)
}
