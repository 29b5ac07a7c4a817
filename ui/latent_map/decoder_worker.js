// Module Web Worker that owns one decoder (see worker_client.js for the page side).
//   in:  {type: "load", spec, weights: ArrayBuffer, backend}  out: {type: "loaded", backend, latentDim, conditioning, nPixels, flops}
//   in:  {type: "decode", id, z, label, out: Float32Array}    out: {type: "decoded", id, pixels}  (out filled and handed back)
//   any failure:                                             out: {type: "error", id, message}
import { createDecoder } from "./decoder.js";

let decoder = null;

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "load") {
      decoder = await createDecoder(msg.spec, msg.weights, { backend: msg.backend || "auto" });
      self.postMessage({ type: "loaded", backend: decoder.backend, latentDim: decoder.latentDim, conditioning: decoder.conditioning,
        nPixels: decoder.nPixels, flops: decoder.flops });
    } else if (msg.type === "decode") {
      if (!decoder) throw new Error("no decoder loaded");
      const out = msg.out && msg.out.length === decoder.nPixels ? msg.out : new Float32Array(decoder.nPixels);
      decoder.decodeInto(msg.z, msg.label ?? undefined, out, 0);
      self.postMessage({ type: "decoded", id: msg.id, pixels: out }, [out.buffer]);
    } else {
      throw new Error(`unknown message type ${msg.type}`);
    }
  } catch (err) {
    self.postMessage({ type: "error", id: msg.id, message: `${err.name}: ${err.message}`, out: msg.out },
      msg.out ? [msg.out.buffer] : []);
  }
};
