// The CVAE decoder's forward pass in plain JavaScript (an ES module, no build step).
//
// Reads the "cvae-decoder/1" export (a JSON spec plus one little-endian float32 buffer,
// written by the Python exporter) and computes the same pixel means as cvae's compiled
// PyTensor decoder (VAE.decode): dense, reshape, conv2d (cross-correlation), the exact
// adjoint conv2d_transpose and per-channel affine layers, channels-last (H, W, C).
//
//   import { loadDecoder, paintDigit } from "./decoder.js";
//   const dec = loadDecoder(spec, await (await fetch("decoder.bin")).arrayBuffer());
//   const pixels = dec.decode(new Float32Array([0.5, -1.2]));  // Float32Array(784), row-major
//   paintDigit(canvas, pixels);
//
// Speed: every buffer is allocated once in loadDecoder; decode() allocates nothing and
// returns the same output array every call (copy it to keep it). Inner loops run over the
// contiguous channel axis; zero inputs (after a relu, about half of them) are skipped.

import { KERNELS_WASM_BASE64 } from "./kernels_wasm.js";

export const FORMAT = "cvae-decoder/1";
const ACTIVATIONS = new Set(["linear", "relu", "sigmoid", "tanh", "softplus"]);
const OUTPUTS = new Set(["sigmoid", "continuous-bernoulli-mean"]);

export class DecoderSpecError extends Error {
  constructor(message) {
    super(message);
    this.name = "DecoderSpecError";
  }
}

function fail(message) {
  throw new DecoderSpecError(message);
}

function isCount(n) {
  return Number.isInteger(n) && n >= 1;
}

function checkShape(shape, rank, what) {
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every(isCount)) {
    fail(`${what} must be ${rank} positive integers; got ${JSON.stringify(shape)}`);
  }
  return shape;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// A copy of `count` float32 values at element `offset` of the weights buffer.
