// The page side of decoder_worker.js: decoding off the main thread, so a slow network never
// blocks the page. Output buffers travel back and forth (transferred), so nothing is
// allocated per decode once two are in circulation.
//
//   const dec = await createWorkerDecoder(spec, weightsArrayBuffer);  // {backend: "auto" | "wasm" | "js"}
//   const pixels = await dec.decode(z, label);        // a Float32Array(784) you own
//   dec.request(z, label, (pixels) => paintDigit(canvas, pixels));  // hover: latest request wins
//   dec.terminate();

export async function createWorkerDecoder(spec, weights, { backend = "auto", workerUrl = new URL("./decoder_worker.js", import.meta.url) } = {}) {
  const worker = new Worker(workerUrl, { type: "module" });
  const waiting = new Map(); // id -> {resolve, reject}
  const spare = [];
  let nextId = 1;
  let info = null;

  const loaded = new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const msg = event.data;
      if (msg.type === "loaded") {
        info = msg;
        resolve(msg);
        return;
      }
      if (msg.type === "error" && msg.id === undefined) {
        reject(new Error(msg.message));
        return;
      }
      const entry = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (!entry) return;
      if (msg.type === "decoded") entry.resolve(msg.pixels);
      else {
        if (msg.out) spare.push(msg.out);
        entry.reject(new Error(msg.message));
      }
    };
    worker.onerror = (event) => reject(new Error(event.message || "decoder worker failed to start"));
  });
  const copy = weights instanceof ArrayBuffer ? weights.slice(0) : weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  worker.postMessage({ type: "load", spec: typeof spec === "string" ? JSON.parse(spec) : spec, weights: copy, backend }, [copy]);
  await loaded;

  function send(z, label) {
    const id = nextId++;
    const out = spare.pop() || new Float32Array(info.nPixels);
    const zz = Float32Array.from(z);
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ type: "decode", id, z: zz, label: label ?? null, out }, [out.buffer]);
    });
  }

  // hover: at most one decode in flight and one queued (the newest); older requests are dropped
  let busy = false;
  let queued = null;
  function pump() {
    if (busy || !queued) return;
    const { z, label, onResult, onError } = queued;
    queued = null;
    busy = true;
    send(z, label).then((pixels) => {
      busy = false;
      try { onResult(pixels); } finally { spare.push(pixels); pump(); }
    }, (err) => {
      busy = false;
      if (onError) onError(err); else console.error(err);
      pump();
    });
  }

  return {
    backend: info.backend,
    latentDim: info.latentDim,
    conditioning: info.conditioning,
    nPixels: info.nPixels,
    flops: info.flops,
    /** Decode one z; resolves with a Float32Array(784) the caller owns. */
    decode: (z, label) => send(z, label),
    /** Latest-wins decode: onResult(pixels) is called for the newest request only; pixels is
     * valid during the call (its buffer is reused afterwards). */
    request(z, label, onResult, onError) {
      queued = { z: Float32Array.from(z), label, onResult, onError };
      pump();
    },
    terminate() {
      worker.terminate();
      for (const { reject } of waiting.values()) reject(new Error("decoder worker terminated"));
      waiting.clear();
    },
  };
}
