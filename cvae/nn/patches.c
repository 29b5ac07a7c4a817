/* Gather and scatter of convolution patches for channels-last float32 tensors.
 *
 * A cross-correlation reads input (b, r, s) = (b, i*stride + u - top, j*stride + v - left) at
 * kernel tap (u, v) for output (b, i, j); outside the input it reads zero. im2col lays those
 * reads out as a (nb*h_out*w_out, k*k*c) matrix, (u, v, ch) order, and col2im is its adjoint
 * (overlapping taps summed). shifted/unshift are the same pair seen from the input pixel
 * (stride 1): row (b, i, j) holds, for each tap (u, v), output (b, i + top - u, j + left - v).
 * NumPy did these as k*k strided copies of c floats each, 5-10x slower than these loops.
 */
#include <stddef.h>
#include <string.h>

/* x (nb, h, w, c) -> p (nb*h_out*w_out, k*k*c) */
void im2col(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
            int w_out, float *p) {
    size_t row = (size_t)k * k * c;
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out; j++) {
                float *dst = p + (((size_t)b * h_out + i) * w_out + j) * row;
                int s0 = j * stride - left;
                int v0 = s0 < 0 ? -s0 : 0, v1 = s0 + k > w ? w - s0 : k;  /* taps inside the row */
                for (int u = 0; u < k; u++, dst += (size_t)k * c) {
                    int r = i * stride + u - top;
                    if (r < 0 || r >= h || v1 <= v0) {
                        memset(dst, 0, sizeof(float) * k * c);
                        continue;
                    }
                    if (v0 > 0) memset(dst, 0, sizeof(float) * v0 * c);
                    /* taps v0..v1 read adjacent input columns: one contiguous run */
                    memcpy(dst + (size_t)v0 * c, x + (((size_t)b * h + r) * w + s0 + v0) * c,
                           sizeof(float) * (v1 - v0) * c);
                    if (v1 < k) memset(dst + (size_t)v1 * c, 0, sizeof(float) * (k - v1) * c);
                }
            }
}

/* p (nb*h_out*w_out, k*k*c) -> out (nb, h, w, c), overlapping taps summed: the adjoint of im2col */
void col2im(const float *p, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
            int w_out, float *out) {
    size_t row = (size_t)k * k * c;
    memset(out, 0, sizeof(float) * nb * h * w * c);
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out; j++) {
                const float *src = p + (((size_t)b * h_out + i) * w_out + j) * row;
                int s0 = j * stride - left;
                int v0 = s0 < 0 ? -s0 : 0, v1 = s0 + k > w ? w - s0 : k;
                for (int u = 0; u < k; u++) {
                    int r = i * stride + u - top;
                    if (r < 0 || r >= h || v1 <= v0) continue;
                    float *dst = out + (((size_t)b * h + r) * w + s0 + v0) * c;
                    const float *from = src + ((size_t)u * k + v0) * c;
                    size_t n = (size_t)(v1 - v0) * c;
                    for (size_t e = 0; e < n; e++) dst[e] += from[e];
                }
            }
}

/* Stride 1. y (nb, h_out, w_out, o) -> q (nb*h*w, k*k*o), q[b, i, j, u, v] = y[b, i + top - u, j + left - v] */
void shifted(const float *y, int nb, int h, int w, int o, int k, int top, int left, int h_out, int w_out,
             float *q) {
    size_t row = (size_t)k * k * o;
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float *dst = q + (((size_t)b * h + i) * w + j) * row;
                for (int u = 0; u < k; u++) {
                    int r = i + top - u;
                    for (int v = 0; v < k; v++, dst += o) {
                        int s = j + left - v;
                        if (r < 0 || r >= h_out || s < 0 || s >= w_out)
                            memset(dst, 0, sizeof(float) * o);
                        else
                            memcpy(dst, y + (((size_t)b * h_out + r) * w_out + s) * o, sizeof(float) * o);
                    }
                }
            }
}

