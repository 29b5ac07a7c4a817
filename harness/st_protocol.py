"""A client of Streamlit's websocket protocol: a `Session` acts as one browser tab, as the 1.67
frontend does (read in its JS bundle, checked on the wire), so a load test needs no browsers.

    tab = Session("http://127.0.0.1:8501", page="latent")
    await tab.connect()                # opens the page as Chromium does
    step = await tab.set("z_0", 0.01)  # the z1 slider, one step: step.latency_s, step.bytes_received
    await tab.close()

Validated 2026-12-01 (app 8b5c838, Latent page, slider `z_0`; Chromium via Playwright frames and this
client stepping in turn on one server, 20 pairs, 2-core machine at load 3-12; scripts in
/work/scratch_protocol/): BackMsgs equal field for field (so for a selectbox, int and float number
inputs, a plotly click, a v2 component's state and trigger); per step both got 38 messages, 331,885-6
bytes (the 324 KB figure changes each step), captions (0.01, 0.00), (0.02, 0.00)...; server CPU p50
0.18 s (Chromium's steps) vs 0.16 s; send -> script_finished p50 914 ms (282-1,937) vs 246 ms (128-375):
equal up to the figure, then Chromium spends ~0.9 s CPU drawing it beside the server. A tab that stops
reading: ~4.2 MB wait in the server's socket and its session is dropped; other tabs keep their latency.
"""

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from harness.st_widgets import COMPACT, TEXT_KINDS, Element, drawn_value, encode_value

__all__ = ["Element", "Interaction", "Session"]

CUT_SHORT = ForwardMsg.FINISHED_EARLY_FOR_RERUN  # status 2; 0 ends a full run, 3 a fragment run


@dataclass
class Interaction:
    """One rerun request: latency_s from it to the end of the first run started after it was sent and not cut
    short, bytes received from its send; `finished` resolves then (latency_s None: the socket closed first)."""

    label: str
    sent_at: float  # time.perf_counter()
    run_id: str | None = None  # the run answering it, once started
    latency_s: float | None = None
    bytes_received: int = 0
    status: int | None = None  # that run's script_finished: 0 full run, 3 fragment run
    finished: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future(), repr=False)


