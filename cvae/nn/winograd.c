/* Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for channels-last float32 tensors.
 *
 * Every 2x2 block of outputs is A^T [U (.) V] A with V = B^T d B (d: the 4x4 input tile
 * under it) and U = G g G^T (g: the 3x3 kernel, transformed once by the caller). Summed
 * over input channels, each of the 16 positions of the 4x4 tile is one matrix product
 * (tiles x C) @ (C x O), done by the caller's sgemm: 2.25x fewer multiplies than im2col.
 * The kernel gradient is the same bilinear form read the other way:
 * dU = sum over tiles of V (.) (A dy A^T), i.e. 16 products (C x tiles) @ (tiles x O).
 *
 * x (nb, h, w, c); y and dy (nb, h_out, w_out, o); output (i, j) reads input rows
 * i - pad_top + 0..2 and columns j - pad_left + 0..2, zero outside the input.
 * Scratch V is 16 x T x c floats and M (or Q) 16 x T x o, with T = nb * ceil(h_out/2) * ceil(w_out/2).
 */
#include <stddef.h>

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

static void input_transform(const float *x, int nb, int h, int w, int c, int pad_top, int pad_left,
                            int th, int tw, const float *zeros, float *V, size_t T) {
    for (int b = 0; b < nb; b++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                size_t t = ((size_t)b * th + ti) * tw + tj;
                const float *d[4][4];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        int r = 2 * ti + i - pad_top, s = 2 * tj + j - pad_left;
                        d[i][j] = (r >= 0 && r < h && s >= 0 && s < w)
                                      ? x + (((size_t)b * h + r) * w + s) * c : zeros;
                    }
                float *out[16];
                for (int k = 0; k < 16; k++) out[k] = V + ((size_t)k * T + t) * c;
                for (int ch = 0; ch < c; ch++) {
                    float u[4][4];
                    for (int j = 0; j < 4; j++) {  /* B^T d: rows */
                        float d0 = d[0][j][ch], d1 = d[1][j][ch], d2 = d[2][j][ch], d3 = d[3][j][ch];
                        u[0][j] = d0 - d2; u[1][j] = d1 + d2; u[2][j] = d2 - d1; u[3][j] = d1 - d3;
                    }
                    for (int i = 0; i < 4; i++) {  /* (B^T d) B: columns */
                        float u0 = u[i][0], u1 = u[i][1], u2 = u[i][2], u3 = u[i][3];
                        out[4 * i + 0][ch] = u0 - u2; out[4 * i + 1][ch] = u1 + u2;
                        out[4 * i + 2][ch] = u2 - u1; out[4 * i + 3][ch] = u1 - u3;
                    }
                }
            }
}

static void output_transform(const float *M, size_t T, int o, int nb, int th, int tw, int h_out, int w_out,
                             float *y) {
    for (int b = 0; b < nb; b++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                size_t t = ((size_t)b * th + ti) * tw + tj;
                const float *m[16];
                for (int k = 0; k < 16; k++) m[k] = M + ((size_t)k * T + t) * o;
                int r0 = 2 * ti, s0 = 2 * tj;
                int down = r0 + 1 < h_out, right = s0 + 1 < w_out;
                float *y00 = y + (((size_t)b * h_out + r0) * w_out + s0) * o;
                float *y01 = y00 + o;
                float *y10 = y00 + (size_t)w_out * o;
                float *y11 = y10 + o;
                for (int ch = 0; ch < o; ch++) {
                    float s[2][4];
                    for (int j = 0; j < 4; j++) {  /* A^T m: rows */
                        float m0 = m[j][ch], m1 = m[4 + j][ch], m2 = m[8 + j][ch], m3 = m[12 + j][ch];
                        s[0][j] = m0 + m1 + m2; s[1][j] = m1 - m2 - m3;
                    }
                    y00[ch] = s[0][0] + s[0][1] + s[0][2];
                    if (right) y01[ch] = s[0][1] - s[0][2] - s[0][3];
                    if (down) {
                        y10[ch] = s[1][0] + s[1][1] + s[1][2];
                        if (right) y11[ch] = s[1][1] - s[1][2] - s[1][3];
                    }
                }
            }
}

