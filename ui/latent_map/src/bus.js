// The map component and its small "view" component are two Streamlit elements (so a click re-sends
// only the view, never the scatter and the weights); they meet here, on one page-wide registry
// keyed by the map's Streamlit key. Whichever mounts first waits for the other. The map's pins go
// out through the view's trigger (`send`): Python reruns the fragment the view is in, one run a pin.

const REGISTRY = "__cvaeLatentMap";

/** The entry for map `target`: {map: LatentMap | null, view: the latest view data | null,
 * send: the view's setTriggerValue | null}. */
export function entry(target) {
  const all = (window[REGISTRY] ||= new Map());
  if (!all.has(target)) all.set(target, { map: null, view: null, send: null });
  return all.get(target);
}
