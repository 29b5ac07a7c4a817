// The latent map component (st.components.v2): the scatter of encoded digits plus the active
// model's decoder, both from one byte payload that Python sends once per model and projection.
// Hover, slider drags and keyboard moves decode here, in the browser, and send nothing; a click
// (or a released slider, or Enter) pins: it sends one trigger, "pin", with the coordinates, and
// Python answers with a small view (see view_component.js). Zoom and pan live here, so they
// survive every pin; they reset only when the map's frame (model and projection) changes.

import { loadDecoder, paintDigit } from "../decoder.js";
import { entry } from "./bus.js";
import { buildColourbar, buildLabelChooser, buildLayout, buildLegend, buildSliders, buildToolbar, classItems, formatZ } from "./controls.js";
import { MapCanvas } from "./map_canvas.js";
import { makeLift, parsePayload, readHeader } from "./payload.js";

const DRAG_PX = 4; // a press that moves further is a pan, not a click
const instances = new WeakMap();

class LatentMap {
  constructor(root) {
    this.root = root;
    this.parts = buildLayout(root);
    this.canvas = new MapCanvas(this.parts.plot);
    this.canvas.top.tabIndex = 0;
    this.canvas.top.setAttribute("role", "application");
    this.canvas.top.setAttribute("aria-label", "latent map: arrow keys move the decoded point, Enter pins it, + and - zoom, 0 resets");
    this.hidden = new Set();
    this.view = null;
    this.payloadId = null;
    this.frame = null;
    this.hover = null; // {uv, index, z} while the pointer (or keyboard) explores
    this.pinned = null; // {uv, index, z}
    this.label = 0;
    this.stats = { frames: 0, first: null, last: null, decodeMs: [], pins: 0, views: 0 };
    this.pending = false;
    buildToolbar(this.parts.toolbar, {
      zoomIn: () => this.zoomBy(1 / 1.5),
      zoomOut: () => this.zoomBy(1.5),
      reset: () => { this.canvas.resetWindow(); this.schedule(); },
    });
    this.listen();
    this.resizer = new ResizeObserver(() => { if (this.canvas.resize()) this.schedule(); });
    this.resizer.observe(this.parts.plot);
  }

  fail(err) {
    this.parts.message.textContent = `The latent map cannot be shown: ${err.message || err}`;
    console.error(err);
  }

  // ---- data from Python ------------------------------------------------------------------

  setPayload(data) {
    const { header } = readHeader(data);
    if (header.id === this.payloadId) return;
    const { arrays } = parsePayload(data);
    this.header = header;
    this.arrays = arrays;
    this.decoder = loadDecoder(header.decoder, arrays.weights);
    this.L = header.latent_dim;
    this.zBuf = new Float32Array(this.L);
    this.gridLift = header.lift ? makeLift(header.lift, this.L, arrays.lift_codes) : null;
    this.lift = this.gridLift;
    this.canvas.setPoints(arrays.coords, arrays.labels, { x: header.x_range, y: header.y_range }, header.axis_titles);
    this.canvas.setDensity(null);
    if (header.frame !== this.frame) this.canvas.resetWindow();
    this.frame = header.frame;
    this.payloadId = header.id;
    this.colouring = undefined;
    this.sliders = buildSliders(this.parts.sliders, this.L, header.slider_range, (d, v) => this.slide(d, v), () => this.commitSliders());
    this.labelChooser = buildLabelChooser(this.parts.label, header.class_names, header.decoder.conditioning || 0, (label) =>
      this.pin(this.pinned, label), // the same point, decoded as another label
    );
    this.parts.message.textContent = "";
    this.hover = null;
    this.pinned = { uv: null, index: null, z: new Float32Array(this.L) };
    this.target = header.target;
    const e = entry(this.target);
    e.map = this;
    if (e.view) this.setView(e.view);
    else this.schedule();
  }

  setView(view) {
    if (!this.header || view.payload_id !== this.payloadId) return; // for another payload: its own comes next
    this.view = view;
    this.stats.views++;
    if (view.lift) this.lift = makeLift(view.lift, this.L);
    else this.lift = this.gridLift;
    if (view.colouring !== this.colouring) {
      this.colouring = view.colouring;
      const spec = this.header.colourings[view.colouring];
      this.canvas.setColouring(spec ? this.arrays[spec.array] : null);
      buildColourbar(this.parts.colourbar, spec && spec.title, this.canvas.scale);
    }
    const density = view.density && this.header.density;
    if (Boolean(density) !== Boolean(this.canvas.density)) {
      this.canvas.setDensity(density ? { ...density, values: this.arrays.density } : null);
    }
    const groups = view.overlays.map((o) => ({ key: `overlay:${o.name}`, name: o.name, colour: o.colour, dash: true }));
    buildLegend(this.parts.legend, [...classItems(this.header.class_names), ...groups], this.hidden, () => this.legendChanged());
    const p = view.pinned;
    this.label = p.label ?? this.label;
    if (this.labelChooser) this.labelChooser.value = String(this.label);
    this.pinned = { uv: p.uv, index: p.index, z: Float32Array.from(p.z) };
    this.schedule();
  }

