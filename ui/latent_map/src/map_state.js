// What the latent map shows and how that changes, apart from where the changes come from: the
// explored point (pointer, keyboard or sliders) or else the pinned one, decoded and painted once
// per animation frame with the cursor, pin and teaching overlays; exploring, pinning (which sends
// the pin to Python: `sendPin`), sliders, zoom and the tooltip. LatentMap (latent_map.js) extends
// it with the component's wiring; map_input.js turns pointer and key events into these calls.

import { paintDigit } from "./paint_digit.js";
import { formatZ } from "./controls.js";

// the live region speaks at most this often (ms) while keys or a slider move the point: a screen
// reader that is handed a new text every frame either queues them all or keeps interrupting itself
export const ANNOUNCE_MS = 500;

export class MapState {
  constructor() {
    this.hidden = new Set();
    this.view = null;
    this.hover = null; // {uv, index, z} while the pointer (or keyboard) explores
    this.pinned = null; // {uv, index, z}
    this.label = 0;
    this.stats = { frames: 0, first: null, last: null, decodeMs: [], pins: 0, views: 0 };
    this.pending = false;
    this.reported = null; // the view whose "drawn" report was sent
    this.spoken = { text: "", at: -Infinity, timer: null, count: 0 };
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
    this.announce(`${this.describe(shown)}. ${this.parts.caption.textContent}${this.reading(shown)}`);
    this.sliders.show(shown.z);
    this.canvas.drawTop(this.overlays(shown));
    this.reportDrawn();
  }

  /** Tell Python the map is up, once per view that asks (a session's first map): the page's tools,
   * whose rendering would otherwise delay the map's first frame, come in the rerun this causes. */
  reportDrawn() {
    if (this.trigger && this.view && this.view.report_drawn && this.reported !== this.view) {
      this.reported = this.view;
      this.trigger("drawn", true);
    }
  }

  /** The digit classifier's reading of the pinned point: Python's view carries it (view.pinned.reading), so a
   * pin is first announced without it and again, with it, once Python answers. */
  reading(shown) {
    return shown === this.pinned && shown.reading ? `. ${shown.reading}` : "";
  }

  /** Put `text` in the live region now, or (if it spoke less than ANNOUNCE_MS ago) once that time is up: the
   * latest text wins, so a run of key presses is heard as a few calm updates ending on where it stopped. */
  announce(text) {
    const s = this.spoken, live = this.parts.live;
    if (text === s.text && !s.timer) return;
    s.pendingText = text;
    if (s.timer) return;
    const speak = () => {
      s.timer = null;
      if (s.pendingText === s.text) return;
      s.text = live.textContent = s.pendingText;
      s.at = performance.now();
      s.count++;
    };
    const wait = s.at + ANNOUNCE_MS - performance.now();
    if (wait <= 0) speak();
    else s.timer = setTimeout(speak, wait);
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
    this.sendPin({
      uv: uv ? [uv[0], uv[1]] : null,
      z: Array.from(this.pinned.z),
      index: index ?? null,
      label: this.decoder.conditioning ? this.label : null,
    });
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

  // ---- the tooltip (the digit under the pointer) ------------------------------------------

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
}
