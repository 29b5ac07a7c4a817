"""The class code: a server that listens beyond 127.0.0.1 serves only sessions that entered it.

Streamlit has no sign-in of its own for an app on a lab network, so every session enters the
class code (CVAE_CLASS_CODE) before any page runs; wrong codes slow down the next try on the whole
server, as the teacher code does. Without a code, a server bound beyond loopback refuses to serve.
"""

from __future__ import annotations

import ipaddress

import streamlit as st

from cvae.access import TeacherGate
from cvae.settings import settings

__all__ = ["class_gate_or_stop", "is_loopback"]

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


@st.cache_resource
def _gate(code: str | None) -> TeacherGate:
    return TeacherGate(code)  # the same server-wide growing delay, for another code


def class_gate_or_stop() -> None:
    """Stop this run unless the session may use the app: loopback without a code, or the code entered."""
    code, address = settings().class_code, st.get_option("server.address")
    if code is None:
        if is_loopback(address):
            return
        st.error(
            f"This server listens on {address or 'every network interface'}, so anyone on the network could "
            "use it: set CVAE_CLASS_CODE to a code for your class and start it again (README, 'A lab of "
            "machines'), or serve on 127.0.0.1 only."
        )
        st.stop()
    if st.session_state.get(_SIGNED_IN):
        return
    st.title("CVAE Explorer")
    with st.form("class-sign-in", clear_on_submit=True):
        given = st.text_input("Class code", type="password", help="Your teacher gives it out in class.")
        submitted = st.form_submit_button("Enter")
    if submitted:
        attempt = _gate(code).attempt(given)
        if attempt.outcome == "signed-in":
            st.session_state[_SIGNED_IN] = True
            st.rerun()
        elif attempt.outcome == "wait":
            st.error(f"Too many wrong codes on this server: the next try is accepted in {attempt.wait_s:.0f} s.")
        else:
            st.error(f"That is not the class code. The next try is accepted in {attempt.wait_s:.0f} s.")
    st.stop()
