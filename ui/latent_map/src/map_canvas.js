// The scatter of encoded digits on two stacked canvases: the base one (density, grid, axes,
// points) is redrawn only when the view, the colouring or the hidden classes change; the top
// one (hover cursor, pinned point, teaching overlays) on every frame that needs it. A hover
// therefore costs one small overlay redraw plus the decode, never a redraw of 10,000 points.
// Here: the canvases, the data they show (points, colouring, density) and the drawing; the
// geometry (pixel <-> map, hit-testing, zoom/pan) is MapGeometry's (map_geometry.js).

import { PALETTE, SYMBOLS, addMarker, scaleColour } from "./colours.js";
import { MapGeometry } from "./map_geometry.js";

const BINS = 32; // colour-scale steps: one path per step keeps a recolour to 32 fills

function niceTicks(lo, hi, count = 6) {
  const raw = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return { ticks: out, digits: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

export class MapCanvas extends MapGeometry {
  constructor(box) {
    super();
    this.box = box;
    this.base = box.appendChild(document.createElement("canvas"));
    this.top = box.appendChild(document.createElement("canvas"));
    this.base.className = "lm-base";
    this.top.className = "lm-top";
    this.colours = null; // per point: a bin index into this.styles
    this.styles = [];
    this.density = null; // {canvas, x_range, y_range}
    this.titles = ["z1", "z2"];
    this.overlays = null; // what drawTop paints
    this.palette = { colours: PALETTE, symbols: SYMBOLS }; // header.palette replaces it
    this.shapes = false; // true: each class its own marker shape (the "Shapes" toggle), not only its colour
  }

  // ---- size -------------------------------------------------------------------------------

  resize() {
    const dpr = window.devicePixelRatio || 1, w = Math.max(200, this.box.clientWidth), h = Math.max(200, this.box.clientHeight);
    if (this.width === w && this.height === h && this.dpr === dpr) return false;
    Object.assign(this, { width: w, height: h, dpr });
    for (const c of [this.base, this.top]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    this.dirty = true;
    return true;
  }

  // ---- data -------------------------------------------------------------------------------

  setPoints(points, labels, home, titles) {
    this.points = points;
    this.labels = labels;
    this.home = { x: home.x.slice(), y: home.y.slice() };
    this.titles = titles;
    this.dirty = true;
  }

  /** values === null: colour by label; else a continuous scale over the values' range. */
  setColouring(values) {
    const n = this.labels.length, bins = new Uint8Array(n);
    if (!values) {
      const colours = this.palette.colours;
      for (let i = 0; i < n; i++) bins[i] = this.labels[i] % colours.length;
      this.styles = colours;
      this.scale = null;
    } else {
      let lo = Infinity, hi = -Infinity;
      for (const v of values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (!(hi > lo)) hi = lo + 1;
      for (let i = 0; i < n; i++) bins[i] = Math.min(BINS - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * BINS)));
      this.styles = Array.from({ length: BINS }, (_, k) => scaleColour((k + 0.5) / BINS));
      this.scale = [lo, hi];
    }
    this.colours = bins;
    this.dirty = true;
  }

  /** log-density grid (ny, nx) over x_range x y_range, drawn in greys under the points; null: none */
  setDensity(grid) {
    if (!grid) {
      this.density = null;
    } else {
      const { nx, ny, values } = grid, c = document.createElement("canvas");
      c.width = nx;
      c.height = ny;
      const ctx = c.getContext("2d"), img = ctx.createImageData(nx, ny);
      let lo = Infinity, hi = -Infinity;
      for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      for (let r = 0; r < ny; r++) {
        for (let q = 0; q < nx; q++) {
          const t = hi > lo ? (values[r * nx + q] - lo) / (hi - lo) : 0, g = Math.round(255 - 200 * t), o = ((ny - 1 - r) * nx + q) * 4;
          img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
          img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
      this.density = { canvas: c, x_range: grid.x_range, y_range: grid.y_range };
    }
    this.dirty = true;
  }

  // ---- drawing ----------------------------------------------------------------------------

  drawBase() {
    this.dirty = false;
    const ctx = this.base.getContext("2d"), a = this.plotArea(), { x, y } = this.window;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(a.x, a.y, a.w, a.h);
    ctx.save();
    ctx.beginPath();
    ctx.rect(a.x, a.y, a.w, a.h);
    ctx.clip();
    if (this.density) {
      const d = this.density, [p0x, p0y] = this.toPixel(d.x_range[0], d.y_range[1]), [p1x, p1y] = this.toPixel(d.x_range[1], d.y_range[0]);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(d.canvas, p0x, p0y, p1x - p0x, p1y - p0y);
    }
    const xt = niceTicks(x[0], x[1]), yt = niceTicks(y[0], y[1]);
    ctx.lineWidth = 1;
    for (const t of xt.ticks) this.line(ctx, t, y[0], t, y[1], t === 0 ? "#cccccc" : "#eeeeee");
    for (const t of yt.ticks) this.line(ctx, x[0], t, x[1], t, t === 0 ? "#cccccc" : "#eeeeee");
    if (this.points && this.colours) this.drawPoints(ctx);
    ctx.restore();
    ctx.strokeStyle = "#888888";
    ctx.strokeRect(a.x + 0.5, a.y + 0.5, a.w - 1, a.h - 1);
    ctx.fillStyle = "#444444";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of xt.ticks) ctx.fillText(t.toFixed(xt.digits), this.toPixel(t, 0)[0], a.y + a.h + 4);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of yt.ticks) ctx.fillText(t.toFixed(yt.digits), a.x - 5, this.toPixel(0, t)[1]);
    ctx.font = "13px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(this.titles[0], a.x + a.w / 2, this.height - 2);
    ctx.save();
    ctx.translate(12, a.y + a.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(this.titles[1], 0, 0);
    ctx.restore();
  }

  drawPoints(ctx) {
    const p = this.points, n = p.length / 2, a = this.plotArea(), { x, y } = this.window;
    const sx = a.w / (x[1] - x[0]), sy = a.h / (y[1] - y[0]), r = n > 5000 ? 2.2 : 3;
    const paths = this.styles.map(() => new Path2D());
    const symbols = this.palette.symbols, shaped = this.shapes && this.scale == null; // shapes mark classes, not a scale
    for (let i = 0; i < n; i++) {
      if (this.hidden.size && this.hidden.has(this.labels[i])) continue;
      const px = a.x + (p[2 * i] - x[0]) * sx, py = a.y + (y[1] - p[2 * i + 1]) * sy;
      if (px < a.x - r || px > a.x + a.w + r || py < a.y - r || py > a.y + a.h + r) continue;
      const symbol = shaped ? symbols[this.labels[i] % symbols.length] : "circle";
      addMarker(paths[this.colours[i]], symbol, px, py, shaped ? r * 1.6 : r);
    }
    ctx.globalAlpha = 0.8;
    paths.forEach((path, k) => {
      ctx.fillStyle = this.styles[k];
      ctx.fill(path);
    });
    ctx.globalAlpha = 1;
    if (shaped) { // a dark rim: the light colours (yellow: 1.3:1 on white) keep an edge of >= 3:1
      ctx.lineWidth = 0.6;
      ctx.strokeStyle = "#333333";
      paths.forEach((path) => ctx.stroke(path));
    }
  }

  line(ctx, u0, v0, u1, v1, colour) {
    const [a, b] = this.toPixel(u0, v0), [c, d] = this.toPixel(u1, v1);
    ctx.strokeStyle = colour;
    ctx.beginPath();
    ctx.moveTo(a, b);
    ctx.lineTo(c, d);
    ctx.stroke();
  }

  /** o: {lines: [{points, colour, width, dash}], markers: [{u, v, kind, colour, size, text}]} */
  drawTop(o) {
    if (this.dirty) this.drawBase();
    const ctx = this.top.getContext("2d"), a = this.plotArea();
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(a.x, a.y, a.w, a.h);
    ctx.clip();
    for (const l of o.lines) {
      ctx.strokeStyle = l.colour;
      ctx.lineWidth = l.width || 1.5;
      ctx.setLineDash(l.dash || []);
      ctx.beginPath();
      l.points.forEach(([u, v], i) => {
        const [px, py] = this.toPixel(u, v);
        if (i) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
    for (const m of o.markers) this.marker(ctx, m);
    ctx.restore();
  }

  marker(ctx, m) {
    const [px, py] = this.toPixel(m.u, m.v), s = m.size || 6;
    ctx.strokeStyle = ctx.fillStyle = m.colour || "#000000";
    ctx.lineWidth = m.width || 2;
    ctx.beginPath();
    if (m.kind === "x") {
      ctx.moveTo(px - s, py - s);
      ctx.lineTo(px + s, py + s);
      ctx.moveTo(px + s, py - s);
      ctx.lineTo(px - s, py + s);
      ctx.stroke();
    } else if (m.kind === "cross") {
      ctx.moveTo(px - s, py);
      ctx.lineTo(px + s, py);
      ctx.moveTo(px, py - s);
      ctx.lineTo(px, py + s);
      ctx.stroke();
    } else if (m.kind === "dot") {
      ctx.arc(px, py, s, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.arc(px, py, s, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (m.text) {
      ctx.font = "bold 12px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(m.text, px, py - s - 2);
    }
  }
}
