// WebAssembly SIMD kernels for decoder.js (build: ./build_wasm.sh; clang >= 14 with wasm-ld).
//
// Freestanding: no libc, no allocator. decoder.js lays out every weight and activation
// buffer in this module's memory (above __heap_base) and passes byte offsets. All tensors
// are float32, channels-last (H, W, C). Each output pixel keeps 16 (then 4, then 1) output
// channels in SIMD registers while the taps' input channels stream past: no stores in the
// inner loop, one splat plus four 16-byte weight loads per 16 multiply-adds.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef float f32;

// y (n) = x (n_in) @ W (n_in, n) + b; zero inputs skipped (after a relu, about half).
EXPORT(dense)
void dense(const f32 *x, const f32 *W, const f32 *b, f32 *y, int n_in, int n) {
  for (int j = 0; j < n; j++) y[j] = b[j];
  for (int i = 0; i < n_in; i++) {
    const f32 xi = x[i];
    if (xi == 0.0f) continue;
    const f32 *w = W + (long)i * n;
    const v128_t xv = wasm_f32x4_splat(xi);
    int j = 0;
    for (; j + 4 <= n; j += 4)
      wasm_v128_store(y + j, wasm_f32x4_add(wasm_v128_load(y + j), wasm_f32x4_mul(xv, wasm_v128_load(w + j))));
    for (; j < n; j++) y[j] += xi * w[j];
  }
}

// One output pixel: out[o] = b[o] + sum over the n_taps taps t of
// sum_c x[xoff[t] + c] * W[woff[t] + c * O + o]   (W rows of O contiguous output channels).
static inline void pixel(const f32 *x, const f32 *W, const f32 *b, f32 *out,
                         const int *xoff, const int *woff, int n_taps, int C, int O) {
  int o = 0;
  for (; o + 16 <= O; o += 16) {
    v128_t a0 = wasm_v128_load(b + o), a1 = wasm_v128_load(b + o + 4);
    v128_t a2 = wasm_v128_load(b + o + 8), a3 = wasm_v128_load(b + o + 12);
    for (int t = 0; t < n_taps; t++) {
      const f32 *xp = x + xoff[t];
      const f32 *w = W + woff[t] + o;
      for (int c = 0; c < C; c++, w += O) {
        const v128_t xv = wasm_v128_load32_splat(xp + c);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xv, wasm_v128_load(w)));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xv, wasm_v128_load(w + 4)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xv, wasm_v128_load(w + 8)));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xv, wasm_v128_load(w + 12)));
      }
    }
    wasm_v128_store(out + o, a0);
    wasm_v128_store(out + o + 4, a1);
    wasm_v128_store(out + o + 8, a2);
    wasm_v128_store(out + o + 12, a3);
  }
  for (; o + 4 <= O; o += 4) {
    v128_t a0 = wasm_v128_load(b + o);
    for (int t = 0; t < n_taps; t++) {
      const f32 *xp = x + xoff[t];
      const f32 *w = W + woff[t] + o;
      for (int c = 0; c < C; c++, w += O)
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xp + c), wasm_v128_load(w)));
    }
    wasm_v128_store(out + o, a0);
  }
  if (o == O) return;
  if (O == 1) {  // one output channel: a dot product over the input channels (W rows are contiguous)
    v128_t acc = wasm_f32x4_splat(0.0f);
    f32 tail = 0.0f;
    for (int t = 0; t < n_taps; t++) {
      const f32 *xp = x + xoff[t];
      const f32 *w = W + woff[t];
      int c = 0;
      for (; c + 4 <= C; c += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(xp + c), wasm_v128_load(w + c)));
      for (; c < C; c++) tail += xp[c] * w[c];
    }
    out[0] = b[0] + ((wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1))
                     + (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3))) + tail;
    return;
  }
  for (; o < O; o++) {
    f32 a = b[o];
    for (int t = 0; t < n_taps; t++) {
      const f32 *xp = x + xoff[t];
      const f32 *w = W + woff[t] + o;
      for (int c = 0; c < C; c++, w += O) a += xp[c] * *w;
    }
    out[o] = a;
  }
}

#define MAX_TAPS 64  // kernel <= 8 (decoder.js checks)

// Cross-correlation: W (k, k, C, O); y[i, j, o] = b[o] + sum x[i*s+u-top, j*s+v-left, c] W[u, v, c, o].
EXPORT(conv2d)
void conv2d(const f32 *x, const f32 *W, const f32 *b, f32 *y, int k, int s, int H, int Wd, int C,
            int Ho, int Wo, int O, int top, int left) {
  int xoff[MAX_TAPS], woff[MAX_TAPS];
  for (int i = 0; i < Ho; i++) {
    for (int j = 0; j < Wo; j++) {
      int n = 0;
      for (int u = 0; u < k; u++) {
        const int r = i * s + u - top;
        if (r < 0 || r >= H) continue;
        for (int v = 0; v < k; v++) {
          const int q = j * s + v - left;
          if (q < 0 || q >= Wd) continue;
          xoff[n] = (r * Wd + q) * C;
          woff[n] = (u * k + v) * C * O;
          n++;
        }
      }
      pixel(x, W, b, y + (i * Wo + j) * O, xoff, woff, n, C, O);
    }
  }
}

// Adjoint of conv2d, gathered per output pixel. Wt is the kernel re-laid out by decoder.js
// from (k, k, Cout, Cin) to (k, k, Cin, Cout): out[r, q, o] = b[o] + sum over the taps with
// r + top - u = i*s, q + left - v = j*s inside the input of sum_c x[i, j, c] Wt[u, v, c, o].
EXPORT(conv2d_transpose)
void conv2d_transpose(const f32 *x, const f32 *Wt, const f32 *b, f32 *y, int k, int s, int H, int Wd,
                      int C, int Ho, int Wo, int O, int top, int left) {
  int xoff[MAX_TAPS], woff[MAX_TAPS];
  for (int r = 0; r < Ho; r++) {
    for (int q = 0; q < Wo; q++) {
      int n = 0;
      for (int u = (r + top) % s; u < k && r + top - u >= 0; u += s) {
        const int i = (r + top - u) / s;
        if (i >= H) continue;
        for (int v = (q + left) % s; v < k && q + left - v >= 0; v += s) {
          const int j = (q + left - v) / s;
          if (j >= Wd) continue;
          xoff[n] = (i * Wd + j) * C;
          woff[n] = (u * k + v) * C * O;
          n++;
        }
      }
      pixel(x, Wt, b, y + (r * Wo + q) * O, xoff, woff, n, C, O);
    }
  }
}

// y = x * scale[c] + shift[c] per channel (a folded BatchNorm)
EXPORT(affine)
void affine(const f32 *x, const f32 *scale, const f32 *shift, f32 *y, int n, int C) {
  for (int p = 0; p < n; p += C)
    for (int c = 0; c < C; c++) y[p + c] = x[p + c] * scale[c] + shift[c];
}

EXPORT(relu)
void relu(f32 *y, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(wasm_v128_load(y + i), zero));
  for (; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}
