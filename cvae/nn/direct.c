/* Direct convolutions for few channels (16 or 32 a side), channels-last float32: no patch matrix.
 *
 * A cross-correlation reads input (b, r, s) = (b, i*stride + u - top, j*stride + v - left) at
 * kernel tap (u, v) for output (b, i, j). With 16-32 channels, im2col's patch matrix has only
 * 144-288 columns and the transposed convolution's product only 16-32 inner terms: the BLAS's
 * kernels run far below their speed there, and the patches cost a copy (col2im a scatter). These
 * loops keep a block of output pixels' channels in vector registers instead: for each tap and
 * input channel, one kernel row loaded, each pixel's input broadcast, one multiply-add a vector.
 * Taps that fall outside the input read a row of zeros, so every pixel of a block does the same work.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lanes.h"

#define MAX_CHANNELS 2048

static const float zeros[MAX_CHANNELS]; /* what a tap outside the input reads */

/* out[p] (NV vectors each) = sum over the taps t < n_taps and inner index e < n_inner of
 * src[t][p][e] * rows[t][e * row_step ..] (NV vectors), for P pixels; pixels p >= count are not stored. */
#define BLOCK_KERNEL(NAME, NV, P)                                                                          \
    static void NAME(const float *const (*src)[MAX_P], const float *const *rows, size_t row_step,          \
                     int n_taps, int n_inner, size_t out_step, float *out, int count) {                    \
        lanes acc[P][NV];                                                                                  \
        for (int p = 0; p < P; p++)                                                                        \
            for (int q = 0; q < NV; q++) acc[p][q] = (lanes){0};                                           \
        for (int t = 0; t < n_taps; t++)                                                                   \
            for (int e = 0; e < n_inner; e++) {                                                            \
                lanes wv[NV];                                                                              \
                for (int q = 0; q < NV; q++) wv[q] = load(rows[t] + e * row_step + q * LANES);             \
                for (int p = 0; p < P; p++) {                                                              \
                    float a = src[t][p][e];                                                                \
                    for (int q = 0; q < NV; q++) acc[p][q] += a * wv[q];                                   \
                }                                                                                          \
            }                                                                                              \
        for (int p = 0; p < count; p++)                                                                    \
            for (int q = 0; q < NV; q++) store(out + p * out_step + q * LANES, acc[p][q]);                 \
    }

/* A block holds P pixels x SLICE channels of the output (NV = SLICE / LANES = 1 or 2 vectors a pixel):
 * up to 16 accumulators with 32 vector registers (AVX-512), 14 with 16 (AVX2); wider outputs take
 * slices. Rows of 7, 14 or 28 pixels (the 28x28 digits halved) take blocks of 7: no idle pixel. */
#define MAX_TAPS 49 /* kernels up to 7 x 7 */
#define SLICE (2 * LANES)
#define MAX_P (REGISTERS >= 32 ? 8 : 7)
BLOCK_KERNEL(block1_7, 1, 7)
BLOCK_KERNEL(block2_7, 2, 7)
#if REGISTERS >= 32
BLOCK_KERNEL(block1_8, 1, 8)
BLOCK_KERNEL(block2_8, 2, 8)
#else /* 7 is the most that fit */
#define block1_8 block1_7
#define block2_8 block2_7
#endif

/* The pixels a block for rows of `n` pixels: 7 where it divides them, else MAX_P. */
static int block_size(int n) { return n % 7 == 0 ? 7 : MAX_P; }

/* One block of `count` <= p pixels (p = block_size) x `width` channels (rows and out `width` floats a
 * row), from each tap's sources and kernel rows, a slice of SLICE channels at a time. */
static void run_block(int width, int p, const float *const (*src)[MAX_P], const float *const *rows, int n_taps,
                      int n_inner, size_t out_step, float *out, int count) {
    const float *sliced[MAX_TAPS];
    for (int first = 0; first < width; first += SLICE) {
        int nv = (width - first < SLICE ? width - first : SLICE) / LANES;
        for (int t = 0; t < n_taps; t++) sliced[t] = rows[t] + first;
        if (p == 7 && nv == 1) /* the same table, its first 7 sources a tap */
            block1_7(src, sliced, width, n_taps, n_inner, out_step, out + first, count);
        else if (p == 7)
            block2_7(src, sliced, width, n_taps, n_inner, out_step, out + first, count);
        else if (nv == 1)
            block1_8(src, sliced, width, n_taps, n_inner, out_step, out + first, count);
        else
            block2_8(src, sliced, width, n_taps, n_inner, out_step, out + first, count);
    }
}

/* y (nb, h_out, w_out, o) = conv(x (nb, h, w, c), wk (k, k, c, o)); o = 16 or 32, c <= MAX_CHANNELS,
 * k * k <= MAX_TAPS. Blocks of P pixels along an output row. */
