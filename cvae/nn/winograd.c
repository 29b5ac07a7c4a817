/* Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for channels-last float32 tensors.
 *
 * Every 2x2 block of outputs is A^T [U (.) V] A with V = B^T d B (d: the 4x4 input tile
 * under it) and U = G g G^T (g: the 3x3 kernel, transformed once by the caller). Summed
 * over input channels, each of the 16 positions of the 4x4 tile is one matrix product
 * (tiles x C) @ (C x O): 2.25x fewer multiplies than im2col. The kernel gradient is the same
 * bilinear form read the other way: dU = sum over tiles of V (.) (A dy A^T), i.e. 16 products
 * (C x tiles) @ (tiles x O).
 *
 * x (nb, h, w, c); y and dy (nb, h_out, w_out, o); output (i, j) reads input rows
 * i - pad_top + 0..2 and columns j - pad_left + 0..2, zero outside the input.
 * Tiles go a chunk at a time (the caller picks its size) so that V (16 x chunk x c) and M or Q
 * (16 x chunk x o) stay in the cache; the products are our vector loops where o is a multiple of
 * WIDTH (measured: the BLAS's sgemm costs ~7 us a call at these sizes).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lanes.h"

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

#define ROWS 6 /* a block of the products: ROWS tiles (or input channels) x 2 vectors, 12 accumulators */
#define WIDTH (2 * LANES)

/* M (n, o) = V (n, c) @ U (c, o), for o a multiple of WIDTH; reads up to ROWS - 1 rows past V's n. */
static void products(const float *V, const float *U, int n, int c, int o, float *M) {
    for (int q = 0; q < o; q += WIDTH) /* a column block of U stays in L1 */
        for (int t = 0; t < n; t += ROWS) {
            lanes acc[ROWS][2];
            for (int p = 0; p < ROWS; p++) acc[p][0] = acc[p][1] = (lanes){0};
            const float *v = V + (size_t)t * c;
            for (int e = 0; e < c; e++) {
                lanes u0 = load(U + (size_t)e * o + q), u1 = load(U + (size_t)e * o + q + LANES);
                for (int p = 0; p < ROWS; p++) {
                    float a = v[(size_t)p * c + e];
                    acc[p][0] += a * u0;
                    acc[p][1] += a * u1;
                }
            }
            int count = n - t < ROWS ? n - t : ROWS;
            for (int p = 0; p < count; p++) {
                store(M + (size_t)(t + p) * o + q, acc[p][0]);
                store(M + (size_t)(t + p) * o + q + LANES, acc[p][1]);
            }
        }
}

/* dU (c, o) += V (n, c)^T @ Q (n, o), for o a multiple of WIDTH; reads up to ROWS - 1 floats past V. */
static void gradient_products(const float *V, const float *Q, int n, int c, int o, float *dU) {
    for (int q = 0; q < o; q += WIDTH)
        for (int e = 0; e < c; e += ROWS) {
            lanes acc[ROWS][2];
            for (int p = 0; p < ROWS; p++) acc[p][0] = acc[p][1] = (lanes){0};
            for (int t = 0; t < n; t++) {
                lanes g0 = load(Q + (size_t)t * o + q), g1 = load(Q + (size_t)t * o + q + LANES);
                const float *v = V + (size_t)t * c + e;
                for (int p = 0; p < ROWS; p++) {
                    acc[p][0] += v[p] * g0;
                    acc[p][1] += v[p] * g1;
                }
            }
            int count = c - e < ROWS ? c - e : ROWS;
            for (int p = 0; p < count; p++) {
                float *d = dU + (size_t)(e + p) * o + q;
                store(d, load(d) + acc[p][0]);
                store(d + LANES, load(d + LANES) + acc[p][1]);
            }
        }
}

/* The 16 positions of a chunk's scratch lie `floats` apart, rounded up to a cache line and never a
 * multiple of 4 KB: 16 streams 4 KB apart share cache sets (measured: chunks of 16 or 48 tiles of 64
 * channels, 2.3x slower than 24 or 60). */
static size_t stagger(size_t floats) {
    size_t lines = (floats + 15) / 16 * 16;
    return lines % 1024 ? lines : lines + 16;
}

/* Tile `tile` of the batch: image b, tile row ti, tile column tj. */
#define TILE_INDEX                                  \
    size_t b = tile / ((size_t)th * tw);            \
    int ti = (int)(tile / tw % th), tj = (int)(tile % tw);

/* The transforms of one tile for channels ch.. (a vector of them, or one: T lanes or float), written
 * once for both. d: the 16 input pixels' rows, m: M's 16 positions, g: dy's 4 pixels' rows, out: V's
 * or Q's 16 positions. */
static inline float get(const float *p) { return *p; }
static inline void put(float *p, float v) { *p = v; }

