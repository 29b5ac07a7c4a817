// The CVAE decoder in the browser (an ES module, no build step): the public API and the
// decode loop. Reads the "cvae-decoder/1" export (a JSON spec plus one little-endian float32
// buffer, written by the Python exporter) and computes the same pixel means as cvae's compiled
// PyTensor decoder (VAE.decode).
//
//   import { loadDecoder, paintDigit } from "./decoder.js";
//   const dec = loadDecoder(spec, await (await fetch("decoder.bin")).arrayBuffer());
//   const pixels = dec.decode(new Float32Array([0.5, -1.2]));  // Float32Array(784), row-major
//   paintDigit(canvas, pixels);
//
// Here: backend choice, z and label -> the input vector, the output stage (sigmoid or the
// continuous Bernoulli mean) and the batch loop. The parts, in src/: decoder_spec.js (the
// format: checks a spec and its weights, compiles the layers), decoder_layers.js (the layer
// kernels in JavaScript: the "js" backend), decoder_wasm.js (the WebAssembly SIMD backend),
// paint_digit.js (pixels -> canvas).
//
// Speed: every buffer is allocated once in loadDecoder; decode() allocates nothing and
// returns the same output array every call (copy it to keep it).

import { cbMean, jsBackend } from "./src/decoder_layers.js";
import { readSpec } from "./src/decoder_spec.js";
import { kernelsSync, preloadKernels, WASM_MAX_KERNEL, wasmBackend } from "./src/decoder_wasm.js";

export { DecoderSpecError, FORMAT } from "./src/decoder_spec.js";
export { preloadKernels, wasmSimdSupported } from "./src/decoder_wasm.js";
export { paintDigit } from "./src/paint_digit.js";

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
  const { L, K, output, outShape, nPixels, ops, flops } = readSpec(spec, weights);

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
