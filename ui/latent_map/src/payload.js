// The map's payload ("cvae-latent-map/1", written by cvae/viz/map_payload.py): the scatter, its
// colourings, the decoder and (for a grid lift) the latent codes, as one byte string.
//
//   bytes 0-3   "CVLM"
//   bytes 4-7   header length H (uint32, little-endian)
//   8 .. 8+H    header, UTF-8 JSON
//   then zero padding to a multiple of 8, then the arrays; the header's "arrays" gives each as
//   {offset, count, dtype}, offset in bytes from the start of the array block.
//
// Lifts turn a map point (u, v) into a latent code z: affine z = base + u*axes[0] + v*axes[1];
// grid: bilinear between the codes of a G x G grid over u_range x v_range (row = v, column = u).

const MAGIC = "CVLM";
export const FORMAT = "cvae-latent-map/1";
const DTYPES = { f32: [Float32Array, 4], u8: [Uint8Array, 1] };

export class PayloadError extends Error {
  constructor(message) {
    super(message);
    this.name = "PayloadError";
  }
}

function bytesOf(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new PayloadError("the map's data must be bytes");
}

/** The header alone (cheap: reruns hand the same payload again, and its id says so). */
export function readHeader(data) {
  const bytes = bytesOf(data);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) {
    throw new PayloadError("not a latent-map payload");
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  if (8 + length > bytes.length) throw new PayloadError("the payload's header runs past its end");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  if (header.format !== FORMAT) throw new PayloadError(`expected ${FORMAT}; got ${header.format}`);
  return { header, start: (8 + length + 7) & ~7 };
}

/** Header plus typed arrays over one aligned copy of the bytes. */
export function parsePayload(data) {
  const bytes = bytesOf(data);
  const { header, start } = readHeader(bytes);
  const block = bytes.slice(start).buffer; // a fresh, aligned ArrayBuffer
  const arrays = {};
  for (const [name, ref] of Object.entries(header.arrays)) {
    const [Kind, size] = DTYPES[ref.dtype] || [];
    if (!Kind || ref.offset % size || ref.offset + ref.count * size > block.byteLength) {
      throw new PayloadError(`array ${name} does not fit the payload`);
    }
    arrays[name] = new Kind(block, ref.offset, ref.count);
  }
  return { header, arrays, block };
}

/** uv -> z for a lift: {kind: "affine", base, axes} or {kind: "grid", u_range, v_range, n, codes}. */
export function makeLift(spec, latentDim, codes) {
  if (spec.kind === "affine") {
    const base = Float64Array.from(spec.base), a0 = Float64Array.from(spec.axes[0]), a1 = Float64Array.from(spec.axes[1]);
    if (base.length !== latentDim || a0.length !== latentDim || a1.length !== latentDim) {
      throw new PayloadError("the affine lift does not match the latent size");
    }
    // (u, v) of a z: least squares, (A A^T)^-1 A (z - base) with A the 2 x L axes
    const dot = (p, q) => p.reduce((s, x, i) => s + x * q[i], 0);
    const g00 = dot(a0, a0), g01 = dot(a0, a1), g11 = dot(a1, a1), det = g00 * g11 - g01 * g01;
    return {
      kind: "affine",
      toLatent(u, v, out) {
        for (let i = 0; i < latentDim; i++) out[i] = base[i] + u * a0[i] + v * a1[i];
        return out;
      },
      toMap(z) {
        if (!(Math.abs(det) > 1e-12)) return null;
        let p = 0, q = 0;
        for (let i = 0; i < latentDim; i++) {
          p += a0[i] * (z[i] - base[i]);
          q += a1[i] * (z[i] - base[i]);
        }
        return [(g11 * p - g01 * q) / det, (g00 * q - g01 * p) / det];
      },
    };
  }
  if (spec.kind === "grid") {
    const n = spec.n, [u0, u1] = spec.u_range, [v0, v1] = spec.v_range;
    if (!codes || codes.length !== n * n * latentDim || n < 2) throw new PayloadError("the grid lift's codes do not fit");
    return {
      kind: "grid",
      toLatent(u, v, out) {
        // clamped to the grid: outside it the inverse is not defined
        const x = Math.min(Math.max((u - u0) / (u1 - u0), 0), 1) * (n - 1);
        const y = Math.min(Math.max((v - v0) / (v1 - v0), 0), 1) * (n - 1);
        const c = Math.min(Math.floor(x), n - 2), r = Math.min(Math.floor(y), n - 2);
        const fx = x - c, fy = y - r;
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        const i00 = (r * n + c) * latentDim, i01 = i00 + latentDim, i10 = i00 + n * latentDim, i11 = i10 + latentDim;
        for (let i = 0; i < latentDim; i++) {
          out[i] = w00 * codes[i00 + i] + w01 * codes[i01 + i] + w10 * codes[i10 + i] + w11 * codes[i11 + i];
        }
        return out;
      },
      toMap: () => null, // no inverse in the browser: Python places grid-lifted points
    };
  }
  throw new PayloadError(`unknown lift ${JSON.stringify(spec.kind)}`);
}