function readFloats(buffer, ref, expected, what) {
  if (!Array.isArray(ref) || ref.length !== 2 || !Number.isInteger(ref[0]) || ref[0] < 0 || !Number.isInteger(ref[1])) {
    fail(`${what}: expected [offset, count]; got ${JSON.stringify(ref)}`);
  }
  const [offset, count] = ref;
  if (count !== expected) fail(`${what}: ${count} floats, expected ${expected}`);
  if ((offset + count) * 4 > buffer.byteLength) {
    fail(`${what}: floats ${offset}..${offset + count} lie outside the ${buffer.byteLength / 4}-float weights buffer`);
  }
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    out.set(new Float32Array(buffer, offset * 4, count));
  } else {
    const view = new DataView(buffer, offset * 4, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
  for (let i = 0; i < count; i++) if (!Number.isFinite(out[i])) fail(`${what}: weight ${i} is not finite`);
  return out;
}

function activation(layer, where) {
  const name = layer.activation ?? "linear";
  if (!ACTIVATIONS.has(name)) fail(`${where}: unknown activation ${JSON.stringify(name)}`);
  return name;
}

// ---------------------------------------------------------------- kernels

function applyActivation(name, y, n) {
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
  for (let r = 0; r < Ho; r++) {
    for (let q = 0; q < Wo; q++) {
      const yo = (r * Wo + q) * O;
      for (let o = 0; o < O4; o += 4) {
        let a0 = b[o], a1 = b[o + 1], a2 = b[o + 2], a3 = b[o + 3];
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
            const xo = (i * Wd + j) * C;
            const w0 = ((u * k + v) * O + o) * C, w1 = w0 + C, w2 = w1 + C, w3 = w2 + C;
            for (let c = 0; c < C; c++) {
              const xc = x[xo + c];
              a0 += xc * W[w0 + c]; a1 += xc * W[w1 + c]; a2 += xc * W[w2 + c]; a3 += xc * W[w3 + c];
            }
          }
        }
        y[yo + o] = a0; y[yo + o + 1] = a1; y[yo + o + 2] = a2; y[yo + o + 3] = a3;
      }
      for (let o = O4; o < O; o++) {
        let a = b[o];
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
            const xo = (i * Wd + j) * C, w = ((u * k + v) * O + o) * C;
            for (let c = 0; c < C; c++) a += x[xo + c] * W[w + c];
          }
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
function cbMean(t) {
  if (Math.abs(t) < 1e-3) return 0.5 + t / 12;
  return -1 / Math.expm1(-t) - 1 / t;
}

// ---------------------------------------------------------------- loading

function compileLayers(spec, buffer) {
  const inputSize = spec.latent_dim + spec.conditioning;
  let shape = [inputSize];
  const ops = [];
  spec.layers.forEach((layer, index) => {
    const where = `layer ${index} (${layer && layer.type}${layer && layer.name ? " " + layer.name : ""})`;
    const size = shape.reduce((a, n) => a * n, 1);
    if (!layer || typeof layer !== "object") fail(`layer ${index} is not an object`);
    switch (layer.type) {
      case "dense": {
        if (shape.length !== 1) fail(`${where}: needs a flat input; got shape ${JSON.stringify(shape)}`);
        if (!isCount(layer.in) || !isCount(layer.units)) fail(`${where}: "in" and "units" must be positive integers`);
        if (layer.in !== size) fail(`${where}: in = ${layer.in}, but its input has ${size} values`);
        const n = layer.units;
        const W = readFloats(buffer, layer.W, size * n, `${where} W`);
        const b = readFloats(buffer, layer.b, n, `${where} b`);
        ops.push({ kind: "dense", W, b, nIn: size, n, act: activation(layer, where), outSize: n });
        shape = [n];
        break;
      }
      case "reshape": {
        const target = layer.shape;
        if (!Array.isArray(target) || target.length < 1 || !target.every(isCount)) fail(`${where}: bad shape ${JSON.stringify(target)}`);
        if (target.reduce((a, n) => a * n, 1) !== size) fail(`${where}: cannot reshape ${size} values to ${JSON.stringify(target)}`);
        shape = target.slice();
        break;
      }
      case "conv2d":
      case "conv2d_transpose": {
        const [H, Wd, C] = checkShape(layer.in_shape, 3, `${where} in_shape`);
        const [Ho, Wo, O] = checkShape(layer.out_shape, 3, `${where} out_shape`);
        if (shape.length !== 3 || shape[0] !== H || shape[1] !== Wd || shape[2] !== C) {
          fail(`${where}: in_shape ${JSON.stringify(layer.in_shape)}, but its input has shape ${JSON.stringify(shape)}`);
        }
        const k = layer.kernel, s = layer.stride, top = layer.pad_top, left = layer.pad_left;
        if (!isCount(k) || !isCount(s)) fail(`${where}: kernel and stride must be positive integers`);
        if (!Number.isInteger(top) || !Number.isInteger(left) || top < 0 || left < 0 || top >= k || left >= k) {
          fail(`${where}: pad_top/pad_left must be integers in [0, kernel)`);
        }
        // the kernels bounds-check every tap, so any pads in [0, k) are computable; the
        // cross-correlation (input -> output for conv2d, output -> input for the adjoint) must
        // not reach past the padded edge on the far side either
        const [gh, gw, ch, cw] = layer.type === "conv2d" ? [H, Wd, Ho, Wo] : [Ho, Wo, H, Wd];
        if ((ch - 1) * s - top >= gh || (cw - 1) * s - left >= gw) {
          fail(`${where}: a ${k}x${k} stride-${s} window with pads (${top}, ${left}) cannot map ${gh}x${gw} to ${ch}x${cw}`);
        }
        const count = k * k * C * O;
        const W = readFloats(buffer, layer.W, count, `${where} W`);
        const b = readFloats(buffer, layer.b, O, `${where} b`);
        const g = { k, s, H, Wd, C, Ho, Wo, O, top, left };
        // conv2d: W (k, k, C, O); conv2d_transpose: W (k, k, Cout=O, Cin=C), as exported
        ops.push({ kind: layer.type, W, b, g, act: activation(layer, where), outSize: Ho * Wo * O });
        shape = [Ho, Wo, O];
        break;
      }
      case "affine": {
        const C = shape[shape.length - 1];
        const scale = readFloats(buffer, layer.scale, C, `${where} scale`);
        const shift = readFloats(buffer, layer.shift, C, `${where} shift`);
        ops.push({ kind: "affine", scale, shift, C, n: size, act: activation(layer, where), outSize: size });
        break;
      }
      default:
        fail(`${where}: unknown layer type ${JSON.stringify(layer.type)}`);
    }
  });
  return { ops, shape };
}

// ---------------------------------------------------------------- backends

// Plain JavaScript: one Float32Array per layer output.
function jsBackend(ops, inputSize) {
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

const WASM_MAX_KERNEL = 8; // kernels.c: MAX_TAPS 64
let kernelsModule = null;
let kernelsBytes = null;

function wasmBytes() {
  if (!kernelsBytes) {
    const bin = atob(KERNELS_WASM_BASE64);
    kernelsBytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) kernelsBytes[i] = bin.charCodeAt(i);
  }
  return kernelsBytes;
}

/** Whether this engine runs WebAssembly with 128-bit SIMD (the kernels validate). */
export function wasmSimdSupported() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(wasmBytes());
  } catch {
    return false;
  }
}