void direct_forward(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                    int w_out, int o, const float *wk, float *y) {
    int block = block_size(w_out);
    const float *src[MAX_TAPS][MAX_P];
    const float *rows[MAX_TAPS];
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out; j += block) {
                int count = w_out - j < block ? w_out - j : block, n_taps = 0;
                for (int u = 0; u < k; u++) {
                    int r = i * stride + u - top;
                    if (r < 0 || r >= h) continue; /* the whole block's row is outside: skip the tap */
                    for (int v = 0; v < k; v++, n_taps++) {
                        rows[n_taps] = wk + ((size_t)u * k + v) * c * o;
                        for (int p = 0; p < block; p++) {
                            int s = (j + p) * stride + v - left;
                            src[n_taps][p] = p < count && s >= 0 && s < w ? x + (((size_t)b * h + r) * w + s) * c : zeros;
                        }
                    }
                }
                float *out = y + (((size_t)b * h_out + i) * w_out + j) * o;
                run_block(o, block, (const float *const (*)[MAX_P])src, rows, n_taps, c, o, out, count);
            }
}

/* x (nb, h, w, c) = the adjoint of conv in x, applied to y (nb, h_out, w_out, o), with wt the kernel as
 * (k, k, o, c); c = 16 or 32, o <= MAX_CHANNELS. Input pixel (r, s) gathers the taps (u, v) whose
 * output (r + top - u, s + left - v) / stride is a whole pixel inside y; a block holds P pixels of one
 * row whose columns are `stride` apart (one residue), which share their taps. */
void direct_adjoint(const float *y, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                    int w_out, int o, const float *wt, float *x) {
    int block = block_size((w + stride - 1) / stride);
    const float *src[MAX_TAPS][MAX_P];
    const float *rows[MAX_TAPS];
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < h; r++)
            for (int residue = 0; residue < stride && residue < w; residue++) {
                int columns = (w - residue + stride - 1) / stride; /* s = residue, residue + stride, ... */
                for (int m = 0; m < columns; m += block) {
                    int count = columns - m < block ? columns - m : block, n_taps = 0;
                    int s0 = residue + m * stride;
                    for (int u = 0; u < k; u++) {
                        int di = r + top - u; /* (row of y) * stride */
                        if (di < 0 || di % stride || di / stride >= h_out) continue;
                        const float *y_row = y + ((size_t)b * h_out + di / stride) * w_out * o;
                        for (int v = 0; v < k; v++) {
                            int dj = s0 + left - v; /* (column of y) * stride, for the block's first pixel */
                            if (((dj % stride) + stride) % stride) continue; /* this residue never reads tap v */
                            int j0 = dj / stride; /* exact: no division a pixel, the block's columns are j0 + p */
                            rows[n_taps] = wt + ((size_t)u * k + v) * o * c;
                            for (int p = 0; p < block; p++)
                                src[n_taps][p] = p < count && j0 + p >= 0 && j0 + p < w_out ? y_row + (size_t)(j0 + p) * o
                                                                                            : zeros;
                            n_taps++;
                        }
                    }
                    float *out = x + (((size_t)b * h + r) * w + s0) * c;
                    run_block(c, block, (const float *const (*)[MAX_P])src, rows, n_taps, o, (size_t)stride * c, out,
                              count);
                }
            }
}

/* dw (k, k, c, o) = the gradient of <conv(x, w), y> in w: for each tap (u, v), R input channels and a
 * slice of NV vectors of y's o channels, the sum over output pixels of x's input at that tap times y's,
 * R x NV accumulators; o = 16 or 32, c a multiple of R. A few images at a time, so that their x and y
 * stay in the cache for all taps. */
#define R 8
#define IMAGES 4
#define KERNEL_GRAD(NAME, NV)                                                                                   \
    static void NAME(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left,        \
                     int h_out, int w_out, int o, int first, const float *y, float *dw) {                      \
        for (int b0 = 0; b0 < nb; b0 += IMAGES)                                                                 \
            for (int u = 0; u < k; u++)                                                                         \
                for (int v = 0; v < k; v++)                                                                     \
                    for (int c0 = 0; c0 < c; c0 += R) {                                                         \
                        float *d = dw + (((size_t)u * k + v) * c + c0) * o + first;                             \
                        lanes acc[R][NV];                                                                       \
                        for (int rr = 0; rr < R; rr++)                                                          \
                            for (int q = 0; q < NV; q++) acc[rr][q] = load(d + (size_t)rr * o + q * LANES);     \
                        for (int b = b0; b < nb && b < b0 + IMAGES; b++)                                        \
                            for (int i = 0; i < h_out; i++) {                                                   \
                                int r = i * stride + u - top;                                                   \
                                if (r < 0 || r >= h) continue;                                                  \
                                for (int j = 0; j < w_out; j++) {                                               \
                                    int s = j * stride + v - left;                                              \
                                    if (s < 0 || s >= w) continue;                                              \
                                    const float *xp = x + (((size_t)b * h + r) * w + s) * c + c0;               \
                                    const float *yp = y + (((size_t)b * h_out + i) * w_out + j) * o + first;    \
                                    lanes yv[NV];                                                               \
                                    for (int q = 0; q < NV; q++) yv[q] = load(yp + q * LANES);                  \
                                    for (int rr = 0; rr < R; rr++)                                              \
                                        for (int q = 0; q < NV; q++) acc[rr][q] += xp[rr] * yv[q];              \
                                }                                                                               \
                            }                                                                                   \
                        for (int rr = 0; rr < R; rr++)                                                          \
                            for (int q = 0; q < NV; q++) store(d + (size_t)rr * o + q * LANES, acc[rr][q]);     \
                    }                                                                                           \
    }

