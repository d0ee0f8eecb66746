// Normalizations: Softmax / LogSoftmax along one axis, LayerNormalization, BatchNormalization
// (inference form) and InstanceNormalization. Statistics are accumulated in f32.

// One block per row. Row r = (o, in) has `len` elements `inner` apart, starting at
// o·len·inner + in. Safe in place (x == y): each element is read and then written by one thread.
template <typename T>
__device__ void softmax_t(const T* x, T* y, i64 len, i64 inner, int log_mode) {
    const i64 row = blockIdx.x;
    const i64 base = (row / inner) * len * inner + row % inner;
    float m = -F_INF;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) m = fmaxf(m, to_f(x[base + j * inner]));
    m = block_reduce(RED_MAX, m);
    float s = 0.0f;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += expf(to_f(x[base + j * inner]) - m);
    s = block_reduce(RED_SUM, s);
    const float log_s = logf(s);
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
        const float v = to_f(x[base + j * inner]) - m;
        y[base + j * inner] = from_f<T>(log_mode ? v - log_s : expf(v) / s);
    }
}

extern "C" __global__ void softmax_f32(const float* x, float* y, i64 len, i64 inner, int log_mode) { softmax_t(x, y, len, inner, log_mode); }
extern "C" __global__ void softmax_f16(const __half* x, __half* y, i64 len, i64 inner, int log_mode) { softmax_t(x, y, len, inner, log_mode); }

// The mean and 1 / sqrt(variance + eps) of the `n` contiguous elements at `x`, computed by the
// whole block (every thread gets both). Two passes: the variance sums squared deviations from the
// mean, which keeps the precision E[x²] − mean² loses on rows with a large mean.
template <typename T>
__device__ float2 row_moments(const T* x, i64 n, float eps) {
    float s = 0.0f;
    for (i64 j = threadIdx.x; j < n; j += blockDim.x) s += to_f(x[j]);
    const float mean = block_reduce(RED_SUM, s) / (float)n;
    float q = 0.0f;
    for (i64 j = threadIdx.x; j < n; j += blockDim.x) {
        const float d = to_f(x[j]) - mean;
        q += d * d;
    }
    return make_float2(mean, rsqrtf(block_reduce(RED_SUM, q) / (float)n + eps));
}

// One block per row of `cols` contiguous elements: (x − mean) / sqrt(var + eps) · scale + bias,
// scale and bias indexed modulo their lengths (1 or cols); bias may be null.
template <typename T>
__device__ void layer_norm_t(const T* x, const T* scale, const T* bias, T* y, i64 cols, i64 scale_n, i64 bias_n, float eps) {
    const T* xr = x + (i64)blockIdx.x * cols;
    T* yr = y + (i64)blockIdx.x * cols;
    const float2 m = row_moments(xr, cols, eps);
    const float mean = m.x, inv = m.y;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = (to_f(xr[j]) - mean) * inv * to_f(scale[j % scale_n]);
        if (bias) v += to_f(bias[j % bias_n]);
        yr[j] = from_f<T>(v);
    }
}

extern "C" __global__ void layer_norm_f32(const float* x, const float* scale, const float* bias, float* y, i64 cols, i64 scale_n, i64 bias_n, float eps) { layer_norm_t(x, scale, bias, y, cols, scale_n, bias_n, eps); }
extern "C" __global__ void layer_norm_f16(const __half* x, const __half* scale, const __half* bias, __half* y, i64 cols, i64 scale_n, i64 bias_n, float eps) { layer_norm_t(x, scale, bias, y, cols, scale_n, bias_n, eps); }

// BatchNormalization at inference: channel c = (i / inner) % channels.
template <typename T>
__device__ void batch_norm_t(i64 n, const T* x, const T* scale, const T* bias, const T* mean, const T* var, T* y, i64 inner, i64 channels, float eps) {
    FOR_EACH(i, n) {
        const i64 c = (i / inner) % channels;
        const float v = (to_f(x[i]) - to_f(mean[c])) * rsqrtf(to_f(var[c]) + eps);
        y[i] = from_f<T>(v * to_f(scale[c]) + to_f(bias[c]));
    }
}

#define BATCH_NORM_ARGS(T) i64 n, const T* x, const T* scale, const T* bias, const T* mean, const T* var, T* y, i64 inner, i64 channels, float eps
extern "C" __global__ void batch_norm_f32(BATCH_NORM_ARGS(float)) { batch_norm_t(n, x, scale, bias, mean, var, y, inner, channels, eps); }
extern "C" __global__ void batch_norm_f16(BATCH_NORM_ARGS(__half)) { batch_norm_t(n, x, scale, bias, mean, var, y, inner, channels, eps); }

// InstanceNormalization: one block per (image, channel) plane of `plane` elements.
template <typename T>
__device__ void instance_norm_t(const T* x, const T* scale, const T* bias, T* y, i64 plane, i64 channels, float eps) {
    const i64 c = blockIdx.x % channels;
    const T* xp = x + (i64)blockIdx.x * plane;
    T* yp = y + (i64)blockIdx.x * plane;
    const float2 m = row_moments(xp, plane, eps);
    const float mean = m.x, inv = m.y;
    const float g = to_f(scale[c]), b = to_f(bias[c]);
    for (i64 j = threadIdx.x; j < plane; j += blockDim.x) yp[j] = from_f<T>((to_f(xp[j]) - mean) * inv * g + b);
}

extern "C" __global__ void instance_norm_f32(const float* x, const float* scale, const float* bias, float* y, i64 plane, i64 channels, float eps) { instance_norm_t(x, scale, bias, y, plane, channels, eps); }
extern "C" __global__ void instance_norm_f16(const __half* x, const __half* scale, const __half* bias, __half* y, i64 plane, i64 channels, float eps) { instance_norm_t(x, scale, bias, y, plane, channels, eps); }
