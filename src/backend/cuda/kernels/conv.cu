// The convolution kernels around the cuBLASLt GEMMs: im2col (Conv), col2im (ConvTranspose) and the
// direct depthwise convolution, whose fused epilogue (bias, residual, activation) runs in the same
// pass. 1-D and 2-D windows are 3-D ones with leading extents of 1.

__device__ __forceinline__ i64 volume(const int* d) { return (i64)d[0] * d[1] * d[2]; }

// col[img][c·KK + k][p] = x[img][c][source(p, k)] (0 in the padding), for `imgs` images of
// `channels` channels each, x_img elements apart. A thread fills VEC consecutive columns of a
// row, stepping the output position (and, past a row's end, the tap) instead of dividing anew.
template <typename T>
__device__ void im2col_t(i64 total, const T* x, T* col, i64 x_img, int channels, Window w) {
    const i64 P = volume(w.out);
    const int KK = w.k[0] * w.k[1] * w.k[2];
    const i64 K = (i64)channels * KK;
    const i64 plane = volume(w.in);
    FOR_EACH_CHUNK(i0, total) {
        const int count = (int)min((i64)VEC, total - i0);
        i64 row = i0 / P;
        const i64 p = i0 - row * P;
        int ow = (int)(p % w.out[2]), oh = (int)((p / w.out[2]) % w.out[1]);
        int od = (int)(p / ((i64)w.out[2] * w.out[1]));
        const T* src;
        int kw, kh, kd;
        auto tap = [&](i64 r) {
            const i64 img = r / K;
            const int kk = (int)(r - img * K);
            const int c = kk / KK, kr = kk - c * KK;
            kw = kr % w.k[2];
            kh = (kr / w.k[2]) % w.k[1];
            kd = kr / (w.k[2] * w.k[1]);
            src = x + img * x_img + c * plane;
        };
        tap(row);
        float v[VEC];
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
            v[j] = 0.0f;
            const int id = od * w.stride[0] - w.pad[0] + kd * w.dil[0];
            const int ih = oh * w.stride[1] - w.pad[1] + kh * w.dil[1];
            const int iw = ow * w.stride[2] - w.pad[2] + kw * w.dil[2];
            if (j < count && id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1] && iw >= 0 && iw < w.in[2]) {
                v[j] = to_f(src[((i64)id * w.in[1] + ih) * w.in[2] + iw]);
            }
            if (++ow == w.out[2]) {
                ow = 0;
                if (++oh == w.out[1]) {
                    oh = 0;
                    if (++od == w.out[0]) {
                        od = 0;
                        if (j + 1 < count) tap(++row);
                    }
                }
            }
        }
        store_vec(col + i0, count, v);
    }
}

extern "C" __global__ void im2col_f32(i64 total, const float* x, float* col, i64 x_img, int channels, Window w) { im2col_t(total, x, col, x_img, channels, w); }
extern "C" __global__ void im2col_f16(i64 total, const __half* x, __half* col, i64 x_img, int channels, Window w) { im2col_t(total, x, col, x_img, channels, w); }

