// The WebAssembly SIMD backend: takes kernels.c's module from kernels_wasm.js (inlined as
// base64, so nothing is fetched), compiles it once per page, lays every weight and
// buffer out in the instance's own memory and runs the compiled ops (decoder_spec.js) through its
// exports. Activations other than relu run in JavaScript (decoder_layers.js) on the same memory.

import { KERNELS_WASM_BASE64 } from "../kernels_wasm.js";
import { applyActivation } from "./decoder_layers.js";

export const WASM_MAX_KERNEL = 8; // kernels.c: MAX_TAPS 64
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

export function kernelsSync() {
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
export function wasmBackend(ops, inputSize, module) {
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
