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
 * the BLAS (or Winograd) is far from its speed. */
#define RUN_GEOMETRY                                                          \
    int s0 = j * stride - left;                                               \
    int v0 = s0 < 0 ? -s0 : 0, v1 = s0 + k > w ? w - s0 : k;                  \
    int r = i * stride + u - top;                                             \
    if (r < 0 || r >= h || v1 <= v0) continue;                                \
    size_t n = (size_t)(v1 - v0) * c;                                         \
    size_t at_x = (((size_t)b * h + r) * w + s0 + v0) * c;                    \
    size_t at_w = ((size_t)u * k + v0) * c;

static float dot(const float *a, const float *b, size_t n) {
    float acc[16] = {0};  /* 16 lanes the compiler keeps in one vector register */
    size_t e = 0;
    for (; e + 16 <= n; e += 16)
        for (int l = 0; l < 16; l++) acc[l] += a[e + l] * b[e + l];
    float s = 0;
    for (; e < n; e++) s += a[e] * b[e];
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

/* y (nb, h_out, w_out) = conv(x (nb, h, w, c), wk (k, k, c, 1)) */
void conv1_forward(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                   int w_out, const float *wk, float *y) {
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out; j++) {
                float s = 0;
                for (int u = 0; u < k; u++) {
                    RUN_GEOMETRY
                    s += dot(x + at_x, wk + at_w, n);
                }
                y[((size_t)b * h_out + i) * w_out + j] = s;
            }
}

/* The two gradients of conv1_forward walk its runs, each weighted by dy at its output pixel:
 * into[run] += dy * from[run], where the runs of x (and dx) start at at_x and those of the
 * kernel (and dw) at at_w. */
static void conv1_backward(const float *dy, int nb, int h, int w, int c, int k, int stride, int top, int left,
                           int h_out, int w_out, const float *from, float *into, int into_is_x) {
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < h_out; i++)
            for (int j = 0; j < w_out; j++) {
                float g = dy[((size_t)b * h_out + i) * w_out + j];
                for (int u = 0; u < k; u++) {
                    RUN_GEOMETRY
                    float *d = into + (into_is_x ? at_x : at_w);
                    const float *q = from + (into_is_x ? at_w : at_x);
                    for (size_t e = 0; e < n; e++) d[e] += g * q[e];
                }
            }
}

/* dx (nb, h, w, c) = the adjoint of conv1_forward applied to dy (nb, h_out, w_out) */
void conv1_adjoint(const float *dy, int nb, int h, int w, int c, int k, int stride, int top, int left, int h_out,
                   int w_out, const float *wk, float *dx) {
    memset(dx, 0, sizeof(float) * nb * h * w * c);
    conv1_backward(dy, nb, h, w, c, k, stride, top, left, h_out, w_out, wk, dx, 1);
}

/* dw (k, k, c, 1) = the gradient of <conv1_forward(x, w), dy> in w */
void conv1_kernel_grad(const float *x, int nb, int h, int w, int c, int k, int stride, int top, int left,
                       int h_out, int w_out, const float *dy, float *dw) {
    memset(dw, 0, sizeof(float) * k * k * c);
    conv1_backward(dy, nb, h, w, c, k, stride, top, left, h_out, w_out, x, dw, 0);
}