// ConvTranspose's scatter written as a gather: y[c][o] (+)= Σ col[c·KK + k][i] over the kernel
// taps k whose forward window maps input position i onto o. Here `w` is the forward window from
// y (w.in) to x (w.out). Adds onto y when `accumulate` (y pre-filled with the bias).
template <typename T>
__device__ void col2im_t(i64 total, const T* col, T* y, int channels, Window w, int accumulate) {
    const i64 P = volume(w.out);
    const i64 KK = volume(w.k);
    const i64 plane = volume(w.in);
    FOR_EACH(i, total) {
        const i64 o = i % plane;
        const int c = (int)((i / plane) % channels);
        const i64 img = i / (plane * channels);
        const int yw = (int)(o % w.in[2]), yh = (int)((o / w.in[2]) % w.in[1]);
        const int yd = (int)(o / ((i64)w.in[2] * w.in[1]));
        float acc = accumulate ? to_f(y[i]) : 0.0f;
        for (int kd = 0; kd < w.k[0]; ++kd) {
            int td = yd + w.pad[0] - kd * w.dil[0];
            if (td < 0 || td % w.stride[0]) continue;
            td /= w.stride[0];
            if (td >= w.out[0]) continue;
            for (int kh = 0; kh < w.k[1]; ++kh) {
                int th = yh + w.pad[1] - kh * w.dil[1];
                if (th < 0 || th % w.stride[1]) continue;
                th /= w.stride[1];
                if (th >= w.out[1]) continue;
                for (int kw = 0; kw < w.k[2]; ++kw) {
                    int tw = yw + w.pad[2] - kw * w.dil[2];
                    if (tw < 0 || tw % w.stride[2]) continue;
                    tw /= w.stride[2];
                    if (tw >= w.out[2]) continue;
                    const i64 row = (i64)c * KK + ((i64)kd * w.k[1] + kh) * w.k[2] + kw;
                    const i64 at = ((i64)td * w.out[1] + th) * w.out[2] + tw;
                    acc += to_f(col[(img * channels * KK + row) * P + at]);
                }
            }
        }
        y[i] = from_f<T>(acc);
    }
}

extern "C" __global__ void col2im_f32(i64 total, const float* col, float* y, int channels, Window w, int accumulate) { col2im_t(total, col, y, channels, w, accumulate); }
extern "C" __global__ void col2im_f16(i64 total, const __half* col, __half* y, int channels, Window w, int accumulate) { col2im_t(total, col, y, channels, w, accumulate); }

// Depthwise convolution (one input channel per group, `mult` output channels per input channel)
// with the fused epilogue: bias (may be null), residual (may be null), activation `code`.
template <typename T>
__device__ void depthwise_t(i64 total, const T* x, const T* wt, const T* bias, const T* res, T* y,
                            int in_channels, int mult, Window w, int code, float a, float b) {
    const i64 P = volume(w.out);
    const i64 KK = volume(w.k);
    const i64 plane = volume(w.in);
    const int out_channels = in_channels * mult;
    FOR_EACH(i, total) {
        const i64 p = i % P;
        const int m = (int)((i / P) % out_channels);
        const i64 img = i / (P * out_channels);
        const int c = m / mult;
        const int ow = (int)(p % w.out[2]), oh = (int)((p / w.out[2]) % w.out[1]);
        const int od = (int)(p / ((i64)w.out[2] * w.out[1]));
        const T* xp = x + (img * in_channels + c) * plane;
        const T* wp = wt + (i64)m * KK;
        float acc = bias ? to_f(bias[m]) : 0.0f;
        for (int kd = 0; kd < w.k[0]; ++kd) {
            const int id = od * w.stride[0] - w.pad[0] + kd * w.dil[0];
            if (id < 0 || id >= w.in[0]) continue;
            for (int kh = 0; kh < w.k[1]; ++kh) {
                const int ih = oh * w.stride[1] - w.pad[1] + kh * w.dil[1];
                if (ih < 0 || ih >= w.in[1]) continue;
                for (int kw = 0; kw < w.k[2]; ++kw) {
                    const int iw = ow * w.stride[2] - w.pad[2] + kw * w.dil[2];
                    if (iw < 0 || iw >= w.in[2]) continue;
                    acc += to_f(xp[((i64)id * w.in[1] + ih) * w.in[2] + iw]) *
                           to_f(wp[((i64)kd * w.k[1] + kh) * w.k[2] + kw]);
                }
            }
        }
        if (res) acc += to_f(res[i]);
        y[i] = from_f<T>(apply_act(code, acc, a, b));
    }
}

#define DEPTHWISE_ARGS(T) i64 total, const T* x, const T* wt, const T* bias, const T* res, T* y, int in_channels, int mult, Window w, int code, float a, float b
extern "C" __global__ void depthwise_f32(DEPTHWISE_ARGS(float)) { depthwise_t(total, x, wt, bias, res, y, in_channels, mult, w, code, a, b); }
extern "C" __global__ void depthwise_f16(DEPTHWISE_ARGS(__half)) { depthwise_t(total, x, wt, bias, res, y, in_channels, mult, w, code, a, b); }
