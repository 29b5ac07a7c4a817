// The "cvae-decoder/1" format: checks a spec (JSON) against its float32 weights buffer and
// compiles its layers into ops, {kind, weights (copied, checked finite), geometry, activation},
// that both backends (decoder_layers.js, decoder_wasm.js) run. Every mismatch throws
// DecoderSpecError here, at load time: format, counts, offsets, the chain of shapes, activations,
// pads, non-finite weights, `n_floats` against the buffer's length.

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

/**
 * Check `spec` (object or JSON string) and `weights` (ArrayBuffer, or a typed array / DataView
 * over one) and compile them: {L, K, output, outShape, nPixels, ops, flops}.
 */
export function readSpec(spec, weights) {
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
  return { L, K, output, outShape, nPixels, ops, flops };
}
