"""How the Streamlit 1.67 frontend holds and sends widget values, for harness/st_protocol.py's Session.

`Element` is one element of a page as the protocol delivers it; `drawn_value` is what the browser
holds for a widget it has just drawn, `encode_value` the WidgetState it sends for a new value.
"""

import json
from dataclasses import dataclass
from typing import Any

from streamlit.proto.WidgetStates_pb2 import WidgetState

__all__ = ["COMPACT", "TEXT_KINDS", "Element", "drawn_value", "encode_value"]

COMPACT = {"separators": (",", ":")}  # json.dumps as JSON.stringify writes
TEXT_KINDS = ("markdown", "text", "heading", "alert", "code", "exception", "metric", "imgs")
FIELDS = {
    "slider": "double_array_value",
    "checkbox": "bool_value",
    "number_input": "double_value",  # per kind
    "selectbox": "string_value",
    "radio": "string_value",
    "text_input": "string_value",
    "text_area": "string_value",
    "plotly_chart": "string_value",
    "bidi_component": "json_value",
    "button": "trigger_value",
    "download_button": "trigger_value",
}


@dataclass
class Element:
    """An element or block at a delta path; `proto` is its own message (Slider, Markdown...)."""

    path: tuple[int, ...]
    kind: str
    proto: Any
    fragment_id: str
    run_id: str  # the run that last drew it
    id: str = ""  # widgets only
    key: str | None = None  # the user's key=, read from ids like "$$ID-<hash>-<key>"

    @property
    def text(self) -> str:
        if self.kind == "imgs":
            return "\n".join(image.caption for image in self.proto.imgs)
        return next((getattr(self.proto, n) for n in ("body", "message", "code_text") if hasattr(self.proto, n)), "")


def drawn_value(kind: str, p) -> Any:  # what the browser holds for a widget it has just drawn
    if kind == "slider" and p.type == p.SELECT_SLIDER:  # its options' texts (the server sets raw_value)
        return list(p.raw_value) if p.set_value and p.raw_value else [p.options[int(i)] for i in p.default]
    if kind in ("slider", "checkbox"):
        return (list if kind == "slider" else bool)(p.value if p.set_value else p.default)
    if kind in ("selectbox", "radio"):  # the server forces an option's text; its default is an index
        return (
            p.raw_value
            if p.set_value and p.HasField("raw_value")
            else p.options[p.default]
            if p.HasField("default") and p.options
            else None
        )
    if kind in ("number_input", "text_input", "text_area"):
        name = "value" if p.set_value and p.HasField("value") else "default"
        return getattr(p, name) if p.HasField(name) else None
    return None  # buttons, charts, components: nothing until the user acts


def encode_value(element: Element, value: Any) -> WidgetState:  # what the browser sends for `value`
    kind, p, state = element.kind, element.proto, WidgetState(id=element.id)
    if kind not in FIELDS:
        raise TypeError(f"no value encoding known for a {kind} widget")
    name = "int_value" if kind == "number_input" and p.data_type == p.INT else FIELDS[kind]
    if kind == "slider" and p.type == p.SELECT_SLIDER:
        state.string_array_value.data.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        return state
    if name == "double_array_value":
        state.double_array_value.data.extend(value if isinstance(value, (list, tuple)) else [value])
    elif name == "int_value":  # an INT input's default comes as a double
        state.int_value = int(value)
    else:
        setattr(state, name, json.dumps(value, **COMPACT) if name == "json_value" or kind == "plotly_chart" else value)
    return state
