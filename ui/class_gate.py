"""The class code: a server that listens beyond 127.0.0.1 serves only sessions that entered it.

Streamlit has no sign-in of its own for an app on a lab network, so every session enters the
class code (CVAE_CLASS_CODE) before any page runs; wrong codes slow down the next try on the whole
server (every replica: the count is in the database), as the teacher code does. Without a code, a
server bound beyond loopback refuses to serve.
"""

from __future__ import annotations

import ipaddress

import streamlit as st

from cvae.access import CodeGate
from cvae.db import database, database_url
from cvae.settings import settings

__all__ = ["class_gate_or_stop", "class_gate_passed", "forwarded_from_beyond_loopback", "is_loopback"]

_SIGNED_IN = "class_signed_in"


def is_loopback(address: str | None) -> bool:
    """Whether a server.address reaches this machine only (unset is Streamlit's every interface)."""
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def forwarded_from_beyond_loopback(header: str | None) -> bool:
    """Whether a proxy's X-Forwarded-For says the browser is on another machine. A replica behind
    HAProxy listens on 127.0.0.1 while its students are on the network; HAProxy appends the address it
    saw, so a browser that forges "127.0.0.1" still shows up at the end of the chain."""
    return bool(header) and not all(is_loopback(part.strip()) for part in header.split(","))


@st.cache_resource
def _gate(code: str | None, url: str) -> CodeGate:
    return CodeGate(database(url), "class", code)  # the teacher code's growing delay, counted apart


def class_gate_passed() -> bool:
    """Whether this session may use the app (what `class_gate_or_stop` lets through), without drawing anything."""
    if settings().class_code is None:
        return _serves_loopback_only()
    return bool(st.session_state.get(_SIGNED_IN))


def _serves_loopback_only() -> bool:
    forwarded = forwarded_from_beyond_loopback(st.context.headers.get("X-Forwarded-For"))
    return is_loopback(st.get_option("server.address")) and not forwarded


def class_gate_or_stop() -> None:
    """Stop this run unless the session may use the app: loopback without a code, or the code entered."""
    code, address = settings().class_code, st.get_option("server.address")
    forwarded = forwarded_from_beyond_loopback(st.context.headers.get("X-Forwarded-For"))
    if code is None:
        if _serves_loopback_only():
            return
        where = "behind a proxy that serves the network" if forwarded else f"on {address or 'every network interface'}"
        st.error(
            f"This server listens {where}, so anyone on the network could use it: set CVAE_CLASS_CODE to a "
            "code for your class and start it again (Teacher's guide, 'Serving a department'), or serve on "
            "127.0.0.1 only."
        )
        st.stop()
    if st.session_state.get(_SIGNED_IN):
        return
    st.title("CVAE Explorer")
    with st.form("class-sign-in", clear_on_submit=True):
        given = st.text_input("Class code", type="password", help="Your teacher gives it out in class.")
        submitted = st.form_submit_button("Enter")
    if submitted:
        attempt = _gate(code, database_url()).attempt(given)
        if attempt.outcome == "signed-in":
            st.session_state[_SIGNED_IN] = True
            st.rerun()
        elif attempt.outcome == "wait":
            st.error(f"Too many wrong codes on this server: the next try is accepted in {attempt.wait_s:.0f} s.")
        else:
            st.error(f"That is not the class code. The next try is accepted in {attempt.wait_s:.0f} s.")
    st.stop()
