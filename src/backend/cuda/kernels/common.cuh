// Shared by every kernel file: `nvrtc.rs` puts this text in front of each `.cu` file before NVRTC
// compiles it (NVRTC has no file system of its own, so there is no #include "common.cuh").
//
// Conventions:
// - Every kernel is `extern "C"` and named `<op>_<type>`: f32, f16, i32, i64, u8 (bool and uint8),
//   or b1/b2/b4/b8 for pure data movement that only cares about the element size.
// - Element counts and offsets are 64-bit; loops are grid-stride, so any grid size is correct.
// - Float math runs in f32; f16 is widened on load and rounded once on store.
// - Shapes and strides travel by value as `Dims` (8 x int64, the Rust side's `[i64; 8]`).
// - The ACT_* and BIN_* codes below are mirrored in `ops.rs`; a unit test there reads this file
//   and checks that both sides agree.

#include <cuda_fp16.h>

typedef long long i64;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define MAX_DIMS 8
struct Dims {
    i64 d[MAX_DIMS];
};

// A convolution or pooling window, filled by `lower/window.rs`: spatial extents of the input and
// the output, kernel, strides, leading and trailing pads and dilations, each as (D, H, W); 1-D and
// 2-D windows have leading extents of 1.
struct Window {
    int in[3];
    int out[3];
    int k[3];
    int stride[3];
    int pad[3];
    int pad_end[3];
    int dil[3];
};

// Float constants without <math.h> (NVRTC has no host headers).
#define F_INF __int_as_float(0x7f800000)
#define F_NAN __int_as_float(0x7fffffff)

#define FOR_EACH(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half(x); }

// Chunked elementwise kernels (`Lowerer::launch_chunks`): each thread takes VEC consecutive
// elements, so it has VEC independent loads in flight and moves 16-byte words where aligned; one
// thread's scalar 2-byte accesses leave most of the memory bandwidth unused.
#define VEC 8
#define FOR_EACH_CHUNK(i0, n) \
    for (i64 i0 = ((i64)blockIdx.x * blockDim.x + threadIdx.x) * VEC; i0 < (n); i0 += (i64)blockDim.x * gridDim.x * VEC)

// The first `count` (≤ VEC) elements at p as floats: one or two 16-byte loads when all VEC are
// there and p is 16-byte aligned.
template <typename T>
__device__ __forceinline__ void load_vec(const T* p, int count, float (&v)[VEC]) {
    if (count == VEC && ((unsigned long long)p & 15) == 0) {
        __align__(16) T t[VEC];
#pragma unroll
        for (int i = 0; i < (int)(VEC * sizeof(T) / 16); ++i)
            reinterpret_cast<uint4*>(t)[i] = reinterpret_cast<const uint4*>(p)[i];
#pragma unroll
        for (int i = 0; i < VEC; ++i) v[i] = to_f(t[i]);
    } else {
#pragma unroll
        for (int i = 0; i < VEC; ++i) v[i] = i < count ? to_f(p[i]) : 0.0f;
    }
}

// Stores the first `count` (≤ VEC) of v at p, as `load_vec` reads.
template <typename T>
__device__ __forceinline__ void store_vec(T* p, int count, const float (&v)[VEC]) {
    if (count == VEC && ((unsigned long long)p & 15) == 0) {
        __align__(16) T t[VEC];
#pragma unroll
        for (int i = 0; i < VEC; ++i) t[i] = from_f<T>(v[i]);
#pragma unroll
        for (int i = 0; i < (int)(VEC * sizeof(T) / 16); ++i)
            reinterpret_cast<uint4*>(p)[i] = reinterpret_cast<const uint4*>(t)[i];
    } else {
#pragma unroll
        for (int i = 0; i < VEC; ++i)
            if (i < count) p[i] = from_f<T>(v[i]);
    }
}

// The offset of flat output index `i` in an operand with `strides` (0 on broadcast dims), for an
// output of `rank` dims `shape`.
__device__ __forceinline__ i64 offset_of(i64 i, int rank, const Dims& shape, const Dims& strides) {
    i64 off = 0;
    for (int d = rank - 1; d >= 0; --d) {
        i64 q = i / shape.d[d];
        off += (i - q * shape.d[d]) * strides.d[d];
        i = q;
    }
    return off;
}

// ---------------------------------------------------------------- elementwise functions
// Unary functions and activations (a, b: the op's float parameters).
#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_ELU 3
#define ACT_SELU 4
#define ACT_CELU 5
#define ACT_THRESHOLDED_RELU 6
#define ACT_SIGMOID 7
#define ACT_HARD_SIGMOID 8
#define ACT_HARD_SWISH 9
#define ACT_SOFTPLUS 10
#define ACT_SOFTSIGN 11
#define ACT_MISH 12
#define ACT_SWISH 13
#define ACT_SHRINK 14
#define ACT_TANH 15
#define ACT_ERF 16
#define ACT_GELU 17
#define ACT_GELU_TANH 18
#define ACT_SQRT 19
#define ACT_EXP 20
#define ACT_LOG 21
#define ACT_NEG 22
#define ACT_ABS 23
#define ACT_RECIPROCAL 24
#define ACT_FLOOR 25
#define ACT_CEIL 26
#define ACT_ROUND 27
#define ACT_SIGN 28
#define ACT_SIN 29
#define ACT_COS 30
#define ACT_TAN 31
#define ACT_ASIN 32
#define ACT_ACOS 33
#define ACT_ATAN 34
#define ACT_SINH 35
#define ACT_COSH 36
#define ACT_ASINH 37
#define ACT_ACOSH 38
#define ACT_ATANH 39
// Clip to [a, b]; NaN passes through, as ONNX Clip specifies.
#define ACT_CLIP 40
// A binary op with a constant (ElementwiseChain steps): x op a, or a op x when b != 0.
#define ACT_CONST_ADD 41
#define ACT_CONST_SUB 42
#define ACT_CONST_MUL 43
#define ACT_CONST_DIV 44
#define ACT_CONST_POW 45
#define ACT_CONST_MAX 46
#define ACT_CONST_MIN 47