#define INPUT_TILE(T, LOAD, STORE)                                                              \
    {                                                                                           \
        T u[4][4];                                                                              \
        for (int j = 0; j < 4; j++) { /* B^T d: rows */                                        \
            T d0 = LOAD(d[0][j] + ch), d1 = LOAD(d[1][j] + ch), d2 = LOAD(d[2][j] + ch),        \
              d3 = LOAD(d[3][j] + ch);                                                          \
            u[0][j] = d0 - d2, u[1][j] = d1 + d2, u[2][j] = d2 - d1, u[3][j] = d1 - d3;         \
        }                                                                                       \
        for (int i = 0; i < 4; i++) { /* (B^T d) B: columns */                                 \
            T u0 = u[i][0], u1 = u[i][1], u2 = u[i][2], u3 = u[i][3];                           \
            STORE(out[4 * i + 0] + ch, u0 - u2), STORE(out[4 * i + 1] + ch, u1 + u2);           \
            STORE(out[4 * i + 2] + ch, u2 - u1), STORE(out[4 * i + 3] + ch, u1 - u3);           \
        }                                                                                       \
    }

#define OUTPUT_TILE(T, LOAD, STORE)                                                             \
    {                                                                                           \
        T s[2][4];                                                                              \
        for (int j = 0; j < 4; j++) { /* A^T m: rows */                                        \
            T m0 = LOAD(m[j] + ch), m1 = LOAD(m[4 + j] + ch), m2 = LOAD(m[8 + j] + ch),         \
              m3 = LOAD(m[12 + j] + ch);                                                        \
            s[0][j] = m0 + m1 + m2, s[1][j] = m1 - m2 - m3;                                     \
        }                                                                                       \
        STORE(y00 + ch, s[0][0] + s[0][1] + s[0][2]);                                           \
        if (right) STORE(y01 + ch, s[0][1] - s[0][2] - s[0][3]);                                \
        if (down) {                                                                             \
            STORE(y10 + ch, s[1][0] + s[1][1] + s[1][2]);                                       \
            if (right) STORE(y11 + ch, s[1][1] - s[1][2] - s[1][3]);                            \
        }                                                                                       \
    }

#define GRADIENT_TILE(T, LOAD, STORE)                                                           \
    {                                                                                           \
        T q[4][2];                                                                              \
        for (int j = 0; j < 2; j++) { /* A g: rows */                                          \
            T g0 = LOAD(g[0][j] + ch), g1 = LOAD(g[1][j] + ch);                                 \
            q[0][j] = g0, q[1][j] = g0 + g1, q[2][j] = g0 - g1, q[3][j] = -g1;                  \
        }                                                                                       \
        for (int i = 0; i < 4; i++) { /* (A g) A^T: columns */                                 \
            T q0 = q[i][0], q1 = q[i][1];                                                       \
            STORE(out[4 * i + 0] + ch, q0), STORE(out[4 * i + 1] + ch, q0 + q1);                \
            STORE(out[4 * i + 2] + ch, q0 - q1), STORE(out[4 * i + 3] + ch, -q1);               \
        }                                                                                       \
    }

/* V[k][tile - t0] (position k: `stride` floats apart) = B^T d B for tiles t0..t1 - 1 of x. */
static void input_transform(const float *x, int h, int w, int c, int pad_top, int pad_left, int th, int tw,
                            const float *zeros, size_t t0, size_t t1, float *V, size_t stride) {
    for (size_t tile = t0; tile < t1; tile++) {
        TILE_INDEX
        const float *d[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                int r = 2 * ti + i - pad_top, s = 2 * tj + j - pad_left;
                d[i][j] = (r >= 0 && r < h && s >= 0 && s < w) ? x + ((b * h + r) * w + s) * c : zeros;
            }
        float *out[16];
        for (int k = 0; k < 16; k++) out[k] = V + k * stride + (tile - t0) * c;
        int ch = 0;
        for (; ch + LANES <= c; ch += LANES) INPUT_TILE(lanes, load, store)
        for (; ch < c; ch++) INPUT_TILE(float, get, put)
    }
}

/* y's 2x2 outputs of tiles t0..t1 - 1 = A^T m A, from M[k][tile - t0] (`stride` floats apart). */
static void output_transform(const float *M, size_t stride, int o, int th, int tw, int h_out, int w_out, size_t t0,
                             size_t t1, float *y) {
    for (size_t tile = t0; tile < t1; tile++) {
        TILE_INDEX
        const float *m[16];
        for (int k = 0; k < 16; k++) m[k] = M + k * stride + (tile - t0) * o;
        int r0 = 2 * ti, s0 = 2 * tj;
        int down = r0 + 1 < h_out, right = s0 + 1 < w_out;
        float *y00 = y + ((b * h_out + r0) * w_out + s0) * o, *y01 = y00 + o;
        float *y10 = y00 + (size_t)w_out * o, *y11 = y10 + o;
        int ch = 0;
        for (; ch + LANES <= o; ch += LANES) OUTPUT_TILE(lanes, load, store)
        for (; ch < o; ch++) OUTPUT_TILE(float, get, put)
    }
}

