// The map's colours and marker shapes: the class palette (cvae/viz/palette.py, sent in the payload
// as header.palette; PALETTE is its copy for a payload without one) and the continuous (viridis)
// scale the points, the legend and the colour bar share.

// Okabe-Ito's eight plus navy and brown (cvae/viz/palette.py CLASS_COLOURS)
export const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#000099", "#663300"];
export const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "triangle-down", "cross", "x", "star", "pentagon", "hexagon"];
const VIRIDIS = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];

function lerpColour(stops, t) {
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
  const a = parseInt(stops[i].slice(1), 16), b = parseInt(stops[i + 1].slice(1), 16);
  const ch = (s) => Math.round(((a >> s) & 255) * (1 - f) + ((b >> s) & 255) * f);
  return `rgb(${ch(16)},${ch(8)},${ch(0)})`;
}
export const scaleColour = (t) => lerpColour(VIRIDIS, t);

const polygon = (k, phase = -Math.PI / 2, radii = [1]) =>
  Array.from({ length: k * radii.length }, (_, i) => {
    const a = phase + (i * 2 * Math.PI) / (k * radii.length), r = radii[i % radii.length];
    return [r * Math.cos(a), r * Math.sin(a)];
  });
const plus = [[-1, -0.3], [-0.3, -0.3], [-0.3, -1], [0.3, -1], [0.3, -0.3], [1, -0.3], [1, 0.3], [0.3, 0.3], [0.3, 1], [-0.3, 1], [-0.3, 0.3], [-1, 0.3]];
const turn = (pts, a) => pts.map(([x, y]) => [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)]);
// unit outlines (y down, as on the canvas) of the Plotly symbols the figures use; a circle is drawn as an arc
const OUTLINES = {
  square: [[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]],
  diamond: polygon(4),
  "triangle-up": polygon(3),
  "triangle-down": polygon(3, Math.PI / 2),
  cross: plus,
  x: turn(plus, Math.PI / 4),
  star: polygon(5, -Math.PI / 2, [1, 0.45]),
  pentagon: polygon(5),
  hexagon: polygon(6, 0),
};

/** Add one marker of `symbol` at (px, py), radius r, to a Path2D (one path per class keeps a redraw to 10 fills). */
export function addMarker(path, symbol, px, py, r) {
  const outline = OUTLINES[symbol];
  if (!outline) {
    path.moveTo(px + r, py);
    path.arc(px, py, r, 0, 2 * Math.PI);
    return;
  }
  const s = r * 1.25; // shapes other than a circle look smaller at the same radius
  path.moveTo(px + outline[0][0] * s, py + outline[0][1] * s);
  for (let i = 1; i < outline.length; i++) path.lineTo(px + outline[i][0] * s, py + outline[i][1] * s);
  path.closePath();
}