static void gradient_transform(const float *dy, int nb, int h_out, int w_out, int o, int th, int tw,
                               const float *zeros, float *Q, size_t T) {
    for (int b = 0; b < nb; b++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                size_t t = ((size_t)b * th + ti) * tw + tj;
                const float *g[2][2];
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        int r = 2 * ti + i, s = 2 * tj + j;
                        g[i][j] = (r < h_out && s < w_out) ? dy + (((size_t)b * h_out + r) * w_out + s) * o : zeros;
                    }
                float *out[16];
                for (int k = 0; k < 16; k++) out[k] = Q + ((size_t)k * T + t) * o;
                for (int ch = 0; ch < o; ch++) {
                    float q[4][2];
                    for (int j = 0; j < 2; j++) {  /* A g: rows */
                        float g0 = g[0][j][ch], g1 = g[1][j][ch];
                        q[0][j] = g0; q[1][j] = g0 + g1; q[2][j] = g0 - g1; q[3][j] = -g1;
                    }
                    for (int i = 0; i < 4; i++) {  /* (A g) A^T: columns */
                        float q0 = q[i][0], q1 = q[i][1];
                        out[4 * i + 0][ch] = q0; out[4 * i + 1][ch] = q0 + q1;
                        out[4 * i + 2][ch] = q0 - q1; out[4 * i + 3][ch] = -q1;
                    }
                }
            }
}

/* U (16, n) = G g G^T for each of the n = c * o kernels g of w (3, 3, n). */
void winograd_transform_kernel(const float *w, int n, float *U) {
    for (int k = 0; k < n; k++) {
        float g[3][3], t[4][3];
        for (int u = 0; u < 3; u++)
            for (int v = 0; v < 3; v++) g[u][v] = w[(size_t)(3 * u + v) * n + k];
        for (int v = 0; v < 3; v++) {  /* G g: rows */
            t[0][v] = g[0][v]; t[1][v] = 0.5f * (g[0][v] + g[1][v] + g[2][v]);
            t[2][v] = 0.5f * (g[0][v] - g[1][v] + g[2][v]); t[3][v] = g[2][v];
        }
        for (int i = 0; i < 4; i++) {  /* (G g) G^T: columns */
            U[(size_t)(4 * i + 0) * n + k] = t[i][0];
            U[(size_t)(4 * i + 1) * n + k] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            U[(size_t)(4 * i + 2) * n + k] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            U[(size_t)(4 * i + 3) * n + k] = t[i][2];
        }
    }
}

/* dw (3, 3, n) = G^T dU G: the adjoint of winograd_transform_kernel. */
void winograd_kernel_from(const float *dU, int n, float *dw) {
    for (int k = 0; k < n; k++) {
        float d[4][4], s[3][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) d[i][j] = dU[(size_t)(4 * i + j) * n + k];
        for (int j = 0; j < 4; j++) {  /* G^T dU: rows */
            s[0][j] = d[0][j] + 0.5f * (d[1][j] + d[2][j]);
            s[1][j] = 0.5f * (d[1][j] - d[2][j]);
            s[2][j] = 0.5f * (d[1][j] + d[2][j]) + d[3][j];
        }
        for (int u = 0; u < 3; u++) {  /* (G^T dU) G: columns */
            dw[(size_t)(3 * u + 0) * n + k] = s[u][0] + 0.5f * (s[u][1] + s[u][2]);
            dw[(size_t)(3 * u + 1) * n + k] = 0.5f * (s[u][1] - s[u][2]);
            dw[(size_t)(3 * u + 2) * n + k] = 0.5f * (s[u][1] + s[u][2]) + s[u][3];
        }
    }
}

/* y = conv(x, g) for the transformed kernel U (16, c, o). */
void winograd_forward(sgemm_fn sgemm, const float *x, int nb, int h, int w, int c, int pad_top, int pad_left,
                      const float *U, int o, int h_out, int w_out, float *y, float *V, float *M,
                      const float *zeros) {
    int th = (h_out + 1) / 2, tw = (w_out + 1) / 2;
    size_t T = (size_t)nb * th * tw;
    input_transform(x, nb, h, w, c, pad_top, pad_left, th, tw, zeros, V, T);
    for (int k = 0; k < 16; k++)
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)T, o, c, 1.0f, V + (size_t)k * T * c, c,
              U + (size_t)k * c * o, o, 0.0f, M + (size_t)k * T * o, o);
    output_transform(M, T, o, nb, th, tw, h_out, w_out, y);
}

/* dU (16, c, o) = the gradient of <conv(x, g), dy> in U; the caller maps it back to g. */
void winograd_kernel_grad(sgemm_fn sgemm, const float *x, int nb, int h, int w, int c, int pad_top,
                          int pad_left, const float *dy, int o, int h_out, int w_out, float *dU, float *V,
                          float *Q, const float *zeros) {
    int th = (h_out + 1) / 2, tw = (w_out + 1) / 2;
    size_t T = (size_t)nb * th * tw;
    input_transform(x, nb, h, w, c, pad_top, pad_left, th, tw, zeros, V, T);
    gradient_transform(dy, nb, h_out, w_out, o, th, tw, zeros, Q, T);
    for (int k = 0; k < 16; k++)
        sgemm(ROW_MAJOR, TRANS, NO_TRANS, c, o, (int)T, 1.0f, V + (size_t)k * T * c, c,
              Q + (size_t)k * T * o, o, 0.0f, dU + (size_t)k * c * o, o);
}
