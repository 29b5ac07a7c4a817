// The DOM around the map: toolbar, legend, colour bar, the decoded digit with its caption, the z
// sliders and (for a conditional decoder) the label chooser. Plain elements, keyboard-operable.

import { PALETTE, SYMBOLS, scaleColour } from "./colours.js";

// the legend's glyph for each marker shape (colours.js SYMBOLS)
const GLYPHS = { circle: "●", square: "■", diamond: "◆", "triangle-up": "▲", "triangle-down": "▼", cross: "✚", x: "✖", star: "★", pentagon: "⬟", hexagon: "⬢" };

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export const formatZ = (z) => `(${Array.from(z, (v) => v.toFixed(2)).join(", ")})`;

/** The skeleton; returns the parts the map fills in. */
let helpIds = 0;

export function buildLayout(root) {
  const parts = {};
  parts.message = el("div", { class: "lm-message", role: "alert" });
  parts.plot = el("div", { class: "lm-plot" });
  parts.tooltip = el("div", { class: "lm-tooltip", "aria-hidden": "true" });
  parts.plot.append(parts.tooltip);
  parts.toolbar = el("div", { class: "lm-toolbar" });
  parts.legend = el("div", { class: "lm-legend", role: "group", "aria-label": "show or hide" });
  parts.colourbar = el("div", { class: "lm-colourbar" });
  parts.digit = el("canvas", { class: "lm-digit", width: 28, height: 28, role: "img", "aria-label": "decoded digit" });
  parts.caption = el("div", { class: "lm-caption", "data-testid": "lmCaption" });
  // what a screen reader hears: the decoded point, at most every ANNOUNCE_MS (map_state.js), not every frame
  parts.live = el("div", { class: "lm-live", role: "status", "aria-live": "polite", "aria-atomic": "true", "data-testid": "lmLive" });
  parts.help = el("p", { class: "lm-live", id: `lm-help-${++helpIds}`,
    text: "A scatter of encoded test digits, one marker per digit, coloured (or shaped) by class. Arrow keys move the decoded point "
      + "(Shift: larger steps), Enter or Space pins it, + and - zoom, 0 resets the view, Escape stops exploring. "
      + "The decoded digit, its z and the sliders are beside the map; the tools below it follow the pinned point." });
  parts.status = el("div", { class: "lm-status" });
  parts.label = el("div", { class: "lm-label" });
  parts.sliders = el("div", { class: "lm-sliders" });
  const left = el("div", { class: "lm-left" }, parts.toolbar, parts.plot, parts.legend, parts.colourbar);
  const right = el("div", { class: "lm-right" }, parts.digit, parts.caption, parts.status, parts.label, parts.sliders);
  root.append(el("div", { class: "lm-root" }, parts.message, parts.help, parts.live, el("div", { class: "lm-columns" }, left, right)));
  return parts;
}

export function buildToolbar(box, actions) {
  box.replaceChildren(
    el("button", { type: "button", class: "lm-button", "aria-label": "zoom in", title: "zoom in (+)", onclick: actions.zoomIn, text: "+" }),
    el("button", { type: "button", class: "lm-button", "aria-label": "zoom out", title: "zoom out (-)", onclick: actions.zoomOut, text: "−" }),
    el("button", { type: "button", class: "lm-button", "aria-label": "reset view", title: "reset view (0 or double-click)", onclick: actions.reset, text: "Reset view" }),
    el("button", { type: "button", class: "lm-button lm-shapes", "aria-pressed": "false", title: "a marker shape per class, as well as a colour",
      onclick: (ev) => ev.currentTarget.setAttribute("aria-pressed", String(actions.shapes())), text: "Shapes" }),
    el("span", { class: "lm-hint", text: "hover to decode · click to pin · drag to pan · wheel to zoom · keys: arrows, Enter, + − 0" }),
  );
}

/** One toggle per class and per overlay group; `hidden` (a Set of keys) is updated in place. */
export function buildLegend(box, items, hidden, onToggle) {
  box.replaceChildren(
    ...items.map(({ key, name, colour, dash, symbol }) => {
      const swatch = el("span", { class: dash ? "lm-swatch lm-swatch-line" : "lm-swatch", "aria-hidden": "true", text: dash ? "" : GLYPHS[symbol] || "●" });
      swatch.style[dash ? "borderColor" : "color"] = colour;
      const button = el("button", { type: "button", class: "lm-legend-item", "aria-pressed": String(!hidden.has(key)) }, swatch, name);
      button.addEventListener("click", () => {
        if (hidden.has(key)) hidden.delete(key);
        else hidden.add(key);
        button.setAttribute("aria-pressed", String(!hidden.has(key)));
        onToggle();
      });
      return button;
    }),
  );
}

export function classItems(names, palette = { colours: PALETTE, symbols: SYMBOLS }) {
  const { colours, symbols } = palette;
  return names.map((name, i) => ({ key: `class:${i}`, name, colour: colours[i % colours.length], symbol: symbols[i % symbols.length] }));
}

export function buildColourbar(box, title, range) {
  if (!range) {
    box.replaceChildren();
    return;
  }
  const bar = el("span", { class: "lm-bar" });
  bar.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(scaleColour).join(", ")})`;
  box.replaceChildren(el("span", { text: `${title}: ${range[0].toFixed(3)} ` }), bar, el("span", { text: ` ${range[1].toFixed(3)}` }));
}

/** Sliders z1..zL; onInput(d, value) while dragged, onCommit() once released (or per key). */
export function buildSliders(box, latentDim, [lo, hi], onInput, onCommit) {
  const inputs = [], outputs = [];
  const rows = [];
  for (let d = 0; d < latentDim; d++) {
    const name = `z${d + 1}`;
    const input = el("input", { type: "range", min: lo, max: hi, step: "0.01", value: "0", "aria-label": name });
    const output = el("output", { class: "lm-value", text: "0.00" });
    input.addEventListener("input", () => onInput(d, Number(input.value)));
    input.addEventListener("change", () => onCommit());
    inputs.push(input);
    outputs.push(output);
    rows.push(el("label", { class: "lm-slider" }, el("span", { class: "lm-name", text: name }), input, output));
  }
  box.replaceChildren(...rows);
  return {
    show(z) {
      for (let d = 0; d < latentDim; d++) {
        if (document.activeElement !== inputs[d]) inputs[d].value = String(Math.min(hi, Math.max(lo, z[d])));
        outputs[d].textContent = z[d].toFixed(2);
      }
    },
  };
}

/** The label a conditional decoder is given; onChange(label). */
export function buildLabelChooser(box, names, conditioning, onChange) {
  if (!conditioning) {
    box.replaceChildren();
    return null;
  }
  const select = el("select", { "aria-label": "decode as label" }, ...names.slice(0, conditioning).map((n, i) => el("option", { value: i, text: n })));
  select.addEventListener("change", () => onChange(Number(select.value)));
  box.replaceChildren(el("label", {}, "decode as label ", select));
  return select;
}
