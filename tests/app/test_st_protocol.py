"""harness/st_protocol.py against a real `streamlit run` of a tiny app written into tmp_path (loopback only)."""

import asyncio
import contextlib

import pytest

from harness.server import serving
from harness.st_protocol import Session

pytestmark = pytest.mark.slow

APP = """
import streamlit as st

st.session_state.setdefault("full_runs", 0)
st.session_state["full_runs"] += 1
n = st.slider("n", 0, 10, 3, key="n")
st.write(f"n squared is {n * n}")
st.write(f"full runs: {st.session_state.full_runs}")
st.markdown("x" * 20_000)  # large and unchanged: cached by the client, sent by reference after


@st.fragment
def clicks():
    st.session_state.setdefault("clicks", 0)
    if st.button("Add one", key="add"):
        st.session_state["clicks"] += 1
    st.write(f"clicks: {st.session_state.clicks}")


clicks()
if st.query_params.get("tick"):
    @st.fragment(run_every=0.3)
    def ticker():
        st.session_state.setdefault("ticks", 0)
        st.session_state["ticks"] += 1
        st.write(f"ticks: {st.session_state.ticks}")
    ticker()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The tiny app on a free loopback port: the harness's server, run from the tiny app's folder."""
    root = tmp_path_factory.mktemp("st_app")
    (root / "app.py").write_text(APP)
    with serving(root / "runs", root / "server.log", app_dir=root) as served:
        yield served.url


@contextlib.asynccontextmanager
async def opened(server, **kwargs):
    tab = Session(server, timeout=15, **kwargs)
    try:
        await tab.connect()
        yield tab
    finally:
        await tab.close()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 25))


def text(tab, prefix):
    return next(t for t in tab.texts() if t.startswith(prefix))


def test_slider_reruns_the_script(server):
    async def scenario():
        async with opened(server) as tab:
            assert tab.page_script_hash and tab.run_id
            assert text(tab, "n squared") == "n squared is 9" and tab.value("n") == [3]
            first = tab.interactions[0]
            step = await tab.set("n", 7)
            assert step.status == 0 and step.latency_s > 0 and step.bytes_received > 0
            assert text(tab, "n squared") == "n squared is 49" and text(tab, "full runs") == "full runs: 2"
            # the 20 KB markdown came by reference the second time
            assert first.bytes_received > 20_000 > step.bytes_received
            assert "x" * 20_000 in tab.texts()
            await tab.set(tab.find(label="n"), 10)
            assert text(tab, "n squared") == "n squared is 100"

    run(scenario())


def test_changes_sent_without_waiting_are_all_answered(server):
    async def scenario():
        async with opened(server) as tab:
            steps = []
            for n in range(1, 6):  # a fast drag: each change is sent before the last one's rerun is done
                steps.append(await tab.set("n", n, wait=False))
                await asyncio.sleep(0.005)
            await asyncio.gather(*(tab.wait(step) for step in steps))
            assert all(step.status == 0 and step.latency_s > 0 for step in steps)
            assert text(tab, "n squared") == "n squared is 25"

    run(scenario())


def test_button_in_a_fragment_reruns_only_the_fragment(server):
    async def scenario():
        async with opened(server) as tab:
            await tab.set("n", 5)
            for expected in (1, 2):
                click = await tab.click("add")
                assert click.status == 3  # FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                assert text(tab, "clicks") == f"clicks: {expected}"
            assert text(tab, "full runs") == "full runs: 2"  # the script itself did not run again
            assert text(tab, "n squared") == "n squared is 25"  # and what it drew is still there
            assert tab.find("add").fragment_id and not tab.find("n").fragment_id
            await tab.set("n", 6)  # the button was a trigger: a full run does not press it again
            assert text(tab, "clicks") == "clicks: 2" and text(tab, "full runs") == "full runs: 3"

    run(scenario())


def test_run_every_fragment_and_concurrent_sessions(server):
    async def scenario():
        tabs = [Session(server, query="tick=1", timeout=15) for _ in range(3)]
        await asyncio.gather(*(tab.connect() for tab in tabs))
        try:
            await asyncio.sleep(1.5)
            for tab in tabs:
                ticks = int(text(tab, "ticks").split()[-1])
                assert ticks >= 2  # the client's own timer reran the fragment
                autos = [i for i in tab.interactions if i.label.startswith("auto") and i.latency_s is not None]
                assert autos and all(i.status == 3 for i in autos)
                assert text(tab, "full runs") == "full runs: 1"
            steps = await asyncio.gather(*(tab.set("n", k) for k, tab in enumerate(tabs)))
            assert all(step.status == 0 for step in steps)
            assert [text(tab, "n squared") for tab in tabs] == [f"n squared is {k * k}" for k in range(3)]
        finally:
            await asyncio.gather(*(tab.close() for tab in tabs))

    run(scenario())
