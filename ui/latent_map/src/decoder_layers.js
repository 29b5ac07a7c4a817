// The decoder's layer kernels in plain JavaScript, and the "js" backend that runs the compiled
// ops (decoder_spec.js) through them: dense, conv2d (cross-correlation), the exact adjoint
// conv2d_transpose and per-channel affine, channels-last (H, W, C), then the activation.
// Inner loops run over the contiguous channel axis; zero inputs (after a relu, about half of
// them) are skipped. Also the activations and the continuous Bernoulli mean the WebAssembly
// backend (decoder_wasm.js) and the output stage (decoder.js) share.

export function applyActivation(name, y, n) {
  switch (name) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < n; i++) if (y[i] < 0) y[i] = 0;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(y[i]);
      return;
    case "softplus":
      for (let i = 0; i < n; i++) {
        const v = y[i];
        y[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
  }
}

// y (n) = x (nIn) @ W (nIn, n) + b
function dense(x, W, b, y, nIn, n) {
  y.set(b);
  for (let i = 0; i < nIn; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) y[j] += xi * W[row + j];
  }
}

// Cross-correlation, W (k, k, C, O): for each output pixel, 4 output channels at a time in
// registers (no stores in the inner loop), the taps' channels streamed.
function conv2d(x, W, b, y, g) {
  const { k, s, H, Wd, C, Ho, Wo, O, top, left } = g;
  const O4 = O & ~3;
  for (let i = 0; i < Ho; i++) {
    const u0 = Math.max(0, top - i * s), u1 = Math.min(k, H + top - i * s);
    for (let j = 0; j < Wo; j++) {
      const v0 = Math.max(0, left - j * s), v1 = Math.min(k, Wd + left - j * s);
      const yo = (i * Wo + j) * O;
      if (O === 1) {
        let acc = b[0];
        for (let u = u0; u < u1; u++) {
          for (let v = v0; v < v1; v++) {
            const xo = ((i * s + u - top) * Wd + (j * s + v - left)) * C;
            const wo = (u * k + v) * C;
            for (let c = 0; c < C; c++) acc += x[xo + c] * W[wo + c];
          }
        }
        y[yo] = acc;
        continue;
      }
      for (let o = 0; o < O4; o += 4) {
        let a0 = b[o], a1 = b[o + 1], a2 = b[o + 2], a3 = b[o + 3];
        for (let u = u0; u < u1; u++) {
          for (let v = v0; v < v1; v++) {
            const xo = ((i * s + u - top) * Wd + (j * s + v - left)) * C;
            let w = (u * k + v) * C * O + o;
            for (let c = 0; c < C; c++, w += O) {
              const xc = x[xo + c];
              a0 += xc * W[w]; a1 += xc * W[w + 1]; a2 += xc * W[w + 2]; a3 += xc * W[w + 3];
            }
          }
        }
        y[yo + o] = a0; y[yo + o + 1] = a1; y[yo + o + 2] = a2; y[yo + o + 3] = a3;
      }
      for (let o = O4; o < O; o++) {
        let a = b[o];
        for (let u = u0; u < u1; u++) {
          for (let v = v0; v < v1; v++) {
            const xo = ((i * s + u - top) * Wd + (j * s + v - left)) * C;
            let w = (u * k + v) * C * O + o;
            for (let c = 0; c < C; c++, w += O) a += x[xo + c] * W[w];
          }
        }
        y[yo + o] = a;
      }
    }
  }
}

// Adjoint of conv2d, gathered: out[r, q, o] = b[o] + sum over the taps (u, v) with
// r + top - u = i*s, q + left - v = j*s inside the input of dot(x[i, j, :], W[u, v, o, :]);
// W keeps its (k, k, Cout=O, Cin=C) layout, so each dot product is contiguous.
function conv2dTranspose(x, W, b, y, g) {
  const { k, s, H, Wd, C, Ho, Wo, O, top, left } = g;
  const O4 = O & ~3;
  // the taps that reach one output pixel: where their input pixel starts in x, their (u, v) block in W
  const xs = new Int32Array(k * k), ws = new Int32Array(k * k);
  for (let r = 0; r < Ho; r++) {
    for (let q = 0; q < Wo; q++) {
      let n = 0;
      for (let u = (r + top) % s; u < k; u += s) {
        const ti = r + top - u;
        if (ti < 0) break;
        const i = ti / s;
        if (i >= H) continue;
        for (let v = (q + left) % s; v < k; v += s) {
          const tj = q + left - v;
          if (tj < 0) break;
          const j = tj / s;
          if (j >= Wd) continue;
          xs[n] = (i * Wd + j) * C;
          ws[n++] = (u * k + v) * O * C;
        }
      }
      const yo = (r * Wo + q) * O;
      for (let o = 0; o < O4; o += 4) {
        let a0 = b[o], a1 = b[o + 1], a2 = b[o + 2], a3 = b[o + 3];
        for (let t = 0; t < n; t++) {
          const xo = xs[t], w0 = ws[t] + o * C, w1 = w0 + C, w2 = w1 + C, w3 = w2 + C;
          for (let c = 0; c < C; c++) {
            const xc = x[xo + c];
            a0 += xc * W[w0 + c]; a1 += xc * W[w1 + c]; a2 += xc * W[w2 + c]; a3 += xc * W[w3 + c];
          }
        }
        y[yo + o] = a0; y[yo + o + 1] = a1; y[yo + o + 2] = a2; y[yo + o + 3] = a3;
      }
      for (let o = O4; o < O; o++) {
        let a = b[o];
        for (let t = 0; t < n; t++) {
          const xo = xs[t], w = ws[t] + o * C;
          for (let c = 0; c < C; c++) a += x[xo + c] * W[w + c];
        }
        y[yo + o] = a;
      }
    }
  }
}

function affine(x, scale, shift, y, n, C) {
  for (let p = 0; p < n; p += C) for (let c = 0; c < C; c++) y[p + c] = x[p + c] * scale[c] + shift[c];
}

// Continuous Bernoulli mean for logits t: 1/(1 - e^-t) - 1/t (-> 1/2 + t/12 near 0).
export function cbMean(t) {
  if (Math.abs(t) < 1e-3) return 0.5 + t / 12;
  return -1 / Math.expm1(-t) - 1 / t;
}

// Plain JavaScript: one Float32Array per layer output.
export function jsBackend(ops, inputSize) {
  const input = new Float32Array(inputSize);
  for (const op of ops) op.y = new Float32Array(op.outSize);
  return {
    name: "js",
    input,
    logits: ops[ops.length - 1].y,
    run() {
      let x = input;
      for (let n = 0; n < ops.length; n++) {
        const op = ops[n];
        switch (op.kind) {
          case "dense": dense(x, op.W, op.b, op.y, op.nIn, op.n); break;
          case "conv2d": conv2d(x, op.W, op.b, op.y, op.g); break;
          case "conv2d_transpose": conv2dTranspose(x, op.W, op.b, op.y, op.g); break;
          case "affine": affine(x, op.scale, op.shift, op.y, op.n, op.C); break;
        }
        applyActivation(op.act, op.y, op.outSize);
        x = op.y;
      }
    },
  };
}
