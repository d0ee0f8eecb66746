// Reductions (ReduceSum … ReduceSumSquare) over any set of axes. The host splits the input's
// dims into kept ones (the output's, with their input strides `ks`) and reduced ones (`rshape`,
// `rs`, R elements in all). Few reduced elements: one thread per output; many: one block per
// output. Floats accumulate in f32, integers in int64.

#define REDUCE_SUM 0
#define REDUCE_MEAN 1
#define REDUCE_MAX 2
#define REDUCE_MIN 3
#define REDUCE_PROD 4
#define REDUCE_L1 5
#define REDUCE_L2 6
#define REDUCE_LOG_SUM 7
#define REDUCE_LOG_SUM_EXP 8
#define REDUCE_SUM_SQUARE 9

__device__ __forceinline__ int how_of(int op) {
    switch (op) {
    case REDUCE_MAX: return RED_MAX;
    case REDUCE_MIN: return RED_MIN;
    case REDUCE_PROD: return RED_PROD;
    default: return RED_SUM;
    }
}

// What each element contributes (m: the maximum, for a stable LogSumExp).
__device__ __forceinline__ float contribution(int op, float v, float m) {
    switch (op) {
    case REDUCE_L1: return fabsf(v);
    case REDUCE_L2:
    case REDUCE_SUM_SQUARE: return v * v;
    case REDUCE_LOG_SUM_EXP: return expf(v - m);
    default: return v;
    }
}

__device__ __forceinline__ float finish(int op, float acc, i64 count, float m) {
    switch (op) {
    case REDUCE_MEAN: return acc / (float)count;
    case REDUCE_L2: return sqrtf(acc);
    case REDUCE_LOG_SUM: return logf(acc);
    case REDUCE_LOG_SUM_EXP: return m + logf(acc);
    default: return acc;
    }
}

#define REDUCE_ARGS int op, i64 n, int orank, Dims oshape, Dims ks, int rrank, Dims rshape, Dims rs, i64 R

template <typename T>
__device__ void reduce_thread_t(REDUCE_ARGS, const T* x, T* y) {
    const int how = how_of(op);
    FOR_EACH(i, n) {
        const T* xb = x + offset_of(i, orank, oshape, ks);
        float m = 0.0f;
        if (op == REDUCE_LOG_SUM_EXP) {
            m = -F_INF;
            for (i64 r = 0; r < R; ++r) m = fmaxf(m, to_f(xb[offset_of(r, rrank, rshape, rs)]));
        }
        float acc = identity_of(how);
        for (i64 r = 0; r < R; ++r) acc = combine(how, acc, contribution(op, to_f(xb[offset_of(r, rrank, rshape, rs)]), m));
        y[i] = from_f<T>(finish(op, acc, R, m));
    }
}

template <typename T>
__device__ void reduce_block_t(REDUCE_ARGS, const T* x, T* y) {
    const int how = how_of(op);
    for (i64 i = blockIdx.x; i < n; i += gridDim.x) {
        const T* xb = x + offset_of(i, orank, oshape, ks);
        float m = 0.0f;
        if (op == REDUCE_LOG_SUM_EXP) {
            m = -F_INF;
            for (i64 r = threadIdx.x; r < R; r += blockDim.x) m = fmaxf(m, to_f(xb[offset_of(r, rrank, rshape, rs)]));
            m = block_reduce(RED_MAX, m);
        }
        float acc = identity_of(how);
        for (i64 r = threadIdx.x; r < R; r += blockDim.x) acc = combine(how, acc, contribution(op, to_f(xb[offset_of(r, rrank, rshape, rs)]), m));
        acc = block_reduce(how, acc);
        if (threadIdx.x == 0) y[i] = from_f<T>(finish(op, acc, R, m));
    }
}

// Sum, Mean (truncating), Max, Min and Prod on integers.
template <typename I>
__device__ void reduce_int_t(REDUCE_ARGS, const I* x, I* y) {
    FOR_EACH(i, n) {
        const I* xb = x + offset_of(i, orank, oshape, ks);
        i64 acc = op == REDUCE_PROD ? 1 : 0;
        for (i64 r = 0; r < R; ++r) {
            const i64 v = xb[offset_of(r, rrank, rshape, rs)];
            if (r == 0 && (op == REDUCE_MAX || op == REDUCE_MIN)) acc = v;
            else if (op == REDUCE_MAX) acc = v > acc ? v : acc;
            else if (op == REDUCE_MIN) acc = v < acc ? v : acc;
            else if (op == REDUCE_PROD) acc *= v;
            else acc += v;
        }
        if (op == REDUCE_MEAN && R > 0) acc /= R;
        y[i] = (I)acc;
    }
}

extern "C" __global__ void reduce_thread_f32(REDUCE_ARGS, const float* x, float* y) { reduce_thread_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
extern "C" __global__ void reduce_thread_f16(REDUCE_ARGS, const __half* x, __half* y) { reduce_thread_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
extern "C" __global__ void reduce_block_f32(REDUCE_ARGS, const float* x, float* y) { reduce_block_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
extern "C" __global__ void reduce_block_f16(REDUCE_ARGS, const __half* x, __half* y) { reduce_block_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
extern "C" __global__ void reduce_int_i32(REDUCE_ARGS, const int* x, int* y) { reduce_int_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
extern "C" __global__ void reduce_int_i64(REDUCE_ARGS, const i64* x, i64* y) { reduce_int_t(op, n, orank, oshape, ks, rrank, rshape, rs, R, x, y); }