/* The adjoint of shifted: q (nb*h*w, k*k*o) -> out (nb, h_out, w_out, o). */
void unshift(const float *q, int nb, int h, int w, int o, int k, int top, int left, int h_out, int w_out,
             float *out) {
    size_t row = (size_t)k * k * o;
    memset(out, 0, sizeof(float) * nb * h_out * w_out * o);
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                const float *src = q + (((size_t)b * h + i) * w + j) * row;
                for (int u = 0; u < k; u++) {
                    int r = i + top - u;
                    for (int v = 0; v < k; v++, src += o) {
                        int s = j + left - v;
                        if (r < 0 || r >= h_out || s < 0 || s >= w_out) continue;
                        float *dst = out + (((size_t)b * h_out + r) * w_out + s) * o;
                        for (int e = 0; e < o; e++) dst[e] += src[e];
                    }
                }
            }
}

/* A convolution to one output channel (the decoders' last layer), direct: for each output pixel
 * and kernel row u, taps v0..v1 read one contiguous run of (v1 - v0) * c input floats and the
 * same run of the kernel w (k, k, c, 1). As a matrix multiply it has a single column, where
 * the BLAS (or Winograd) is far from its speed. The loops work on blocks of BLOCK adjacent
 * output (or, for the adjoint, input) pixels whose taps all lie inside the image: BLOCK
 * independent vector accumulators hide the multiply-add latency, and each kernel value loaded
 * serves all of them. Pixels at the borders take the one-pixel loops. Measured on the classroom
 * decoder's 28x28x32 -> 1 layer: 2-4x faster than one pixel at a time with a horizontal sum per
 * run. */
#define RUN_GEOMETRY                                                          \
    int s0 = j * stride - left;                                               \
    int v0 = s0 < 0 ? -s0 : 0, v1 = s0 + k > w ? w - s0 : k;                  \
    int r = i * stride + u - top;                                             \
    if (r < 0 || r >= h || v1 <= v0) continue;                                \
    size_t n = (size_t)(v1 - v0) * c;                                         \
    size_t at_x = (((size_t)b * h + r) * w + s0 + v0) * c;                    \
    size_t at_w = ((size_t)u * k + v0) * c;

#include "lanes.h"

#define BLOCK 8  /* independent accumulators: enough to hide a multiply-add's latency */
#define MAX_K 16 /* kernels up to this size take the blocked loops; larger ones the one-pixel loops */

static inline float lane_sum(lanes v) { /* a tree, not a chain of LANES dependent adds */
    float a[LANES];
    store(a, v);
    for (int half = LANES / 2; half; half /= 2)
        for (int l = 0; l < half; l++) a[l] += a[l + half];
    return a[0];
}

/* sum of a[e] * b[e] over e < n */
static float dot(const float *a, const float *b, size_t n) {
    lanes acc = {0};
    size_t e = 0;
    for (; e + LANES <= n; e += LANES) acc += load(a + e) * load(b + e);
    float s = lane_sum(acc);
    for (; e < n; e++) s += a[e] * b[e];
    return s;
}

/* Whether output pixels j .. j + BLOCK - 1 of a row read whole runs of k taps (no border). */
static inline int inner_block(int j, int w_out, int w, int k, int stride, int left) {
    return j + BLOCK <= w_out && j * stride - left >= 0 && (j + BLOCK - 1) * stride - left + k <= w;
}

/* The BLOCK sums of acc[0..BLOCK-1]'s lanes into out: a transposing tree of vector adds where the
 * compiler offers vector shuffles (GCC, Clang), BLOCK scalar trees otherwise. */
