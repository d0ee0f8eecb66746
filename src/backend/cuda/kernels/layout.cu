// Data movement, by element size only (b1/b2/b4/b8): the strided copy behind Transpose, Slice,
// Concat, Split, Expand, Tile and DepthToSpace / SpaceToDepth; Gather; Pad; nearest Resize. Plus
// linear Resize, which interpolates and so is typed (f32/f16).

// dst[offset(i, ds)] = src[offset(i, ss)] for every index i of `shape`. Strides may be 0
// (broadcast) or negative (Slice with negative steps; the host moves `src` to the first element).
template <typename E>
__device__ void copy_nd_t(i64 n, int rank, Dims shape, Dims ss, Dims ds, const E* src, E* dst) {
    FOR_EACH(i, n) dst[offset_of(i, rank, shape, ds)] = src[offset_of(i, rank, shape, ss)];
}

#define COPY_ARGS i64 n, int rank, Dims shape, Dims ss, Dims ds
extern "C" __global__ void copy_nd_b1(COPY_ARGS, const u8* src, u8* dst) { copy_nd_t(n, rank, shape, ss, ds, src, dst); }
extern "C" __global__ void copy_nd_b2(COPY_ARGS, const u16* src, u16* dst) { copy_nd_t(n, rank, shape, ss, ds, src, dst); }
extern "C" __global__ void copy_nd_b4(COPY_ARGS, const u32* src, u32* dst) { copy_nd_t(n, rank, shape, ss, ds, src, dst); }
extern "C" __global__ void copy_nd_b8(COPY_ARGS, const u64* src, u64* dst) { copy_nd_t(n, rank, shape, ss, ds, src, dst); }

// Gather along an axis: y[o][j][in] = x[o][wrap(idx[j])][in], `count` indices, `axis_len` the
// gathered axis's extent, `inner` the elements after it. Out-of-range indices read element 0
// (the host checks constant indices; device-produced ones are the model's responsibility).
template <typename E, typename I>
__device__ void gather_t(i64 n, i64 inner, i64 count, i64 axis_len, const E* x, const I* idx, E* y) {
    FOR_EACH(i, n) {
        const i64 in = i % inner;
        const i64 j = (i / inner) % count;
        const i64 o = i / (inner * count);
        i64 k = (i64)idx[j];
        if (k < 0) k += axis_len;
        if (k < 0 || k >= axis_len) k = 0;
        y[i] = x[(o * axis_len + k) * inner + in];
    }
}

#define GATHER_ARGS i64 n, i64 inner, i64 count, i64 axis_len
#define DEF_GATHER(E, en)                                                                                     \
    extern "C" __global__ void gather_##en##_i32(GATHER_ARGS, const E* x, const int* idx, E* y) { gather_t(n, inner, count, axis_len, x, idx, y); } \
    extern "C" __global__ void gather_##en##_i64(GATHER_ARGS, const E* x, const i64* idx, E* y) { gather_t(n, inner, count, axis_len, x, idx, y); }
DEF_GATHER(u8, b1)
DEF_GATHER(u16, b2)
DEF_GATHER(u32, b4)
DEF_GATHER(u64, b8)

// Pad modes, as `ir::PadMode`.
#define PAD_CONSTANT 0
#define PAD_REFLECT 1
#define PAD_EDGE 2
#define PAD_WRAP 3

