//! Recurrent layers: RNN, GRU, LSTM.

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RnnKind {
    Lstm,
    Gru,
    Rnn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RnnDirection {
    Forward,
    Reverse,
    Bidirectional,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Affine { alpha: f32, beta: f32 },
    LeakyRelu { alpha: f32 },
    ThresholdedRelu { alpha: f32 },
    ScaledTanh { alpha: f32, beta: f32 },
    HardSigmoid { alpha: f32, beta: f32 },
    Elu { alpha: f32 },
    Softsign,
    Softplus,
}

/// LSTM, GRU and RNN share their attribute set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rnn {
    pub kind: RnnKind,
    pub hidden_size: usize,
    pub direction: RnnDirection,
    /// Activations per direction, in the spec's order (LSTM f,g,h; GRU f,g; RNN f), already
    /// defaulted by import.
    pub activations: Vec<Activation>,
    pub clip: Option<f32>,
    /// `layout = 1`: batch-major inputs and outputs.
    pub batch_major: bool,
    /// GRU only.
    pub linear_before_reset: bool,
    /// LSTM only.
    pub input_forget: bool,
}
