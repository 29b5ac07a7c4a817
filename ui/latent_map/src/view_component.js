// The view half of the latent map: per-run JSON from Python (the pinned point, the colouring, the
// teaching overlays), handed to the map component with the same target; and the way back for the
// map's pins (its trigger, see bus.js). Renders nothing itself.
import { entry } from "./bus.js";

export default function latentMapView({ data, setTriggerValue }) {
  if (data instanceof Uint8Array) data = JSON.parse(new TextDecoder().decode(data)); // sent as UTF-8 JSON bytes
  if (!data || typeof data.target !== "string") return;
  const e = entry(data.target);
  e.send = setTriggerValue;
  e.view = data;
  if (e.map) e.map.setView(data);
}