/* Q[k][tile - t0] (`stride` floats apart) = A g A^T for the 2x2 blocks g of dy under tiles t0..t1 - 1. */
static void gradient_transform(const float *dy, int h_out, int w_out, int o, int th, int tw, const float *zeros,
                               size_t t0, size_t t1, float *Q, size_t stride) {
    for (size_t tile = t0; tile < t1; tile++) {
        TILE_INDEX
        const float *g[2][2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int r = 2 * ti + i, s = 2 * tj + j;
                g[i][j] = (r < h_out && s < w_out) ? dy + ((b * h_out + r) * w_out + s) * o : zeros;
            }
        float *out[16];
        for (int k = 0; k < 16; k++) out[k] = Q + k * stride + (tile - t0) * o;
        int ch = 0;
        for (; ch + LANES <= o; ch += LANES) GRADIENT_TILE(lanes, load, store)
        for (; ch < o; ch++) GRADIENT_TILE(float, get, put)
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

/* Scratch for a chunk of `chunk` tiles: V (16 positions `*sv` floats apart, and ROWS rows past the
 * end that the products read) and M or Q (`*so` apart) in one block, then a row of zeros; NULL if
 * out of memory. */
static float *scratch(int chunk, int c, int o, size_t *sv, size_t *so, float **second, const float **zeros) {
    *sv = stagger((size_t)chunk * c), *so = stagger((size_t)chunk * o);
    size_t v_floats = 16 * *sv + (size_t)ROWS * c, o_floats = 16 * *so, z_floats = c > o ? c : o;
    float *block = malloc(sizeof(float) * (v_floats + o_floats + z_floats));
    if (block) {
        *second = block + v_floats, *zeros = block + v_floats + o_floats;
        memset(block + v_floats + o_floats, 0, sizeof(float) * z_floats);
    }
    return block;
}

/* y = conv(x, g) for the transformed kernel U (16, c, o), `chunk` tiles at a time. 0, or -1 when out of
 * memory. */
int winograd_forward(sgemm_fn sgemm, const float *x, int nb, int h, int w, int c, int pad_top, int pad_left,
                     const float *U, int o, int h_out, int w_out, float *y, int chunk) {
    int th = (h_out + 1) / 2, tw = (w_out + 1) / 2;
    size_t T = (size_t)nb * th * tw, sv, so;
    float *M;
    const float *zeros;
    float *V = scratch(chunk, c, o, &sv, &so, &M, &zeros);
    if (!V) return -1;
    for (size_t t0 = 0; t0 < T; t0 += chunk) {
        size_t t1 = t0 + chunk < T ? t0 + chunk : T;
        int n = (int)(t1 - t0);
        input_transform(x, h, w, c, pad_top, pad_left, th, tw, zeros, t0, t1, V, sv);
        for (int k = 0; k < 16; k++)
            if (o % WIDTH == 0)
                products(V + k * sv, U + (size_t)k * c * o, n, c, o, M + k * so);
            else
                sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, o, c, 1.0f, V + k * sv, c, U + (size_t)k * c * o, o, 0.0f,
                      M + k * so, o);
        output_transform(M, so, o, th, tw, h_out, w_out, t0, t1, y);
    }
    free(V);
    return 0;
}

/* dU (16, c, o) = the gradient of <conv(x, g), dy> in U, summed over chunks of `chunk` tiles; the caller
 * maps it back to g. 0, or -1 when out of memory. */
int winograd_kernel_grad(sgemm_fn sgemm, const float *x, int nb, int h, int w, int c, int pad_top, int pad_left,
                         const float *dy, int o, int h_out, int w_out, float *dU, int chunk) {
    int th = (h_out + 1) / 2, tw = (w_out + 1) / 2;
    size_t T = (size_t)nb * th * tw, sv, so;
    float *Q;
    const float *zeros;
    float *V = scratch(chunk, c, o, &sv, &so, &Q, &zeros);
    if (!V) return -1;
    memset(dU, 0, sizeof(float) * 16 * c * o);
    for (size_t t0 = 0; t0 < T; t0 += chunk) {
        size_t t1 = t0 + chunk < T ? t0 + chunk : T;
        int n = (int)(t1 - t0);
        input_transform(x, h, w, c, pad_top, pad_left, th, tw, zeros, t0, t1, V, sv);
        gradient_transform(dy, h_out, w_out, o, th, tw, zeros, t0, t1, Q, so);
        for (int k = 0; k < 16; k++)
            if (o % WIDTH == 0)
                gradient_products(V + k * sv, Q + k * so, n, c, o, dU + (size_t)k * c * o);
            else
                sgemm(ROW_MAJOR, TRANS, NO_TRANS, c, o, n, 1.0f, V + k * sv, c, Q + k * so, o, 1.0f,
                      dU + (size_t)k * c * o, o);
    }
    free(V);
    return 0;
}
