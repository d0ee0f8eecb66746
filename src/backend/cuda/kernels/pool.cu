// Pooling: MaxPool and AveragePool over a 1-D to 3-D window, and the global forms (one value per
// (image, channel) plane). Semantics follow the CPU backend's `ops/pool.rs`: MaxPool skips NaN
// (an all-NaN window gives NaN); AveragePool divides by the taps inside the input, or with
// count_include_pad by those inside the input and its explicit padding (never ceil_mode's reach).


// Kernel taps [lo, hi) of output position o along dim d landing in [lo_bound, hi_bound).
__device__ __forceinline__ void taps(const Window& w, int d, int o, int lo_bound, int hi_bound, int* lo, int* hi) {
    const int origin = o * w.stride[d] - w.pad[d];
    const int dil = w.dil[d];
    int first = lo_bound - origin <= 0 ? 0 : (lo_bound - origin + dil - 1) / dil;
    int end = hi_bound - origin <= 0 ? 0 : (hi_bound - origin + dil - 1) / dil;
    first = min(first, w.k[d]);
    end = max(first, min(end, w.k[d]));
    *lo = first;
    *hi = end;
}

template <typename T>
__device__ void pool_t(i64 total, const T* x, T* y, Window w, int is_max, int count_include_pad) {
    const i64 P = (i64)w.out[0] * w.out[1] * w.out[2];
    const i64 plane = (i64)w.in[0] * w.in[1] * w.in[2];
    FOR_EACH(i, total) {
        const i64 p = i % P;
        const T* xp = x + (i / P) * plane;
        const int o[3] = {(int)(p / ((i64)w.out[2] * w.out[1])), (int)((p / w.out[2]) % w.out[1]), (int)(p % w.out[2])};
        int lo[3], hi[3];
        for (int d = 0; d < 3; ++d) taps(w, d, o[d], 0, w.in[d], &lo[d], &hi[d]);
        float best = F_NAN;
        bool found = false;
        float sum = 0.0f;
        for (int a = lo[0]; a < hi[0]; ++a) {
            const int id = o[0] * w.stride[0] - w.pad[0] + a * w.dil[0];
            for (int b = lo[1]; b < hi[1]; ++b) {
                const int ih = o[1] * w.stride[1] - w.pad[1] + b * w.dil[1];
                for (int e = lo[2]; e < hi[2]; ++e) {
                    const int iw = o[2] * w.stride[2] - w.pad[2] + e * w.dil[2];
                    const float v = to_f(xp[((i64)id * w.in[1] + ih) * w.in[2] + iw]);
                    if (is_max) {
                        if (v == v && (!found || v > best)) {
                            best = v;
                            found = true;
                        }
                    } else {
                        sum += v;
                    }
                }
            }
        }
        float r;
        if (is_max) {
            r = best;
        } else {
            i64 count = 1;
            for (int d = 0; d < 3; ++d) {
                int l, h;
                if (count_include_pad) taps(w, d, o[d], -w.pad[d], w.in[d] + w.pad_end[d], &l, &h);
                else l = lo[d], h = hi[d];
                count *= (h - l);
            }
            r = sum / (float)(count > 0 ? count : 1);
        }
        y[i] = from_f<T>(r);
    }
}

extern "C" __global__ void pool_f32(i64 total, const float* x, float* y, Window w, int is_max, int count_include_pad) { pool_t(total, x, y, w, is_max, count_include_pad); }
extern "C" __global__ void pool_f16(i64 total, const __half* x, __half* y, Window w, int is_max, int count_include_pad) { pool_t(total, x, y, w, is_max, count_include_pad); }

// Folds `v` into a running sum, or into a running max that skips what is not a value (`has` = 0:
// NaN, or a lane that saw nothing); `any` says whether the max has a value yet.
__device__ void global_pool_fold(float& acc, int& any, float v, int has, int is_max) {
    if (is_max) {
        if (has && (!any || v > acc)) acc = v, any = 1;
    } else {
        acc += v;
    }
}

// Folds the lanes of a warp into lane 0.
__device__ void global_pool_fold_warp(float& acc, int& any, int is_max) {
    for (int off = 16; off > 0; off >>= 1) {
        const float o = __shfl_down_sync(0xffffffff, acc, off);
        const int oa = __shfl_down_sync(0xffffffff, any, off);
        global_pool_fold(acc, any, o, oa, is_max);
    }
}

// One block per (image, channel) plane of `plane` elements: the mean or the max (NaN skipped).
template <typename T>
__device__ void global_pool_t(const T* x, T* y, i64 plane, int is_max) {
    __shared__ float part[32];
    __shared__ int seen[32];
    const T* xp = x + (i64)blockIdx.x * plane;
    float acc = 0.0f;
    int any = 0;
    for (i64 j = threadIdx.x; j < plane; j += blockDim.x) {
        const float v = to_f(xp[j]);
        global_pool_fold(acc, any, v, v == v, is_max);
    }
    // Warp, then block reduction.
    global_pool_fold_warp(acc, any, is_max);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = acc, seen[warp] = any;
    __syncthreads();
    if (warp == 0) {
        const int warps = (blockDim.x + 31) >> 5;
        acc = lane < warps ? part[lane] : 0.0f;
        any = lane < warps ? seen[lane] : 0;
        global_pool_fold_warp(acc, any, is_max);
        if (lane == 0) {
            float r = is_max ? (any ? acc : F_NAN) : acc / (float)plane;
            y[blockIdx.x] = from_f<T>(r);
        }
    }
}

extern "C" __global__ void global_pool_f32(const float* x, float* y, i64 plane, int is_max) { global_pool_t(x, y, plane, is_max); }
extern "C" __global__ void global_pool_f16(const __half* x, __half* y, i64 plane, int is_max) { global_pool_t(x, y, plane, is_max); }