/** Compile the SIMD kernels asynchronously (once); later loadDecoder calls need no compile. */
export async function preloadKernels() {
  if (!kernelsModule && wasmSimdSupported()) kernelsModule = await WebAssembly.compile(wasmBytes());
  return kernelsModule !== null;
}

function kernelsSync() {
  if (!kernelsModule && wasmSimdSupported()) {
    try {
      kernelsModule = new WebAssembly.Module(wasmBytes()); // 7 KB: allowed on a main thread
    } catch {
      return null;
    }
  }
  return kernelsModule;
}

// WebAssembly SIMD (kernels.c): every weight and buffer in the instance's own memory.
function wasmBackend(ops, inputSize, module) {
  const ex = new WebAssembly.Instance(module, {}).exports;
  let end = (ex.__heap_base.value + 15) & ~15;
  const alloc = (nFloats) => {
    const at = end;
    end = (end + 4 * nFloats + 15) & ~15;
    return at;
  };
  const inputAt = alloc(inputSize);
  const plan = ops.map((op) => {
    const p = { op, y: alloc(op.outSize) };
    if (op.kind === "affine") {
      p.scale = alloc(op.C);
      p.shift = alloc(op.C);
    } else {
      p.W = alloc(op.W.length);
      p.b = alloc(op.b.length);
    }
    return p;
  });
  const pages = Math.ceil(end / 65536) - ex.memory.buffer.byteLength / 65536;
  if (pages > 0) ex.memory.grow(pages);
  const heap = new Float32Array(ex.memory.buffer); // the memory never grows again: views stay valid
  for (const p of plan) {
    const { op } = p;
    if (op.kind === "affine") {
      heap.set(op.scale, p.scale / 4);
      heap.set(op.shift, p.shift / 4);
    } else if (op.kind === "conv2d_transpose") {
      const { k, C, O } = op.g; // (k, k, Cout=O, Cin=C) -> (k, k, C, O): the gather runs over contiguous o
      const base = p.W / 4;
      for (let t = 0; t < k * k; t++) {
        for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) heap[base + (t * C + c) * O + o] = op.W[(t * O + o) * C + c];
      }
      heap.set(op.b, p.b / 4);
    } else {
      heap.set(op.W, p.W / 4);
      heap.set(op.b, p.b / 4);
    }
    p.yView = heap.subarray(p.y / 4, p.y / 4 + op.outSize);
  }
  const { dense: wDense, conv2d: wConv, conv2d_transpose: wConvT, affine: wAffine, relu: wRelu } = ex;
  return {
    name: "wasm-simd",
    input: heap.subarray(inputAt / 4, inputAt / 4 + inputSize),
    logits: plan[plan.length - 1].yView,
    run() {
      let x = inputAt;
      for (let n = 0; n < plan.length; n++) {
        const p = plan[n], op = p.op, g = op.g;
        switch (op.kind) {
          case "dense": wDense(x, p.W, p.b, p.y, op.nIn, op.n); break;
          case "conv2d": wConv(x, p.W, p.b, p.y, g.k, g.s, g.H, g.Wd, g.C, g.Ho, g.Wo, g.O, g.top, g.left); break;
          case "conv2d_transpose": wConvT(x, p.W, p.b, p.y, g.k, g.s, g.H, g.Wd, g.C, g.Ho, g.Wo, g.O, g.top, g.left); break;
          case "affine": wAffine(x, p.scale, p.shift, p.y, op.n, op.C); break;
        }
        if (op.act === "relu") wRelu(p.y, op.outSize);
        else applyActivation(op.act, p.yView, op.outSize);
        x = p.y;
      }
    },
  };
}

/**
 * Build a decoder from a "cvae-decoder/1" spec (object or JSON string) and its weights
 * (ArrayBuffer, or a typed array / DataView over one). Throws DecoderSpecError on any mismatch.
 *
 * backend: "auto" (default: WebAssembly SIMD where the engine has it, else JavaScript),
 * "wasm" (SIMD or an error) or "js". Synchronous; the 7 KB kernel module is compiled on
 * first use (or call `await preloadKernels()` first, or use `createDecoder`).
 */
