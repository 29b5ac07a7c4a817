"""The Latent page's parts (app_pages/latent.py composes them; the Lessons page's map reuses them).

- `first_map`: a tab's first map drawn alone, the rest of the page once the browser shows it
- `projection`: which plane the map shows (the selector), each projection cached server-wide
- `controls`: the map's sidebar controls (projection, colouring, prior, density)
- `payloads`: the map's data for the browser (coords, decoder, lift, density), cached per model
- `view`: the pinned point (the browser's pins applied) and the map's per-run view
- `tools`: the teaching tools around the pinned point (a draw, nearest digits, the picked digit, a path)

The map component itself (JavaScript + WebAssembly) is `ui.latent_map`.
"""

__all__: list[str] = []
