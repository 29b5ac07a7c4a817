// Paints a decoded digit (pixel means in [0, 1]) into a canvas as grey levels, nearest-neighbour
// upscaled; one small offscreen canvas and image per target canvas, reused every call.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