export function loadDecoder(spec, weights, { backend = "auto" } = {}) {
  if (!["auto", "wasm", "js"].includes(backend)) throw new TypeError(`backend must be "auto", "wasm" or "js"; got ${backend}`);
  if (typeof spec === "string") spec = JSON.parse(spec);
  if (!spec || spec.format !== FORMAT) fail(`expected format ${FORMAT}; got ${JSON.stringify(spec && spec.format)}`);
  let buffer = weights;
  if (ArrayBuffer.isView(weights)) {
    buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  }
  if (!(buffer instanceof ArrayBuffer)) fail("weights must be an ArrayBuffer or a typed array");
  if (buffer.byteLength % 4) fail(`the weights buffer has ${buffer.byteLength} bytes, not a whole number of float32s`);
  if (spec.n_floats !== undefined && spec.n_floats * 4 !== buffer.byteLength) {
    fail(`the spec describes a ${spec.n_floats}-float buffer; this one has ${buffer.byteLength / 4} (spec and weights from different exports?)`);
  }
  const L = spec.latent_dim, K = spec.conditioning ?? 0;
  if (!isCount(L)) fail(`latent_dim must be a positive integer; got ${JSON.stringify(L)}`);
  if (!Number.isInteger(K) || K < 0) fail(`conditioning must be a non-negative integer; got ${JSON.stringify(K)}`);
  const output = spec.output ?? "sigmoid";
  if (!OUTPUTS.has(output)) fail(`unknown output ${JSON.stringify(output)}; expected one of ${[...OUTPUTS].join(", ")}`);
  const outShape = spec.output_shape ?? [28, 28, 1];
  checkShape(outShape, 3, "output_shape");
  if (outShape[2] !== 1) fail(`output_shape must have one channel; got ${JSON.stringify(outShape)}`);
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) fail("layers must be a non-empty list");

  const { ops, shape } = compileLayers({ ...spec, latent_dim: L, conditioning: K }, buffer);
  const nPixels = outShape[0] * outShape[1];
  if (shape.reduce((a, n) => a * n, 1) !== nPixels || (shape.length === 3 && shape[2] !== 1)) {
    fail(`the last layer gives shape ${JSON.stringify(shape)}, not output_shape ${JSON.stringify(outShape)}`);
  }
  if (ops.length === 0) fail("the decoder has no layer with weights");
  const flops = ops.reduce((a, op) => a + 2 * (op.kind === "dense" ? op.nIn * op.n
    : op.kind === "affine" ? op.n / 2 : op.g.k * op.g.k * op.g.C * op.g.O * (op.kind === "conv2d" ? op.g.Ho * op.g.Wo : op.g.H * op.g.Wd)), 0);

  let engine = null;
  if (backend !== "js") {
    const fits = ops.every((op) => !op.g || op.g.k <= WASM_MAX_KERNEL);
    const module = fits ? kernelsSync() : null;
    if (module) engine = wasmBackend(ops, L + K, module);
    else if (backend === "wasm") {
      throw new Error(fits ? "this engine has no WebAssembly SIMD" : `the WebAssembly kernels take kernels up to ${WASM_MAX_KERNEL}x${WASM_MAX_KERNEL}`);
    }
  }
  engine = engine || jsBackend(ops, L + K);
  const { input, logits } = engine;
  const run = engine.run;
  const pixels = new Float32Array(nPixels);

  function setInput(z, zOffset, label) {
    for (let i = 0; i < L; i++) {
      const v = +z[zOffset + i];
      if (!Number.isFinite(v)) throw new RangeError(`z[${i}] is not a finite number`);
      input[i] = v;
    }
    if (K === 0) return;
    if (label === undefined || label === null) throw new TypeError(`this decoder is conditioned on a label: pass an integer in [0, ${K}) or ${K} weights`);
    if (typeof label === "number") {
      if (!Number.isInteger(label) || label < 0 || label >= K) throw new RangeError(`label must be an integer in [0, ${K}); got ${label}`);
      for (let i = 0; i < K; i++) input[L + i] = i === label ? 1 : 0;
    } else {
      if (label.length !== K) throw new RangeError(`a soft label needs ${K} values; got ${label.length}`);
      for (let i = 0; i < K; i++) {
        const v = +label[i];
        if (!Number.isFinite(v)) throw new RangeError(`label[${i}] is not a finite number`);
        input[L + i] = v;
      }
    }
  }

  function forward(out, outOffset) {
    run();
    if (output === "sigmoid") {
      for (let i = 0; i < nPixels; i++) out[outOffset + i] = 1 / (1 + Math.exp(-logits[i]));
    } else {
      for (let i = 0; i < nPixels; i++) out[outOffset + i] = cbMean(logits[i]);
    }
  }

  return {
    /** "wasm-simd" or "js" */
    backend: engine.name,
    latentDim: L,
    conditioning: K,
    outputShape: outShape.slice(),
    nPixels,
    /** Multiply-adds x 2 of one decode (dense and convolution layers). */
    flops,
    /** z (L numbers) [, label] -> the pixel means, Float32Array(784); the SAME array every call. */
    decode(z, label) {
      if (!z || z.length !== L) throw new RangeError(`z must hold ${L} numbers; got ${z && z.length}`);
      setInput(z, 0, label);
      forward(pixels, 0);
      return pixels;
    },
    /** Like decode, into out[outOffset .. outOffset + 784). */
    decodeInto(z, label, out, outOffset = 0) {
      if (!z || z.length !== L) throw new RangeError(`z must hold ${L} numbers; got ${z && z.length}`);
      if (!out || out.length < outOffset + nPixels) throw new RangeError(`out needs ${nPixels} values from ${outOffset}`);
      setInput(z, 0, label);
      forward(out, outOffset);
      return out;
    },
    /**
     * zs: N*L numbers (row-major (N, L)); labels (conditioned decoders): N integers, or N*K
     * weights (row-major); out (optional): Float32Array(N*784) to fill. Returns (N, 784) row-major.
     */
    decodeBatch(zs, labels = null, out = null) {
      if (!zs || zs.length % L) throw new RangeError(`zs must hold N*${L} numbers; got ${zs && zs.length}`);
      const N = zs.length / L;
      out = out || new Float32Array(N * nPixels);
      if (out.length < N * nPixels) throw new RangeError(`out needs ${N * nPixels} values`);
      if (K && (!labels || (labels.length !== N && labels.length !== N * K))) {
        throw new RangeError(`labels must hold ${N} integers or ${N * K} weights`);
      }
      const soft = K > 1 && labels && labels.length === N * K;
      for (let r = 0; r < N; r++) {
        const label = !K ? undefined : soft ? Array.prototype.slice.call(labels, r * K, (r + 1) * K) : labels[r];
        setInput(zs, r * L, label);
        forward(out, r * nPixels);
      }
      return out;
    },
  };
}

