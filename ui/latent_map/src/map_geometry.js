// The map's geometry, without drawing: the plot area inside the margins, the visible window of
// map coordinates, pixel <-> map conversion, hit-testing (the digit under the pointer) and
// zoom/pan. MapCanvas (map_canvas.js) extends it with the canvases and the drawing.

const MARGIN = { left: 52, right: 12, top: 12, bottom: 40 };

export class MapGeometry {
  constructor() {
    this.points = null; // Float32Array (2N) map coordinates; this.labels: their classes
    this.hidden = new Set(); // class labels not drawn and not hit
    this.home = { x: [-3, 3], y: [-3, 3] };
    this.window = { x: [-3, 3], y: [-3, 3] };
    this.dirty = true; // the base canvas needs a redraw
  }

  plotArea() {
    return { x: MARGIN.left, y: MARGIN.top, w: this.width - MARGIN.left - MARGIN.right, h: this.height - MARGIN.top - MARGIN.bottom };
  }

  /** map (u, v) -> CSS pixels inside the box */
  toPixel(u, v) {
    const a = this.plotArea(), { x, y } = this.window;
    return [a.x + ((u - x[0]) / (x[1] - x[0])) * a.w, a.y + ((y[1] - v) / (y[1] - y[0])) * a.h];
  }

  /** CSS pixels inside the box -> map (u, v) */
  toMap(px, py) {
    const a = this.plotArea(), { x, y } = this.window;
    return [x[0] + ((px - a.x) / a.w) * (x[1] - x[0]), y[1] - ((py - a.y) / a.h) * (y[1] - y[0])];
  }

  inPlot(px, py) {
    const a = this.plotArea();
    return px >= a.x && px <= a.x + a.w && py >= a.y && py <= a.y + a.h;
  }

  /** The visible digit nearest to pixel (px, py) within `radius` pixels, else -1. */
  nearest(px, py, radius = 6) {
    const p = this.points, a = this.plotArea(), { x, y } = this.window;
    if (!p) return -1;
    const sx = a.w / (x[1] - x[0]), sy = a.h / (y[1] - y[0]);
    let best = -1, bestD = radius * radius;
    for (let i = 0, n = p.length / 2; i < n; i++) {
      if (this.hidden.size && this.hidden.has(this.labels[i])) continue;
      const dx = a.x + (p[2 * i] - x[0]) * sx - px, dy = a.y + (y[1] - p[2 * i + 1]) * sy - py;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  setWindow(x, y) {
    this.window = { x: x.slice(), y: y.slice() };
    this.dirty = true;
  }

  resetWindow() {
    this.setWindow(this.home.x, this.home.y);
  }

  /** Zoom by `factor` (< 1 zooms in) about map point (u, v). */
  zoom(factor, u, v) {
    const { x, y } = this.window;
    this.setWindow([u + (x[0] - u) * factor, u + (x[1] - u) * factor], [v + (y[0] - v) * factor, v + (y[1] - v) * factor]);
  }

  /** Pan by a pixel offset. */
  pan(dx, dy) {
    const a = this.plotArea(), { x, y } = this.window;
    const du = (-dx / a.w) * (x[1] - x[0]), dv = (dy / a.h) * (y[1] - y[0]);
    this.setWindow([x[0] + du, x[1] + du], [y[0] + dv, y[1] + dv]);
  }
}