__device__ __forceinline__ float sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

__device__ __forceinline__ float softplusf(float x) {
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

__device__ __forceinline__ float clamp01f(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

__device__ __forceinline__ float apply_act(int code, float x, float a, float b) {
    switch (code) {
    case ACT_IDENTITY: return x;
    case ACT_RELU: return x < 0.0f ? 0.0f : x;
    case ACT_LEAKY_RELU: return x < 0.0f ? a * x : x;
    case ACT_ELU: return x < 0.0f ? a * expm1f(x) : x;
    case ACT_SELU: return x <= 0.0f ? b * a * expm1f(x) : b * x;
    case ACT_CELU: return x < 0.0f ? a * expm1f(x / a) : x;
    case ACT_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case ACT_SIGMOID: return sigmoidf(x);
    case ACT_HARD_SIGMOID: return clamp01f(a * x + b);
    case ACT_HARD_SWISH: return x * clamp01f(x * (1.0f / 6.0f) + 0.5f);
    case ACT_SOFTPLUS: return softplusf(x);
    case ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case ACT_MISH: return x * tanhf(softplusf(x));
    case ACT_SWISH: return x * sigmoidf(a * x);
    case ACT_SHRINK: return x < -b ? x + a : (x > b ? x - a : 0.0f);
    case ACT_TANH: return tanhf(x);
    case ACT_ERF: return erff(x);
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case ACT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_SQRT: return sqrtf(x);
    case ACT_EXP: return expf(x);
    case ACT_LOG: return logf(x);
    case ACT_NEG: return -x;
    case ACT_ABS: return fabsf(x);
    case ACT_RECIPROCAL: return 1.0f / x;
    case ACT_FLOOR: return floorf(x);
    case ACT_CEIL: return ceilf(x);
    case ACT_ROUND: return rintf(x);
    case ACT_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case ACT_SIN: return sinf(x);
    case ACT_COS: return cosf(x);
    case ACT_TAN: return tanf(x);
    case ACT_ASIN: return asinf(x);
    case ACT_ACOS: return acosf(x);
    case ACT_ATAN: return atanf(x);
    case ACT_SINH: return sinhf(x);
    case ACT_COSH: return coshf(x);
    case ACT_ASINH: return asinhf(x);
    case ACT_ACOSH: return acoshf(x);
    case ACT_ATANH: return atanhf(x);
    case ACT_CLIP: return x < a ? a : (x > b ? b : x);
    case ACT_CONST_ADD: return x + a;
    case ACT_CONST_SUB: return b != 0.0f ? a - x : x - a;
    case ACT_CONST_MUL: return x * a;
    case ACT_CONST_DIV: return b != 0.0f ? a / x : x / a;
    case ACT_CONST_POW: return b != 0.0f ? powf(a, x) : powf(x, a);
    case ACT_CONST_MAX: return fmaxf(x, a);
    case ACT_CONST_MIN: return fminf(x, a);
    default: return F_NAN;
    }
}

// Binary ops. Arithmetic ones keep the operands' type; comparisons write bool (u8).
#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2
#define BIN_DIV 3
#define BIN_POW 4
#define BIN_FMOD 5
#define BIN_MOD 6
#define BIN_MAX 7
#define BIN_MIN 8
#define BIN_PRELU 9
#define BIN_EQUAL 10
#define BIN_LESS 11
#define BIN_LESS_EQUAL 12
#define BIN_GREATER 13
#define BIN_GREATER_EQUAL 14
#define BIN_AND 15
#define BIN_OR 16
#define BIN_XOR 17

// ---------------------------------------------------------------- block reductions
// Combining rules of the block reductions.
#define RED_SUM 0
#define RED_MAX 1
#define RED_MIN 2
#define RED_PROD 3

__device__ __forceinline__ float combine(int how, float a, float b) {
    switch (how) {
    case RED_MAX: return fmaxf(a, b);
    case RED_MIN: return fminf(a, b);
    case RED_PROD: return a * b;
    default: return a + b;
    }
}

__device__ __forceinline__ float identity_of(int how) {
    switch (how) {
    case RED_MAX: return -F_INF;
    case RED_MIN: return F_INF;
    case RED_PROD: return 1.0f;
    default: return 0.0f;
    }
}

// Reduces `v` over the block; every thread gets the result. blockDim.x must be a multiple of 32
// (at most 1024), and every thread of the block must call it.
__device__ float block_reduce(int how, float v) {
    __shared__ float part[32];
    for (int off = 16; off > 0; off >>= 1) v = combine(how, v, __shfl_xor_sync(0xffffffff, v, off));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // the previous call's readers are done with `part`
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? part[lane] : identity_of(how);
    for (int off = 16; off > 0; off >>= 1) v = combine(how, v, __shfl_xor_sync(0xffffffff, v, off));
    return v;
}
