// Elementwise kernels: the fused chain (which also runs plain unary ops and Clip), integer unary
// ops, binary ops with broadcasting, Where, Cast, and the epilogue of Conv / Gemm / MatMul
// (bias, residual add, activation), which mirrors the CPU backend's `ops/epilogue.rs`.

// ---------------------------------------------------------------- chain / unary
// Up to MAX_STEPS functions applied in order to each element (ElementwiseChain, a unary op, Clip).
#define MAX_STEPS 8
struct Chain {
    int n;
    int code[MAX_STEPS];
    float a[MAX_STEPS];
    float b[MAX_STEPS];
};

template <typename T>
__device__ void chain_t(i64 n, const T* x, T* y, const Chain& c) {
    FOR_EACH(i, n) {
        float v = to_f(x[i]);
        for (int s = 0; s < c.n; ++s) v = apply_act(c.code[s], v, c.a[s], c.b[s]);
        y[i] = from_f<T>(v);
    }
}

extern "C" __global__ void chain_f32(i64 n, const float* x, float* y, Chain c) { chain_t(n, x, y, c); }
extern "C" __global__ void chain_f16(i64 n, const __half* x, __half* y, Chain c) { chain_t(n, x, y, c); }

// Relu, Neg, Abs and Sign on integers (the ops whose spec lists integer types).
template <typename I>
__device__ void int_unary_t(int code, i64 n, const I* x, I* y) {
    FOR_EACH(i, n) {
        I v = x[i];
        switch (code) {
        case ACT_RELU: v = v < 0 ? 0 : v; break;
        case ACT_NEG: v = -v; break;
        case ACT_ABS: v = v < 0 ? -v : v; break;
        case ACT_SIGN: v = v > 0 ? 1 : (v < 0 ? -1 : 0); break;
        default: break;
        }
        y[i] = v;
    }
}

extern "C" __global__ void int_unary_i32(int code, i64 n, const int* x, int* y) { int_unary_t(code, n, x, y); }
extern "C" __global__ void int_unary_i64(int code, i64 n, const i64* x, i64* y) { int_unary_t(code, n, x, y); }

// Not on bool.
extern "C" __global__ void not_u8(i64 n, const u8* x, u8* y) {
    FOR_EACH(i, n) y[i] = x[i] ? 0 : 1;
}

// ---------------------------------------------------------------- binary
__device__ __forceinline__ float arith_f(int op, float a, float b) {
    switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_POW: return powf(a, b);
    case BIN_FMOD: return fmodf(a, b);
    case BIN_MOD: {
        float r = fmodf(a, b);
        if (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) r += b;
        return r;
    }
    case BIN_MAX: return fmaxf(a, b);
    case BIN_MIN: return fminf(a, b);
    case BIN_PRELU: return a < 0.0f ? a * b : a;
    default: return F_NAN;
    }
}

template <typename I>
__device__ __forceinline__ I arith_i(int op, I a, I b) {
    switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return b == 0 ? 0 : a / b;
    case BIN_POW: {
        I r = 1;
        for (I e = b; e > 0; --e) r *= a;
        return r;
    }
    case BIN_FMOD: return b == 0 ? 0 : a % b;
    case BIN_MOD: {
        if (b == 0) return 0;
        I r = a % b;
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
    }
    case BIN_MAX: return a > b ? a : b;
    case BIN_MIN: return a < b ? a : b;
    case BIN_PRELU: return a < 0 ? a * b : a;
    default: return 0;
    }
}

template <typename C>
__device__ __forceinline__ u8 compare(int op, C a, C b) {
    switch (op) {
    case BIN_EQUAL: return a == b;
    case BIN_LESS: return a < b;
    case BIN_LESS_EQUAL: return a <= b;
    case BIN_GREATER: return a > b;
    case BIN_GREATER_EQUAL: return a >= b;
    case BIN_AND: return (a != 0) && (b != 0);
    case BIN_OR: return (a != 0) || (b != 0);
    case BIN_XOR: return (a != 0) != (b != 0);
    default: return 0;
    }
}

// y[i] = a[offset(i, sa)] op b[offset(i, sb)] over an output of `rank` dims `shape`.
#define BINARY_ARGS int op, i64 n, int rank, Dims shape, Dims sa, Dims sb