// y has `rank` dims `out`; x has dims `in`; `begin` are the leading pads (negative: cropping).
// `value` holds the constant's bits in the element type.
template <typename E>
__device__ void pad_t(i64 n, int rank, Dims out, Dims in, Dims begin, int mode, E value, const E* x, E* y) {
    FOR_EACH(i, n) {
        i64 rest = i, off = 0, stride = 1;
        bool inside = true;
        for (int d = rank - 1; d >= 0; --d) {
            const i64 q = rest / out.d[d];
            i64 c = rest - q * out.d[d] - begin.d[d];
            rest = q;
            const i64 len = in.d[d];
            if (c < 0 || c >= len) {
                if (mode == PAD_CONSTANT || len == 0) {
                    inside = false;
                } else if (mode == PAD_EDGE) {
                    c = c < 0 ? 0 : len - 1;
                } else if (mode == PAD_WRAP) {
                    c = ((c % len) + len) % len;
                } else if (len == 1) {
                    c = 0;
                } else {
                    // Reflect without repeating the edge: period 2·(len − 1).
                    const i64 period = 2 * (len - 1);
                    c = ((c % period) + period) % period;
                    if (c >= len) c = period - c;
                }
            }
            off += c * stride;
            stride *= len;
        }
        y[i] = inside ? x[off] : value;
    }
}

#define PAD_ARGS i64 n, int rank, Dims out, Dims in, Dims begin, int mode
extern "C" __global__ void pad_b1(PAD_ARGS, u8 value, const u8* x, u8* y) { pad_t(n, rank, out, in, begin, mode, value, x, y); }
extern "C" __global__ void pad_b2(PAD_ARGS, u16 value, const u16* x, u16* y) { pad_t(n, rank, out, in, begin, mode, value, x, y); }
extern "C" __global__ void pad_b4(PAD_ARGS, u32 value, const u32* x, u32* y) { pad_t(n, rank, out, in, begin, mode, value, x, y); }
extern "C" __global__ void pad_b8(PAD_ARGS, u64 value, const u64* x, u64* y) { pad_t(n, rank, out, in, begin, mode, value, x, y); }

// ---------------------------------------------------------------- resize
// Coordinate transforms and nearest modes, as `ir::CoordTransform` / `ir::NearestMode`.
#define COORD_HALF_PIXEL 0
#define COORD_HALF_PIXEL_SYMMETRIC 1
#define COORD_PYTORCH_HALF_PIXEL 2
#define COORD_ALIGN_CORNERS 3
#define COORD_ASYMMETRIC 4
#define NEAREST_ROUND_PREFER_FLOOR 0
#define NEAREST_ROUND_PREFER_CEIL 1
#define NEAREST_FLOOR 2
#define NEAREST_CEIL 3

// Per-dim scales, in double as the CPU backend computes them (ties of nearest rounding depend on it).
struct Scales {
    double d[MAX_DIMS];
};

// The input coordinate of output coordinate `o` along one dim, `out_f` = scale · in_len being the
// unrounded output length (as the CPU backend's `ops/resize.rs`).
__device__ __forceinline__ double source_coord(int coord, i64 o, i64 out_len, i64 in_len, double scale) {
    const double y = (double)o, in_f = (double)in_len, out_f = scale * in_f;
    switch (coord) {
    case COORD_HALF_PIXEL: return (y + 0.5) / scale - 0.5;
    case COORD_HALF_PIXEL_SYMMETRIC: {
        const double adj = (double)out_len / out_f;
        return in_f / 2.0 * (1.0 - adj) + (y + 0.5) / scale - 0.5;
    }
    case COORD_PYTORCH_HALF_PIXEL: return out_f == 1.0 ? -0.5 : (y + 0.5) / scale - 0.5;
    case COORD_ALIGN_CORNERS: return out_f == 1.0 ? 0.0 : y * (in_f - 1.0) / (out_f - 1.0);
    default: return y / scale;
    }
}

__device__ __forceinline__ i64 nearest_index(int mode, double c, i64 len) {
    const double f = floor(c), r = c - f;
    i64 k = (i64)f;
    if (c != f) {
        switch (mode) {
        case NEAREST_ROUND_PREFER_FLOOR: k += r > 0.5; break;
        case NEAREST_ROUND_PREFER_CEIL: k += r >= 0.5; break;
        case NEAREST_FLOOR: break;
        default: k += 1; break;
        }
    }
    return k < 0 ? 0 : (k >= len ? len - 1 : k);
}

