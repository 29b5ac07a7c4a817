// The latent map's input: pointer moves explore (the digit under the pointer shows a tooltip), a
// press that moves pans, a click pins, the wheel zooms about the pointer, a double click resets;
// the keyboard moves the explored point (arrows, Shift for larger steps), pins it (Enter, Space),
// zooms (+ and -), resets (0) and stops exploring (Escape). All of it as calls on the map
// (MapState, map_state.js); nothing here holds state beyond one press.

const DRAG_PX = 4; // a press that moves further is a pan, not a click

export function listenInput(map) {
  const top = map.canvas.top;
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
        map.canvas.pan(px - press.last[0], py - press.last[1]);
        press.last = [px, py];
        map.schedule();
        return;
      }
    }
    if (!map.canvas.inPlot(px, py)) return map.stopExploring();
    const index = map.canvas.nearest(px, py);
    map.explore(map.canvas.toMap(px, py), index >= 0 ? index : null);
    map.showTooltip(px, py, index);
  });
  top.addEventListener("pointerup", (ev) => {
    const [px, py] = local(ev);
    const wasClick = press && !press.moved;
    press = null;
    if (!wasClick || !map.canvas.inPlot(px, py) || !map.lift) return;
    const index = map.canvas.nearest(px, py);
    const uv = map.canvas.toMap(px, py);
    const z = index >= 0 ? map.codeOf(index) : map.lift.toLatent(uv[0], uv[1], new Float32Array(map.L));
    map.pin({ uv: index >= 0 ? [map.arrays.coords[2 * index], map.arrays.coords[2 * index + 1]] : uv, index: index >= 0 ? index : null, z });
  });
  top.addEventListener("pointerleave", () => { if (!press) map.stopExploring(); });
  top.addEventListener("dblclick", () => { map.canvas.resetWindow(); map.schedule(); });
  top.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [px, py] = local(ev);
    map.zoomBy(Math.exp(Math.max(-1, Math.min(1, ev.deltaY / 300))), map.canvas.toMap(px, py));
  }, { passive: false });
  top.addEventListener("keydown", (ev) => onKey(map, ev));
  top.addEventListener("blur", () => map.stopExploring());
}

function onKey(map, ev) {
  const { x, y } = map.canvas.window;
  const step = (ev.shiftKey ? 0.1 : 0.02);
  const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  const start = () => (map.hover && map.hover.uv) || map.pinned.uv || (map.lift && map.lift.toMap(map.pinned.z)) || [(x[0] + x[1]) / 2, (y[0] + y[1]) / 2];
  if (moves[ev.key]) {
    const [du, dv] = moves[ev.key], [u, v] = start();
    map.explore([u + du * step * (x[1] - x[0]), v + dv * step * (y[1] - y[0])], null);
  } else if ((ev.key === "Enter" || ev.key === " ") && map.hover) {
    map.pin(map.hover);
  } else if (ev.key === "+" || ev.key === "=") {
    map.zoomBy(1 / 1.5, start());
  } else if (ev.key === "-") {
    map.zoomBy(1.5, start());
  } else if (ev.key === "0") {
    map.canvas.resetWindow();
    map.schedule();
  } else if (ev.key === "Escape") {
    map.stopExploring();
  } else {
    return;
  }
  ev.preventDefault();
}