template <typename T>
__device__ void binary_float_t(BINARY_ARGS, const T* a, const T* b, T* y) {
    FOR_EACH(i, n) {
        float va = to_f(a[offset_of(i, rank, shape, sa)]);
        float vb = to_f(b[offset_of(i, rank, shape, sb)]);
        y[i] = from_f<T>(arith_f(op, va, vb));
    }
}

template <typename I>
__device__ void binary_int_t(BINARY_ARGS, const I* a, const I* b, I* y) {
    FOR_EACH(i, n) y[i] = arith_i<I>(op, a[offset_of(i, rank, shape, sa)], b[offset_of(i, rank, shape, sb)]);
}

template <typename T>
__device__ void compare_t(BINARY_ARGS, const T* a, const T* b, u8* y) {
    FOR_EACH(i, n) {
        float va = to_f(a[offset_of(i, rank, shape, sa)]);
        float vb = to_f(b[offset_of(i, rank, shape, sb)]);
        y[i] = compare<float>(op, va, vb);
    }
}

template <typename I>
__device__ void compare_int_t(BINARY_ARGS, const I* a, const I* b, u8* y) {
    FOR_EACH(i, n) y[i] = compare<I>(op, a[offset_of(i, rank, shape, sa)], b[offset_of(i, rank, shape, sb)]);
}