  legendChanged() {
    this.canvas.hidden = new Set([...this.hidden].filter((k) => k.startsWith("class:")).map((k) => Number(k.slice(6))));
    this.canvas.dirty = true;
    this.schedule();
  }

  // ---- what is shown ----------------------------------------------------------------------

  /** The point decoded now: the explored one, else the pinned one. */
  current() {
    return this.hover || this.pinned;
  }

  schedule() {
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => this.frameNow());
    }
  }

  frameNow() {
    this.pending = false;
    if (!this.header) return;
    this.canvas.resize();
    const shown = this.current();
    const t0 = performance.now();
    const pixels = this.decoder.decode(shown.z, this.decoder.conditioning ? this.label : undefined);
    paintDigit(this.parts.digit, pixels);
    const t1 = performance.now();
    if (this.hover) {
      const s = this.stats;
      s.frames++;
      s.first ??= t1;
      s.last = t1;
      if (s.decodeMs.length < 5000) s.decodeMs.push(t1 - t0);
    }
    this.parts.caption.textContent = `decoded at z = ${formatZ(shown.z)}`;
    this.parts.status.textContent = this.describe(shown);
    this.sliders.show(shown.z);
    this.canvas.drawTop(this.overlays(shown));
  }

  describe(shown) {
    const names = this.header.class_names, labels = this.arrays.labels;
    const what = shown.index != null ? `test digit #${shown.index} (${names[labels[shown.index]]})` : "this point";
    return shown === this.pinned ? `pinned: ${what}` : `exploring: ${what} · click or Enter to pin`;
  }

  overlays(shown) {
    const lines = [], markers = [];
    for (const o of this.view ? this.view.overlays : []) {
      if (this.hidden.has(`overlay:${o.name}`)) continue;
      for (const points of o.lines || []) lines.push({ points, colour: o.colour, dash: o.dash, width: o.width });
      for (const [u, v, text] of o.points || []) markers.push({ u, v, kind: o.marker || "ring", colour: o.colour, size: 5, text });
    }
    const pin = this.pinned.uv || (this.lift && this.lift.toMap(this.pinned.z));
    if (pin) markers.push({ u: pin[0], v: pin[1], kind: "x", size: 8, width: 3, colour: "#000000" });
    if (this.hover) {
      const uv = this.hover.uv || (this.lift && this.lift.toMap(this.hover.z));
      if (uv) markers.push({ u: uv[0], v: uv[1], kind: "cross", size: 10, width: 1.5, colour: "#d62728" });
      if (this.hover.index != null) {
        const c = this.arrays.coords;
        markers.push({ u: c[2 * this.hover.index], v: c[2 * this.hover.index + 1], kind: "ring", size: 6, colour: "#d62728" });
      }
    }
    return { lines, markers };
  }

  // ---- exploring and pinning ------------------------------------------------------------------

  explore(uv, index) {
    if (!this.lift) return;
    // the pointer's own point, even over a digit: the decode morphs smoothly as the pointer moves
    this.hover = { uv, index, z: this.lift.toLatent(uv[0], uv[1], new Float32Array(this.L)) };
    this.schedule();
  }

  /** A digit's own code: its q(z|x) mean where the payload has them, else the lift of its map point. */
  codeOf(index) {
    if (this.arrays.codes) return this.arrays.codes.slice(index * this.L, (index + 1) * this.L);
    const c = this.arrays.coords;
    return this.lift.toLatent(c[2 * index], c[2 * index + 1], new Float32Array(this.L));
  }

  stopExploring() {
    this.hover = null;
    this.hideTooltip();
    this.schedule();
  }

  /** Show a point as pinned at once, then tell Python (which answers with the authoritative view); `label`
   * (conditional decoders): the one to decode it as, else the picked digit's own. */
  pin({ uv, index, z }, label) {
    // a conditional decoder decodes a picked digit as its own label (the chooser can change it after)
    if (label !== undefined) this.label = label;
    else if (this.decoder.conditioning && index != null) this.label = this.arrays.labels[index];
    if (this.labelChooser) this.labelChooser.value = String(this.label);
    this.pinned = { uv, index, z: Float32Array.from(z) };
    this.hover = null;
    this.stats.pins++;
    this.schedule();
    if (this.trigger) {
      this.trigger("pin", {
        uv: uv ? [uv[0], uv[1]] : null,
        z: Array.from(this.pinned.z),
        index: index ?? null,
        label: this.decoder.conditioning ? this.label : null,
      });
    }
  }

  slide(d, value) {
    const z = Float32Array.from(this.current().z);
    z[d] = value;
    this.hover = { uv: null, index: null, z };
    this.schedule();
  }

  commitSliders() {
    if (this.hover) this.pin({ uv: null, index: null, z: this.hover.z });
  }

  zoomBy(factor, about) {
    const { x, y } = this.canvas.window;
    const [u, v] = about || [(x[0] + x[1]) / 2, (y[0] + y[1]) / 2];
    this.canvas.zoom(factor, u, v);
    this.schedule();
  }

  // ---- events -----------------------------------------------------------------------------

  listen() {
    const top = this.canvas.top;
    const local = (ev) => {
      const r = top.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top];
    };
    let press = null;
    top.addEventListener("pointerdown", (ev) => {
      press = { at: local(ev), last: local(ev), moved: false };
      top.setPointerCapture(ev.pointerId);
    });
    top.addEventListener("pointermove", (ev) => {
      const [px, py] = local(ev);
      if (press) {
        if (!press.moved && Math.hypot(px - press.at[0], py - press.at[1]) > DRAG_PX) press.moved = true;
        if (press.moved) {
          this.canvas.pan(px - press.last[0], py - press.last[1]);
          press.last = [px, py];
          this.schedule();
          return;
        }
      }
      if (!this.canvas.inPlot(px, py)) return this.stopExploring();
      const index = this.canvas.nearest(px, py);
      this.explore(this.canvas.toMap(px, py), index >= 0 ? index : null);
      this.showTooltip(px, py, index);
    });
    top.addEventListener("pointerup", (ev) => {
      const [px, py] = local(ev);
      const wasClick = press && !press.moved;
      press = null;
      if (!wasClick || !this.canvas.inPlot(px, py) || !this.lift) return;
      const index = this.canvas.nearest(px, py);
      const uv = this.canvas.toMap(px, py);
      const z = index >= 0 ? this.codeOf(index) : this.lift.toLatent(uv[0], uv[1], new Float32Array(this.L));
      this.pin({ uv: index >= 0 ? [this.arrays.coords[2 * index], this.arrays.coords[2 * index + 1]] : uv, index: index >= 0 ? index : null, z });
    });
    top.addEventListener("pointerleave", () => { if (!press) this.stopExploring(); });
    top.addEventListener("dblclick", () => { this.canvas.resetWindow(); this.schedule(); });
    top.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const [px, py] = local(ev);
      this.zoomBy(Math.exp(Math.max(-1, Math.min(1, ev.deltaY / 300))), this.canvas.toMap(px, py));
    }, { passive: false });
    top.addEventListener("keydown", (ev) => this.key(ev));
    top.addEventListener("blur", () => this.stopExploring());
  }

  key(ev) {
    const { x, y } = this.canvas.window;
    const step = (ev.shiftKey ? 0.1 : 0.02);
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const start = () => (this.hover && this.hover.uv) || this.pinned.uv || (this.lift && this.lift.toMap(this.pinned.z)) || [(x[0] + x[1]) / 2, (y[0] + y[1]) / 2];
    if (moves[ev.key]) {
      const [du, dv] = moves[ev.key], [u, v] = start();
      this.explore([u + du * step * (x[1] - x[0]), v + dv * step * (y[1] - y[0])], null);
    } else if ((ev.key === "Enter" || ev.key === " ") && this.hover) {
      this.pin(this.hover);
    } else if (ev.key === "+" || ev.key === "=") {
      this.zoomBy(1 / 1.5, start());
    } else if (ev.key === "-") {
      this.zoomBy(1.5, start());
    } else if (ev.key === "0") {
      this.canvas.resetWindow();
      this.schedule();
    } else if (ev.key === "Escape") {
      this.stopExploring();
    } else {
      return;
    }
    ev.preventDefault();
  }

  showTooltip(px, py, index) {
    const t = this.parts.tooltip;
    if (index < 0) return this.hideTooltip();
    t.textContent = `${this.header.class_names[this.arrays.labels[index]]} · #${index}`;
    t.style.left = `${px + 12}px`;
    t.style.top = `${py + 12}px`;
    t.style.display = "block";
  }

  hideTooltip() {
    this.parts.tooltip.style.display = "none";
  }

  destroy() {
    this.resizer.disconnect();
    const e = entry(this.target);
    if (e.map === this) e.map = null;
  }

  // ---- for tests and benchmarks ----------------------------------------------------------

  /** Page (viewport) pixel of map point (u, v). */
  pagePixel(u, v) {
    const r = this.canvas.top.getBoundingClientRect(), [px, py] = this.canvas.toPixel(u, v);
    return [r.left + px, r.top + py];
  }
}

/** Streamlit calls this on mount and whenever the element is drawn again (every rerun). */
export default function latentMap({ data, parentElement, setTriggerValue }) {
  let map = instances.get(parentElement);
  if (!map) {
    map = new LatentMap(parentElement);
    instances.set(parentElement, map);
  }
  map.trigger = setTriggerValue;
  try {
    map.setPayload(data);
  } catch (err) {
    map.fail(err);
  }
  // Streamlit may call a superseded mount's cleanup while the element stays: only a detached one goes
  return () => setTimeout(() => {
    if (!parentElement.isConnected) {
      map.destroy();
      instances.delete(parentElement);
    }
  }, 0);
}