/** Async loadDecoder: compiles the SIMD kernels off the main thread's critical path first. */
export async function createDecoder(spec, weights, options = {}) {
  if ((options.backend ?? "auto") !== "js") await preloadKernels();
  return loadDecoder(spec, weights, options);
}

/** Fetch SPEC_URL (JSON) and WEIGHTS_URL (float32 buffer) and build the decoder. */
export async function fetchDecoder(specUrl, weightsUrl, options = {}) {
  const [spec, weights] = await Promise.all([
    fetch(specUrl).then((r) => { if (!r.ok) throw new Error(`${specUrl}: HTTP ${r.status}`); return r.json(); }),
    fetch(weightsUrl).then((r) => { if (!r.ok) throw new Error(`${weightsUrl}: HTTP ${r.status}`); return r.arrayBuffer(); }),
  ]);
  return createDecoder(spec, weights, options);
}

// ---------------------------------------------------------------- painting

const painters = new WeakMap();

/**
 * Paint pixel means (values in [0, 1], row-major width x height) into `canvas` as grey
 * levels (white = 1, like cvae.imaging.to_uint8), nearest-neighbour upscaled to the
 * canvas size. invert: true paints black ink on white. Allocates once per canvas.
 */
export function paintDigit(canvas, pixels, { width = 28, height = 28, invert = false } = {}) {
  let p = painters.get(canvas);
  if (!p || p.width !== width || p.height !== height) {
    const small = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    const sctx = small.getContext("2d");
    const image = sctx.createImageData(width, height);
    p = { width, height, small, sctx, image, words: new Uint32Array(image.data.buffer), ctx: canvas.getContext("2d") };
    painters.set(canvas, p);
  }
  const { words, image, sctx, small, ctx } = p;
  const n = width * height;
  for (let i = 0; i < n; i++) {
    let v = pixels[i];
    v = v > 0 ? (v < 1 ? v : 1) : 0; // NaN -> 0
    let g = Math.round(v * 255);
    if (invert) g = 255 - g;
    words[i] = LITTLE_ENDIAN ? (0xff000000 | (g << 16) | (g << 8) | g) >>> 0 : ((g << 24) | (g << 16) | (g << 8) | 0xff) >>> 0;
  }
  sctx.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}