#if REGISTERS >= 32 /* each build compiles the kernel gradient its registers take, not both */
KERNEL_GRAD(kernel_grad1, 1)
KERNEL_GRAD(kernel_grad2, 2)
#else

/* With 16 vector registers (AVX2) the blocks above spill. This one takes a 3x3 kernel's row of taps at
 * once, as they share each output pixel's y: 3 taps x 2 input channels x 2 vectors of y's channels, 12
 * accumulators, the taps' inputs read through a table of pointers (a row of zeros outside the input)
 * built once a kernel row for a few images. o a multiple of 2 * LANES, c even. -1: out of memory. */
#define BAND 64 /* pixels */
static int kernel_grad_rows3(const float *x, int nb, int h, int w, int c, int stride, int top, int left,
                             int h_out, int w_out, int o, const float *y, float *dw) {
    size_t pixels = (size_t)h_out * w_out;
    const float **src = malloc(sizeof(*src) * IMAGES * pixels * 3);
    if (!src) return -1;
    for (int b0 = 0; b0 < nb; b0 += IMAGES) {
        size_t n = (size_t)(nb - b0 < IMAGES ? nb - b0 : IMAGES) * pixels;
        const float *yb = y + (size_t)b0 * pixels * o;
        for (int u = 0; u < 3; u++) {
            for (size_t q = 0; q < n; q++) {
                size_t b = b0 + q / pixels;
                int i = (int)(q % pixels / w_out), j = (int)(q % w_out), r = i * stride + u - top;
                for (int v = 0; v < 3; v++) {
                    int s = j * stride + v - left;
                    src[q * 3 + v] = r >= 0 && r < h && s >= 0 && s < w ? x + ((b * h + r) * w + s) * c : zeros;
                }
            }
            for (size_t p0 = 0; p0 < n; p0 += BAND) /* a band of pixels' x and y stay in L1 for all blocks */
                for (int c0 = 0; c0 < c; c0 += 2)
                    for (int o0 = 0; o0 < o; o0 += 2 * LANES) {
                        float *d[3][2];
                        lanes acc[3][2][2];
                        for (int v = 0; v < 3; v++)
                            for (int rr = 0; rr < 2; rr++) {
                                d[v][rr] = dw + (((size_t)u * 3 + v) * c + c0 + rr) * o + o0;
                                acc[v][rr][0] = load(d[v][rr]), acc[v][rr][1] = load(d[v][rr] + LANES);
                            }
                        for (size_t q = p0; q < n && q < p0 + BAND; q++) {
                            lanes y0 = load(yb + q * o + o0), y1 = load(yb + q * o + o0 + LANES);
                            for (int v = 0; v < 3; v++) {
                                float a0 = src[q * 3 + v][c0], a1 = src[q * 3 + v][c0 + 1];
                                acc[v][0][0] += a0 * y0, acc[v][0][1] += a0 * y1;
                                acc[v][1][0] += a1 * y0, acc[v][1][1] += a1 * y1;
                            }
                        }
                        for (int v = 0; v < 3; v++)
                            for (int rr = 0; rr < 2; rr++) store(d[v][rr], acc[v][rr][0]), store(d[v][rr] + LANES, acc[v][rr][1]);
                    }
        }
    }
    free(src);
    return 0;
}
#endif

/* The vector width these loops were built for (lanes.h). */
int direct_lanes(void) { return LANES; }

/* Whether direct_kernel_grad takes a k x k kernel from c to o channels (o = 16 or 32): with 32 vector
 * registers (AVX-512) c a multiple of R; with 16 (AVX2) only 3x3 kernels, c even. */
int direct_kernel_grad_fits(int k, int c, int o) {
    if (o % LANES || o > 2 * SLICE) return 0;
    return REGISTERS >= 32 ? c % R == 0 : k == 3 && c % 2 == 0 && o % (2 * LANES) == 0;
}

/* dw (k, k, c, o) = the gradient in w of <conv(x, w), y>; 0, or -1 when out of memory or where
 * direct_kernel_grad_fits(k, c, o) says no (dw untouched). */
int direct_kernel_grad(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                       int w_out, int o, const float *y, float *dw) {
    if (!direct_kernel_grad_fits(k, c, o)) return -1;
    memset(dw, 0, sizeof(float) * k * k * c * o);
#if REGISTERS >= 32
    for (int first = 0; first < o; first += SLICE)
        if ((o - first < SLICE ? o - first : SLICE) == LANES)
            kernel_grad1(x, nb, h, w, c, k, stride, top, left, h_out, w_out, o, first, y, dw);
        else
            kernel_grad2(x, nb, h, w, c, k, stride, top, left, h_out, w_out, o, first, y, dw);
    return 0;
#else
    return kernel_grad_rows3(x, nb, h, w, c, stride, top, left, h_out, w_out, o, y, dw);
#endif
}