#if LANES == 16 && BLOCK == 8 && (defined(__clang__) || defined(__GNUC__))
typedef int lane_index __attribute__((vector_size(LANES * sizeof(int))));
#if defined(__clang__)
#define SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (lane_index){__VA_ARGS__})
#endif
static inline void block_sums(const lanes *acc, float *out) {
    lanes half[4], quarter[2];
    for (int p = 0; p < 4; p++) /* lanes 0-7: acc[2p]'s halves added, 8-15: acc[2p + 1]'s */
        half[p] = SHUFFLE(acc[2 * p], acc[2 * p + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
                  SHUFFLE(acc[2 * p], acc[2 * p + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int p = 0; p < 2; p++) /* 4 lanes for each of 4 accumulators */
        quarter[p] = SHUFFLE(half[2 * p], half[2 * p + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
                     SHUFFLE(half[2 * p], half[2 * p + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    lanes pairs = /* 2 lanes for each of the 8 */
        SHUFFLE(quarter[0], quarter[1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
        SHUFFLE(quarter[0], quarter[1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    lanes sums = SHUFFLE(pairs, pairs, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14) +
                 SHUFFLE(pairs, pairs, 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
    float all[LANES];
    store(all, sums);
    memcpy(out, all, BLOCK * sizeof(float));
}
#else
static inline void block_sums(const lanes *acc, float *out) {
    for (int p = 0; p < BLOCK; p++) out[p] = lane_sum(acc[p]);
}
#endif

/* out[p] = sum over the kernel rows inside the image of x's run for output pixel p (x_runs[q] + p * step)
 * times the kernel's run (w_runs[q]), each `run` floats */
static void forward_block(const float *const *x_runs, const float *const *w_runs, int n_rows, size_t run,
                          size_t step, float *out) {
    lanes acc[BLOCK] = {{0}};
    float tail[BLOCK] = {0};
    for (int q = 0; q < n_rows; q++) {
        const float *xr = x_runs[q], *wu = w_runs[q];
        size_t e = 0;
        for (; e + LANES <= run; e += LANES) {
            lanes wv = load(wu + e);
            for (int p = 0; p < BLOCK; p++) acc[p] += load(xr + p * step + e) * wv;
        }
        for (; e < run; e++)
            for (int p = 0; p < BLOCK; p++) tail[p] += xr[p * step + e] * wu[e];
    }
    block_sums(acc, out);
    for (int p = 0; p < BLOCK; p++) out[p] += tail[p];
}

/* y (nb, h_out, w_out) = conv(x (nb, h, w, c), wk (k, k, c, 1)) */
void conv1_forward(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                   int w_out, const float *wk, float *y) {
    size_t run = (size_t)k * c, step = (size_t)stride * c;
    const float *x_runs[MAX_K], *w_runs[MAX_K];
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++) {
            int n_rows = 0; /* the kernel rows inside the image for this output row */
            for (int u = 0; u < k && k <= MAX_K; u++) {
                int r = i * stride + u - top;
                if (r >= 0 && r < h) w_runs[n_rows++] = wk + (size_t)u * run;
            }
            for (int j = 0; j < w_out;) {
                float *out = y + ((size_t)b * h_out + i) * w_out + j;
                if (k <= MAX_K && inner_block(j, w_out, w, k, stride, left)) {
                    for (int q = 0, u = 0; u < k; u++) { /* the block's first run in each of those rows */
                        int r = i * stride + u - top;
                        if (r >= 0 && r < h) x_runs[q++] = x + (((size_t)b * h + r) * w + j * stride - left) * c;
                    }
                    forward_block(x_runs, w_runs, n_rows, run, step, out);
                    j += BLOCK;
                    continue;
                }
                float s = 0;
                for (int u = 0; u < k; u++) {
                    RUN_GEOMETRY
                    s += dot(x + at_x, wk + at_w, n);
                }
                out[0] = s;
                j++;
            }
        }
}

/* dx (nb, h, w, c) = the adjoint of conv1_forward applied to dy (nb, h_out, w_out). Stride 1
 * gathers: each input pixel sums its k*k taps' dy times the kernel, written once. Other
 * strides scatter each output pixel's runs, weighted by its dy, into dx. */
void conv1_adjoint(const float *dy, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                   int w_out, const float *wk, float *dx) {
    if (stride != 1) {
        memset(dx, 0, sizeof(float) * nb * h * w * c);
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < h_out; i++)
                for (int j = 0; j < w_out; j++) {
                    float g = dy[((size_t)b * h_out + i) * w_out + j];
                    for (int u = 0; u < k; u++) {
                        RUN_GEOMETRY
                        for (size_t e = 0; e < n; e++) dx[at_x + e] += g * wk[at_w + e];
                    }
                }
        return;
    }
    /* input pixel (r, s) is read by output pixel (r + top - u, s + left - v) through tap (u, v) */
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < h; r++)
            for (int s = 0; s < w;) {
                float *d = dx + (((size_t)b * h + r) * w + s) * c;
                if (s + left - (k - 1) >= 0 && s + BLOCK - 1 + left < w_out && s + BLOCK <= w) {
                    size_t e = 0;
                    for (; e + LANES <= (size_t)c; e += LANES) { /* BLOCK pixels' lanes e.. in registers */
                        lanes acc[BLOCK] = {{0}};
                        for (int u = 0; u < k; u++) {
                            int i = r + top - u;
                            if (i < 0 || i >= h_out) continue;
                            for (int v = 0; v < k; v++) {
                                const float *g = dy + ((size_t)b * h_out + i) * w_out + s + left - v;
                                lanes wv = load(wk + ((size_t)u * k + v) * c + e);
                                for (int p = 0; p < BLOCK; p++) acc[p] += g[p] * wv;
                            }
                        }
                        for (int p = 0; p < BLOCK; p++) store(d + (size_t)p * c + e, acc[p]);
                    }
                    for (; e < (size_t)c; e++)
                        for (int p = 0; p < BLOCK; p++) {
                            float sum = 0;
                            for (int u = 0; u < k; u++) {
                                int i = r + top - u;
                                if (i < 0 || i >= h_out) continue;
                                for (int v = 0; v < k; v++)
                                    sum += dy[((size_t)b * h_out + i) * w_out + s + p + left - v] *
                                           wk[((size_t)u * k + v) * c + e];
                            }
                            d[(size_t)p * c + e] = sum;
                        }
                    s += BLOCK;
                    continue;
                }
                memset(d, 0, sizeof(float) * c);
                for (int u = 0; u < k; u++) {
                    int i = r + top - u;
                    if (i < 0 || i >= h_out) continue;
                    for (int v = 0; v < k; v++) {
                        int j = s + left - v;
                        if (j < 0 || j >= w_out) continue;
                        float g = dy[((size_t)b * h_out + i) * w_out + j];
                        const float *wv = wk + ((size_t)u * k + v) * c;
                        for (int e = 0; e < c; e++) d[e] += g * wv[e];
                    }
                }
                s++;
            }
}

/* dw (k, k, c, 1) = the gradient of <conv1_forward(x, w), dy> in w: each kernel row u's run
 * gathers BLOCK output pixels' input runs, weighted by their dy, per load and store of dw. */
void conv1_kernel_grad(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left,
                       int h_out, int w_out, const float *dy, float *dw) {
    size_t run = (size_t)k * c, step = (size_t)stride * c;
    memset(dw, 0, sizeof(float) * k * k * c);
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out;) {
                const float *g = dy + ((size_t)b * h_out + i) * w_out + j;
                if (inner_block(j, w_out, w, k, stride, left)) {
                    for (int u = 0; u < k; u++) {
                        int r = i * stride + u - top;
                        if (r < 0 || r >= h) continue;
                        const float *xr = x + (((size_t)b * h + r) * w + j * stride - left) * c;
                        float *d = dw + (size_t)u * run;
                        size_t e = 0;
                        for (; e + LANES <= run; e += LANES) {
                            lanes part[BLOCK / 2]; /* pairs, then a tree: no chain of BLOCK dependent adds */
                            for (int p = 0; p < BLOCK / 2; p++)
                                part[p] = g[2 * p] * load(xr + 2 * p * step + e) +
                                          g[2 * p + 1] * load(xr + (2 * p + 1) * step + e);
                            for (int half = BLOCK / 4; half; half /= 2)
                                for (int p = 0; p < half; p++) part[p] += part[p + half];
                            store(d + e, load(d + e) + part[0]);
                        }
                        for (; e < run; e++) {
                            float sum = d[e];
                            for (int p = 0; p < BLOCK; p++) sum += g[p] * xr[p * step + e];
                            d[e] = sum;
                        }
                    }
                    j += BLOCK;
                    continue;
                }
                for (int u = 0; u < k; u++) {
                    RUN_GEOMETRY
                    for (size_t e = 0; e < n; e++) dw[at_w + e] += g[0] * x[at_x + e];
                }
                j++;
            }
}
