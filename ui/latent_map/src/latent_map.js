// The latent map component (st.components.v2): the scatter of encoded digits plus the active
// model's decoder, both from one byte payload that Python sends once per model and projection.
// Hover, slider drags and keyboard moves decode here, in the browser, and send nothing; a click
// (or a released slider, or Enter) pins: it sends one trigger, "pin", with the coordinates, through
// the view's element (bus.js), and Python answers with a small view (see view_component.js). A
// session's first map also sends "drawn" once it shows (or cannot), and Python then adds the
// page's tools. Zoom and pan live here, so they survive every pin; they reset only when the map's
// frame (model and projection) changes.
//
// Here: the Streamlit entry point and the wiring (the DOM, the canvases, the input, the page-wide
// registry), and the data from Python (the payload, the view). What is shown and how it changes
// is MapState's (map_state.js); the pointer and keys are map_input.js's.

import { loadDecoder } from "../decoder.js";
import { entry } from "./bus.js";
import { buildColourbar, buildLabelChooser, buildLayout, buildLegend, buildSliders, buildToolbar, classItems } from "./controls.js";
import { MapCanvas } from "./map_canvas.js";
import { listenInput } from "./map_input.js";
import { MapState } from "./map_state.js";
import { makeLift, parsePayload, readHeader } from "./payload.js";

const instances = new WeakMap();

class LatentMap extends MapState {
  constructor(root) {
    super();
    this.root = root;
    this.parts = buildLayout(root);
    this.canvas = new MapCanvas(this.parts.plot);
    this.canvas.top.tabIndex = 0;
    this.canvas.top.setAttribute("role", "application");
    this.canvas.top.setAttribute("aria-label", "latent map: arrow keys move the decoded point, Enter pins it, + and - zoom, 0 resets");
    this.canvas.top.setAttribute("aria-describedby", this.parts.help.id);
    this.canvas.top.setAttribute("aria-roledescription", "latent space map");
    this.payloadId = null;
    this.frame = null;
    buildToolbar(this.parts.toolbar, {
      zoomIn: () => this.zoomBy(1 / 1.5),
      zoomOut: () => this.zoomBy(1.5),
      reset: () => { this.canvas.resetWindow(); this.schedule(); },
      shapes: () => { this.canvas.shapes = !this.canvas.shapes; this.canvas.dirty = true; this.schedule(); return this.canvas.shapes; },
    });
    listenInput(this);
    this.resizer = new ResizeObserver(() => { if (this.canvas.resize()) this.schedule(); });
    this.resizer.observe(this.parts.plot);
  }

  fail(err) {
    this.parts.message.textContent = `The latent map cannot be shown: ${err.message || err}`;
    console.error(err);
    // the tools below do not need the map; once per map, since every rerun hands it the payload again
    if (this.trigger && !this.failureReported) {
      this.failureReported = true;
      this.trigger("drawn", true);
    }
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
    if (header.palette) this.canvas.palette = header.palette;
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
    buildLegend(this.parts.legend, [...classItems(this.header.class_names, this.canvas.palette), ...groups], this.hidden, () => this.legendChanged());
    const p = view.pinned;
    this.label = p.label ?? this.label;
    if (this.labelChooser) this.labelChooser.value = String(this.label);
    this.pinned = { uv: p.uv, index: p.index, z: Float32Array.from(p.z), reading: p.reading };
    this.schedule();
  }

  legendChanged() {
    this.canvas.hidden = new Set([...this.hidden].filter((k) => k.startsWith("class:")).map((k) => Number(k.slice(6))));
    this.canvas.dirty = true;
    this.schedule();
  }

  /** Send a pin to Python as the view's trigger (bus.js); before the view has come, there is nowhere to send it. */
  sendPin(value) {
    const send = this.target !== undefined && entry(this.target).send;
    if (send) send("pin", value);
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
