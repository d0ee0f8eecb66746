// Recurrent cells of LSTM, GRU and RNN (lower/recurrent.rs). The input projection X·Wᵀ of every
// time step is one GEMM before the loop and each step's recurrence h·Rᵀ one GEMM, so what is left
// per step is elementwise: one launch of `rnn_cell` over batch × hidden, which applies the gate
// equations, updates the state in place and writes the step's row of Y. GRU without
// linear_before_reset needs r ⊙ h before its second recurrent GEMM: `gru_reset`.
//
// Layouts, in elements (the lowering passes pointers already offset to the step and direction):
// - xw: row b of the step at xw + b·xw_b, gates·hidden wide (gate order as in W);
// - hr: [batch, gates·hidden], or null when h is all zeros (first step, no initial_h);
// - bias: Wb then Rb, gates·hidden each, or null; peep: P's i, o, f blocks, or null;
// - h_in, c_in: the state before the step (null: zeros), h, c: after it, row b at b·st_b; the
//   cell runs in place (h_in == h) after the first step;
// - y: row b at y + b·y_b, or null when Y is not wanted; lens: int32 [batch] or null.
// Math runs in f32 as in common.cuh; the CPU backend's `rnn/cell.rs` is the reference.

#define RNN_KIND_LSTM 0
#define RNN_KIND_GRU 1
#define RNN_KIND_RNN 2

#define RNN_FLAG_INPUT_FORGET 1
#define RNN_FLAG_LINEAR_BEFORE_RESET 2

// The two activations of the `activations` attribute that apply_act has no code for.
#define RNN_ACT_AFFINE 100
#define RNN_ACT_SCALED_TANH 101

__device__ __forceinline__ float rnn_act(int code, float x, float a, float b) {
    switch (code) {
    case RNN_ACT_AFFINE: return a * x + b;
    case RNN_ACT_SCALED_TANH: return a * tanhf(b * x);
    default: return apply_act(code, x, a, b);
    }
}

// The `clip` attribute (+inf when absent); NaN passes through, as on the CPU.
__device__ __forceinline__ float rnn_clip(float x, float c) { return x > c ? c : (x < -c ? -c : x); }

__device__ __forceinline__ int rnn_gates(int kind) {
    return kind == RNN_KIND_LSTM ? 4 : (kind == RNN_KIND_GRU ? 3 : 1);
}

template <typename T>
__device__ __forceinline__ float opt_at(const T* p, i64 i) { return p ? to_f(p[i]) : 0.0f; }

template <typename T>
__device__ void rnn_cell_t(int kind, int flags, i64 n, i64 hs, i64 t, const T* xw, i64 xw_b, const T* hr,
                           const T* bias, const T* peep, const int* lens, const T* h_in, const T* c_in, T* h,
                           T* c, i64 st_b, T* y, i64 y_b, int f, float fa, float fb, int g, float ga, float gb,
                           int ha, float haa, float hab, float clip) {
    const i64 gh = rnn_gates(kind) * hs;
    FOR_EACH(i, n) {
        const i64 b = i / hs, j = i - b * hs;
        const i64 s = b * st_b + j;
        const float h_prev = opt_at(h_in, s);
        const float c_prev = opt_at(c_in, s);
        if (lens && t >= (i64)lens[b]) {
            // Past this sequence's end: Y is zero and the state stays as it was.
            if (y) y[b * y_b + j] = from_f<T>(0.0f);
            if (h != h_in) h[s] = from_f<T>(h_prev);
            if (c && c != c_in) c[s] = from_f<T>(c_prev);
            continue;
        }
        const T* x = xw + b * xw_b;
        const T* r = hr ? hr + b * gh : nullptr;
        // Input projection plus Wb of gate k, Rb of gate k, recurrence of gate k.
        auto xb = [&](int k) { return to_f(x[k * hs + j]) + opt_at(bias, k * hs + j); };
        auto rb = [&](int k) { return opt_at(bias, gh + k * hs + j); };
        auto rec = [&](int k) { return opt_at(r, k * hs + j); };
        auto pre = [&](int k) { return xb(k) + rec(k) + rb(k); };
        float h_new;
        if (kind == RNN_KIND_LSTM) {
            const float i_g = rnn_act(f, rnn_clip(pre(0) + opt_at(peep, j) * c_prev, clip), fa, fb);
            const float f_g = (flags & RNN_FLAG_INPUT_FORGET)
                                  ? 1.0f - i_g
                                  : rnn_act(f, rnn_clip(pre(2) + opt_at(peep, 2 * hs + j) * c_prev, clip), fa, fb);
            const float cand = rnn_act(g, rnn_clip(pre(3), clip), ga, gb);
            const float c_new = f_g * c_prev + i_g * cand;
            const float o_g = rnn_act(f, rnn_clip(pre(1) + opt_at(peep, hs + j) * c_new, clip), fa, fb);
            h_new = o_g * rnn_act(ha, c_new, haa, hab);
            c[s] = from_f<T>(c_new);
        } else if (kind == RNN_KIND_GRU) {
            const float z = rnn_act(f, rnn_clip(pre(0), clip), fa, fb);
            float hh;
            if (flags & RNN_FLAG_LINEAR_BEFORE_RESET) {
                const float rg = rnn_act(f, rnn_clip(pre(1), clip), fa, fb);
                hh = rnn_act(g, rnn_clip(xb(2) + rg * (rec(2) + rb(2)), clip), ga, gb);
            } else {
                // rec(2) is already (r ⊙ h)·Rhᵀ, from gru_reset and the second GEMM.
                hh = rnn_act(g, rnn_clip(pre(2), clip), ga, gb);
            }
            h_new = (1.0f - z) * hh + z * h_prev;
        } else {
            h_new = rnn_act(f, rnn_clip(pre(0), clip), fa, fb);
        }
        h[s] = from_f<T>(h_new);
        if (y) y[b * y_b + j] = from_f<T>(h_new);
    }
}