template <typename E>
__device__ void resize_nearest_t(i64 n, int rank, Dims out, Dims in, Scales scale, int coord, int mode, const E* x, E* y) {
    FOR_EACH(i, n) {
        i64 rest = i, off = 0, stride = 1;
        for (int d = rank - 1; d >= 0; --d) {
            const i64 q = rest / out.d[d];
            const i64 o = rest - q * out.d[d];
            rest = q;
            const i64 k = in.d[d] == out.d[d] && scale.d[d] == 1.0
                              ? o
                              : nearest_index(mode, source_coord(coord, o, out.d[d], in.d[d], scale.d[d]), in.d[d]);
            off += k * stride;
            stride *= in.d[d];
        }
        y[i] = x[off];
    }
}

#define RESIZE_ARGS i64 n, int rank, Dims out, Dims in, Scales scale, int coord
extern "C" __global__ void resize_nearest_b1(RESIZE_ARGS, int mode, const u8* x, u8* y) { resize_nearest_t(n, rank, out, in, scale, coord, mode, x, y); }
extern "C" __global__ void resize_nearest_b2(RESIZE_ARGS, int mode, const u16* x, u16* y) { resize_nearest_t(n, rank, out, in, scale, coord, mode, x, y); }
extern "C" __global__ void resize_nearest_b4(RESIZE_ARGS, int mode, const u32* x, u32* y) { resize_nearest_t(n, rank, out, in, scale, coord, mode, x, y); }
extern "C" __global__ void resize_nearest_b8(RESIZE_ARGS, int mode, const u64* x, u64* y) { resize_nearest_t(n, rank, out, in, scale, coord, mode, x, y); }

// Linear interpolation on the last two dims (the leading ones are copied: the host checks their
// scale is 1). Source coordinates are clamped to the input, as ONNX's reference does.
template <typename T>
__device__ void resize_linear_t(i64 n, int rank, Dims out, Dims in, Scales scale, int coord, const T* x, T* y) {
    const int dh = rank - 2, dw = rank - 1;
    const i64 oh_n = out.d[dh], ow_n = out.d[dw], ih_n = in.d[dh], iw_n = in.d[dw];
    FOR_EACH(i, n) {
        const i64 ow = i % ow_n, oh = (i / ow_n) % oh_n, plane = i / (ow_n * oh_n);
        double fh = source_coord(coord, oh, oh_n, ih_n, scale.d[dh]);
        double fw = source_coord(coord, ow, ow_n, iw_n, scale.d[dw]);
        fh = fmin(fmax(fh, 0.0), (double)(ih_n - 1));
        fw = fmin(fmax(fw, 0.0), (double)(iw_n - 1));
        const i64 h0 = (i64)floor(fh), w0 = (i64)floor(fw);
        const i64 h1 = h0 + 1 < ih_n ? h0 + 1 : h0, w1 = w0 + 1 < iw_n ? w0 + 1 : w0;
        const float ah = (float)(fh - (double)h0), aw = (float)(fw - (double)w0);
        const T* xp = x + plane * ih_n * iw_n;
        const float v00 = to_f(xp[h0 * iw_n + w0]), v01 = to_f(xp[h0 * iw_n + w1]);
        const float v10 = to_f(xp[h1 * iw_n + w0]), v11 = to_f(xp[h1 * iw_n + w1]);
        const float top = v00 + (v01 - v00) * aw, bottom = v10 + (v11 - v10) * aw;
        y[i] = from_f<T>(top + (bottom - top) * ah);
    }
}

extern "C" __global__ void resize_linear_f32(RESIZE_ARGS, const float* x, float* y) { resize_linear_t(n, rank, out, in, scale, coord, x, y); }
extern "C" __global__ void resize_linear_f16(RESIZE_ARGS, const __half* x, __half* y) { resize_linear_t(n, rank, out, in, scale, coord, x, y); }