class Session:
    """One simulated tab on `server` (http://host:port[/base]) at url path `page` [?query]."""

    def __init__(self, server: str, page: str = "", query: str = "", *, timeout: float = 60.0, headers=None):
        self.server, self.page, self.query, self.timeout = server.rstrip("/"), page.strip("/"), query, timeout
        self.headers = dict(headers or {})  # sent with the websocket's upgrade request, beside the cookies
        self.elements, self.interactions = {}, []  # delta path -> Element; every request made
        self.page_script_hash, self.run_id, self.bytes_received, self.error = "", "", 0, None  # error: see _read
        self._widgets: dict[str, WidgetState] = {}  # the browser's WidgetStateManager
        self._cache: dict[str, list] = {}  # hash -> [ForwardMsg bytes, run count when last used, fragment id]
        self._runs, self._max_age, self._saw_new_session = 0, 2, False  # the cache's clock
        self.runs_started = 0  # new_session messages: one per script run or fragment run the server began
        self._pending, self._outbox, self._timers = [], [], {}  # sent, held back; fragment id -> run_every timer
        self._ws = self._reader = None
        self.cookies: dict[str, str] = {}  # name -> value, as set by the first request

    async def connect(self) -> Interaction:
        """Open the websocket as Chromium does (same Origin, the xsrf cookie, its token as 2nd subprotocol, no
        pings of its own: it answers the server's); returns the page's first run."""
        cookie = await asyncio.wait_for(asyncio.to_thread(self._xsrf_cookie), self.timeout)
        jar = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        origin = "://".join(urlsplit(self.server)[:2])
        self._ws = await connect(
            self.server.replace("http", "ws", 1) + "/_stcore/stream",
            origin=origin,
            subprotocols=["streamlit"] + [cookie] * bool(cookie),
            proxy=None,
            max_size=None,
            additional_headers={**self.headers, **({"Cookie": jar} if jar else {})},
            ping_interval=None,
            open_timeout=self.timeout,
            close_timeout=5,
        )
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(label="open")

    def _xsrf_cookie(self) -> str:  # never through a proxy, as the websocket
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.server}/_stcore/health", timeout=self.timeout) as response:
            cookies = [c.split(";")[0].partition("=") for c in response.headers.get_all("Set-Cookie") or []]
        # the browser's jar: the websocket carries every cookie, so behind HAProxy its stickiness cookie
        # keeps the socket on the replica that answered this request (without it, round robin alternates)
        self.cookies = {name.strip(): value for name, _, value in cookies}
        return self.cookies.get("_streamlit_xsrf", "")

    async def close(self) -> None:
        self._stop_timers(list(self._timers))
        if self._ws is not None:
            await self._ws.close()
            await asyncio.wait([self._reader], timeout=self.timeout)

    def find(self, key: str | Element | None = None, *, label: str | None = None, kind: str | None = None) -> Element:
        """The first element in page order with this key, label and kind (LookupError if none); for an
        Element, what is at its path now (a chart's widget id changes with its figure)."""
        if isinstance(key, Element):
            return self.elements.get(key.path, key)
        for _, e in sorted(self.elements.items()):
            if (
                (key is None or e.key == key)
                and (label is None or getattr(e.proto, "label", None) == label)
                and (kind is None or e.kind == kind)
            ):
                return e
        raise LookupError(f"no {key=} {label=} {kind=}; widget keys: {[e.key for e in self.elements.values() if e.id]}")

    def value(self, target: str | Element) -> Any:
        """What the browser would send now for this widget (a list for sliders; None if nothing)."""
        state = self._widgets.get(self.find(target).id) or WidgetState()
        value = getattr(state, name) if (name := state.WhichOneof("value")) else None
        return list(value.data) if hasattr(value, "data") else json.loads(value) if name == "json_value" else value

    def texts(self) -> list[str]:
        """Texts (markdown, st.write, headings, alerts, exceptions...) and image captions, in page order."""
        return [e.text for _, e in sorted(self.elements.items()) if e.kind in TEXT_KINDS]

    async def set(self, target: str | Element, value: Any, *, wait: bool = True) -> Interaction:
        """Change a widget: slider, selectbox, radio, checkbox, number or text input, a v2 component's state
        (a dict, merged as setStateValue does), a plotly selection ({"selection": {"points": [...], ...}})."""
        element = self.find(target)
        if element.kind == "bidi_component":
            value = {**(self.value(element) or {}), **value}
        self._widgets[element.id] = encode_value(element, value)
        return await self.rerun(element.fragment_id, label=f"set {element.key}", wait=wait)

    async def click(self, target: str | Element, event="", value=None, *, state=None, wait=True) -> Interaction:
        """Press a button, or send a v2 component's setTriggerValue(event, value): true once; `state`
        merges into the component's state in the same message (a handler calling both sends one)."""
        element = self.find(target)
        if state:
            self._widgets[element.id] = encode_value(element, {**(self.value(element) or {}), **state})
        trigger = (
            WidgetState(
                id=f"$$STREAMLIT_INTERNAL_KEY_{element.id}__events",
                json_trigger_value=json.dumps([{"event": event, "value": value}], **COMPACT),
            )
            if event
            else encode_value(element, True)
        )
        return await self.rerun(element.fragment_id, once=[trigger], label=f"click {element.key} {event}", wait=wait)

    async def rerun(self, fragment_id="", *, once=(), label="rerun", auto=False, wait=True) -> Interaction:
        """Ask for a rerun with the widget states (and triggers `once`); by default wait for its run."""
        interaction = Interaction(label, time.perf_counter())
        self.interactions.append(interaction)
        self._outbox.append((interaction, fragment_id, once, auto))
        # held while an earlier one awaits its run: the server might fold both in one, telling no one
        if not any(i.run_id is None for i in self._pending):
            await self._send()
        return await self.wait(interaction) if wait else interaction

    async def _send(self) -> None:  # one rerun_script for the requests held back, as the browser batches
        batch, self._outbox = self._outbox, []
        if not batch:  # another send took them
            return
        back = BackMsg()
        rerun, info = back.rerun_script, back.rerun_script.context_info
        fragments = {fragment_id for _, fragment_id, _, _ in batch}  # a full rerun includes the fragments
        rerun.fragment_id = fragments.pop() if len(fragments) == 1 else ""
        rerun.query_string, rerun.is_auto_rerun = self.query, all(auto for *_, auto in batch)
        known = bool(self.page_script_hash)  # the first run names the url path, later ones the page's hash
        rerun.page_name, rerun.page_script_hash = ("", self.page_script_hash) if known else (self.page, "")
        once = {state.id: state for _, _, states, _ in batch for state in states}  # triggers: this message only
        rerun.widget_states.widgets.extend({**self._widgets, **once}.values())
        rerun.cached_message_hashes.extend(self._cache)
        info.timezone, info.timezone_offset, info.locale, info.color_scheme = "UTC", 0, "en-US", "light"
        info.is_embedded, info.url = False, f"{self.server}/{self.page}" + (f"?{self.query}" if self.query else "")
        self._pending.extend(interaction for interaction, *_ in batch)
        self._saw_new_session = False
        await asyncio.wait_for(self._ws.send(back.SerializeToString()), self.timeout)

    async def wait(self, interaction: Interaction, timeout: float | None = None) -> Interaction:
        """Wait at most `timeout` (default: the session's) seconds for its run to finish."""
        return await asyncio.wait_for(asyncio.shield(interaction.finished), timeout or self.timeout)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self._handle(raw)
        except Exception as err:
            self.error = err
            await self._ws.close()
        self._stop_timers(list(self._timers))
        for interaction in self._pending:
            interaction.finished.set_result(interaction)

    def _handle(self, raw: bytes) -> None:
        self.bytes_received += len(raw)
        for interaction in self._pending:
            interaction.bytes_received += len(raw)
        msg = ForwardMsg.FromString(raw)
        if msg.WhichOneof("type") == "ref_hash":  # the payload is the one we kept; the metadata is new
            entry, metadata = self._cache[msg.ref_hash], msg.metadata  # KeyError: a miss (a bug, says the browser)
            entry[1], msg = self._runs, ForwardMsg.FromString(entry[0])
            msg.metadata.CopyFrom(metadata)
        elif msg.metadata.cacheable:
            self._cache.setdefault(msg.hash, [raw, self._runs, msg.delta.fragment_id])[1] = self._runs
        kind, run = msg.WhichOneof("type"), msg.metadata.run
        if kind == "new_session":
            self._new_session(msg.new_session, run)
        elif kind == "delta":
            self._delta(msg.delta, tuple(msg.metadata.delta_path), run.script_run_id or self.run_id)
        elif kind == "script_finished":
            self._finished(msg.script_finished, run.script_run_id, list(run.fragment_ids))
        elif kind == "navigation" and msg.navigation.page_script_hash:  # st.navigation picked the page
            self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":  # st.query_params changed: the browser's URL follows
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._stop_timers([msg.auto_rerun.fragment_id])
            self._timers[msg.auto_rerun.fragment_id] = asyncio.create_task(self._auto_rerun(msg.auto_rerun))
        elif kind == "stop_auto_rerun":
            self._stop_timers(msg.stop_auto_rerun.fragment_ids)

    def _new_session(self, new_session, run) -> None:
        self.page_script_hash = new_session.page_script_hash or self.page_script_hash
        self._max_age = new_session.config.max_cached_message_age or self._max_age
        self.run_id, self._saw_new_session = run.script_run_id, True
        self.runs_started += 1  # cut-short runs included: what the server started for this tab
        if not run.fragment_ids:  # a full run: the browser drops its timers, the run sends them again
            self._stop_timers(list(self._timers))
        for interaction in self._pending:  # a run answers all requests sent before it (held ones wait);
            interaction.run_id = run.script_run_id  # one it replaced may end with no script_finished
        if self._outbox:  # keep a reference: the loop holds tasks only weakly
            self._sender = asyncio.create_task(self._send())

    def _delta(self, delta, path: tuple[int, ...], run_id: str) -> None:
        if delta.WhichOneof("type") == "new_element":
            kind = delta.new_element.WhichOneof("type")
            proto = getattr(delta.new_element, kind)
            wid = getattr(proto, "id", "")
            key = wid.split("-", 2)[-1] if wid.startswith("$$ID-") else "None"  # "None": no key given
            element = Element(path, kind, proto, delta.fragment_id, run_id, wid, None if key == "None" else key)
            value = drawn_value(kind, proto)  # the server's set_value overrides what the browser holds
            if value is not None and (getattr(proto, "set_value", False) or element.id not in self._widgets):
                self._widgets[element.id] = encode_value(element, value)
        elif delta.WhichOneof("type") == "add_block":
            element = Element(path, "block", delta.add_block, delta.fragment_id, run_id)
        else:
            return  # new_transient (spinners, toasts) is drawn beside the page, not in it
        self.elements[path] = element

    def _finished(self, status: int, run_id: str, fragment_ids: list[str]) -> None:
        if status != CUT_SHORT:  # drop what this run (or fragment run) did not redraw
            self.elements = {
                path: e
                for path, e in self.elements.items()
                if e.run_id == run_id or fragment_ids and e.fragment_id not in fragment_ids
            }
            ids = {e.id for e in self.elements.values()}
            self._widgets = {i: s for i, s in self._widgets.items() if i in ids}
            if self._saw_new_session:  # as the browser: a run counts once its new_session came
                self._runs += 1  # entries unused for more than max age runs go; a fragment run ages its own only
                self._cache = {
                    h: e
                    for h, e in self._cache.items()
                    if self._runs - e[1] <= self._max_age or fragment_ids and e[2] not in fragment_ids
                }
        for interaction in [i for i in self._pending if i.run_id == run_id and status != CUT_SHORT]:
            interaction.latency_s, interaction.status = time.perf_counter() - interaction.sent_at, status
            interaction.finished.set_result(interaction)
            self._pending.remove(interaction)

    async def _auto_rerun(self, auto) -> None:  # the browser's setInterval for a run_every fragment
        while True:
            await asyncio.sleep(auto.interval)
            await self.rerun(auto.fragment_id, label=f"auto {auto.fragment_id[:8]}", auto=True, wait=False)

    def _stop_timers(self, fragment_ids) -> None:
        for task in [self._timers.pop(f) for f in fragment_ids if f in self._timers]:
            task.cancel()