#define RNN_CELL_ARGS(T)                                                                                     \
    int kind, int flags, i64 n, i64 hs, i64 t, const T *xw, i64 xw_b, const T *hr, const T *bias,           \
        const T *peep, const int *lens, const T *h_in, const T *c_in, T *h, T *c, i64 st_b, T *y, i64 y_b,   \
        int f, float fa, float fb, int g, float ga, float gb, int ha, float haa, float hab, float clip
#define RNN_CELL_CALL                                                                                        \
    rnn_cell_t(kind, flags, n, hs, t, xw, xw_b, hr, bias, peep, lens, h_in, c_in, h, c, st_b, y, y_b, f, fa, \
               fb, g, ga, gb, ha, haa, hab, clip)
extern "C" __global__ void rnn_cell_f32(RNN_CELL_ARGS(float)) { RNN_CELL_CALL; }
extern "C" __global__ void rnn_cell_f16(RNN_CELL_ARGS(__half)) { RNN_CELL_CALL; }

// GRU without linear_before_reset: out = r ⊙ h_in for the second recurrent GEMM, where
// r = f(xw_r + Wb_r + Rb_r + (h·Rrᵀ)) and hr holds the first GEMM's z and r columns.
template <typename T>
__device__ void gru_reset_t(i64 n, i64 hs, const T* xw, i64 xw_b, const T* hr, const T* bias, const T* h_in,
                            i64 st_b, T* out, int f, float fa, float fb, float clip) {
    const i64 gh = 3 * hs;
    FOR_EACH(i, n) {
        const i64 b = i / hs, j = i - b * hs;
        const float pre = to_f(xw[b * xw_b + hs + j]) + opt_at(bias, hs + j) + to_f(hr[b * gh + hs + j]) +
                          opt_at(bias, gh + hs + j);
        const float r = rnn_act(f, rnn_clip(pre, clip), fa, fb);
        out[i] = from_f<T>(r * to_f(h_in[b * st_b + j]));
    }
}

#define GRU_RESET_ARGS(T)                                                                                    \
    i64 n, i64 hs, const T *xw, i64 xw_b, const T *hr, const T *bias, const T *h_in, i64 st_b, T *out,     \
        int f, float fa, float fb, float clip
extern "C" __global__ void gru_reset_f32(GRU_RESET_ARGS(float)) { gru_reset_t(n, hs, xw, xw_b, hr, bias, h_in, st_b, out, f, fa, fb, clip); }
extern "C" __global__ void gru_reset_f16(GRU_RESET_ARGS(__half)) { gru_reset_t(n, hs, xw, xw_b, hr, bias, h_in, st_b, out, f, fa, fb, clip); }