extern "C" __global__ void binary_f32(BINARY_ARGS, const float* a, const float* b, float* y) { binary_float_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void binary_f16(BINARY_ARGS, const __half* a, const __half* b, __half* y) { binary_float_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void binary_i32(BINARY_ARGS, const int* a, const int* b, int* y) { binary_int_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void binary_i64(BINARY_ARGS, const i64* a, const i64* b, i64* y) { binary_int_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void compare_f32(BINARY_ARGS, const float* a, const float* b, u8* y) { compare_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void compare_f16(BINARY_ARGS, const __half* a, const __half* b, u8* y) { compare_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void compare_i32(BINARY_ARGS, const int* a, const int* b, u8* y) { compare_int_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void compare_i64(BINARY_ARGS, const i64* a, const i64* b, u8* y) { compare_int_t(op, n, rank, shape, sa, sb, a, b, y); }
extern "C" __global__ void compare_u8(BINARY_ARGS, const u8* a, const u8* b, u8* y) { compare_int_t(op, n, rank, shape, sa, sb, a, b, y); }

// ---------------------------------------------------------------- where
template <typename T>
__device__ void where_t(i64 n, int rank, Dims shape, Dims sc, Dims sx, Dims sy, const u8* c, const T* x, const T* y, T* out) {
    FOR_EACH(i, n) {
        out[i] = c[offset_of(i, rank, shape, sc)] ? x[offset_of(i, rank, shape, sx)] : y[offset_of(i, rank, shape, sy)];
    }
}

#define WHERE_ARGS i64 n, int rank, Dims shape, Dims sc, Dims sx, Dims sy, const u8* c
extern "C" __global__ void where_b1(WHERE_ARGS, const u8* x, const u8* y, u8* out) { where_t(n, rank, shape, sc, sx, sy, c, x, y, out); }
extern "C" __global__ void where_b2(WHERE_ARGS, const u16* x, const u16* y, u16* out) { where_t(n, rank, shape, sc, sx, sy, c, x, y, out); }
extern "C" __global__ void where_b4(WHERE_ARGS, const u32* x, const u32* y, u32* out) { where_t(n, rank, shape, sc, sx, sy, c, x, y, out); }
extern "C" __global__ void where_b8(WHERE_ARGS, const u64* x, const u64* y, u64* out) { where_t(n, rank, shape, sc, sx, sy, c, x, y, out); }

// ---------------------------------------------------------------- cast
// ONNX Cast: float to int truncates toward zero (NaN gives 0, out of range saturates, as the
// hardware conversion does); anything to bool is `!= 0`.
__device__ __forceinline__ double widen(float v) { return v; }
__device__ __forceinline__ double widen(__half v) { return __half2float(v); }
__device__ __forceinline__ double widen(int v) { return v; }
__device__ __forceinline__ double widen(i64 v) { return (double)v; }
__device__ __forceinline__ double widen(u8 v) { return v; }

template <typename D> __device__ __forceinline__ D narrow(double v);
template <> __device__ __forceinline__ float narrow<float>(double v) { return (float)v; }
template <> __device__ __forceinline__ __half narrow<__half>(double v) { return __float2half((float)v); }
template <> __device__ __forceinline__ int narrow<int>(double v) { return v != v ? 0 : (int)v; }
template <> __device__ __forceinline__ i64 narrow<i64>(double v) { return v != v ? 0 : (i64)v; }
template <> __device__ __forceinline__ u8 narrow<u8>(double v) { return v != v ? 0 : (u8)(int)v; }

// Integer to integer keeps every bit of the value (no detour through double).
template <typename S, typename D> __device__ __forceinline__ D cast_one(S v) { return narrow<D>(widen(v)); }
template <> __device__ __forceinline__ i64 cast_one<int, i64>(int v) { return v; }
template <> __device__ __forceinline__ int cast_one<i64, int>(i64 v) { return (int)v; }
template <> __device__ __forceinline__ i64 cast_one<u8, i64>(u8 v) { return v; }
template <> __device__ __forceinline__ int cast_one<u8, int>(u8 v) { return v; }
template <> __device__ __forceinline__ u8 cast_one<i64, u8>(i64 v) { return (u8)v; }
template <> __device__ __forceinline__ u8 cast_one<int, u8>(int v) { return (u8)v; }

template <typename S, typename D>
__device__ void cast_t(i64 n, const S* x, D* y) {
    FOR_EACH(i, n) y[i] = cast_one<S, D>(x[i]);
}

template <typename S>
__device__ void to_bool_t(i64 n, const S* x, u8* y) {
    FOR_EACH(i, n) y[i] = widen(x[i]) != 0.0;
}

#define DEF_CAST(S, sn, D, dn) \
    extern "C" __global__ void cast_##sn##_##dn(i64 n, const S* x, D* y) { cast_t<S, D>(n, x, y); }
#define DEF_CASTS_FROM(S, sn)                                                                 \
    DEF_CAST(S, sn, float, f32)                                                               \
    DEF_CAST(S, sn, __half, f16)                                                              \
    DEF_CAST(S, sn, int, i32)                                                                 \
    DEF_CAST(S, sn, i64, i64)                                                                 \
    DEF_CAST(S, sn, u8, u8)                                                                   \
    extern "C" __global__ void cast_##sn##_bool(i64 n, const S* x, u8* y) { to_bool_t(n, x, y); }
DEF_CASTS_FROM(float, f32)
DEF_CASTS_FROM(__half, f16)
DEF_CASTS_FROM(int, i32)
DEF_CASTS_FROM(i64, i64)
DEF_CASTS_FROM(u8, u8)

// ---------------------------------------------------------------- epilogue
// In place on y: + bias[(i / inner) % channels] (when bias is not null), + residual[i] (when not
// null), then the activation `code` with parameters a, b. Conv uses inner = the spatial size and
// channels = M; Gemm / MatMul use inner = 1 and channels = N (a bias per column). VEC elements a
// thread, the bias index stepped rather than divided for each.
template <typename T>
__device__ void epilogue_t(i64 n, T* y, const T* bias, i64 inner, i64 channels, const T* res, int code, float a, float b) {
    FOR_EACH_CHUNK(i0, n) {
        const int count = (int)min((i64)VEC, n - i0);
        float v[VEC], r[VEC];
        load_vec(y + i0, count, v);
        if (res) load_vec(res + i0, count, r);
        const i64 q = i0 / inner;
        i64 pos = i0 - q * inner, ch = q % channels;
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
            float t = v[j];
            if (bias) t += to_f(bias[ch]);
            if (res) t += r[j];
            v[j] = apply_act(code, t, a, b);
            if (++pos == inner) {
                pos = 0;
                if (++ch == channels) ch = 0;
            }
        }
        store_vec(y + i0, count, v);
    }
}

#define EPILOGUE_ARGS(T) i64 n, T* y, const T* bias, i64 inner, i64 channels, const T* res, int code, float a, float b
extern "C" __global__ void epilogue_f32(EPILOGUE_ARGS(float)) { epilogue_t(n, y, bias, inner, channels, res, code, a, b); }
extern "C" __global__ void epilogue_f16(EPILOGUE_ARGS(__half)) { epilogue_t(n, y, bias, inner, channels, res, code, a, b); }
