"""The class code: beyond 127.0.0.1 the app serves only sessions that entered it, and never without one."""

import time

import pytest
from streamlit import config as st_config

from tests.conftest import open_app
from ui.class_gate import forwarded_from_beyond_loopback, is_loopback


@pytest.fixture
def address():
    """Set Streamlit's server.address for one test (what `--server.address` sets), then restore it."""
    before = st_config.get_option("server.address")
    yield lambda value: st_config.set_option("server.address", value)
    st_config.set_option("server.address", before)


def test_the_shipped_config_serves_loopback_only():
    assert st_config.get_option("server.address") == "127.0.0.1"


@pytest.mark.parametrize(
    ("value", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("192.168.1.20", False),
        ("lab-server", False),
    ],
)
def test_what_counts_as_loopback(value, loopback):
    assert is_loopback(value) is loopback


@pytest.mark.parametrize(
    ("header", "beyond"),
    [
        (None, False),
        ("", False),
        ("127.0.0.1", False),
        ("::1, 127.0.0.1", False),
        ("10.1.2.3", True),
        ("127.0.0.1, 192.168.1.20", True),  # a browser forging a local address: HAProxy appends the real one
        ("not-an-address", True),
    ],
)
def test_what_a_proxy_says_about_where_the_browser_is(header, beyond):
    assert forwarded_from_beyond_loopback(header) is beyond


def test_loopback_without_a_code_is_the_app():
    at = open_app()
    assert not at.text_input  # no sign-in form
    assert at.title[0].value == "CVAE Explorer"


def test_every_interface_without_a_code_refuses_to_serve(address, monkeypatch):
    monkeypatch.delenv("CVAE_CLASS_CODE", raising=False)
    address("0.0.0.0")
    at = open_app()
    assert "set CVAE_CLASS_CODE" in at.error[0].value
    assert not at.title and not at.text_input  # no page ran, no form


def test_beyond_loopback_a_session_enters_the_class_code_first(address, monkeypatch, runs_dir):
    monkeypatch.setenv("CVAE_CLASS_CODE", "owls-2026")
    address("0.0.0.0")
    at = open_app()
    assert at.text_input[0].label == "Class code"
    assert not at.sidebar.selectbox  # the model picker and pages wait for the code
    at.text_input[0].input("guess")
    at.button[0].click().run()
    assert "not the class code" in at.error[0].value
    assert at.text_input[0].label == "Class code"
    assert "owls-2026" not in str(at)  # never echoed
    time.sleep(1.1)  # the server's delay after one wrong code
    at.text_input[0].input("owls-2026")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert not any(t.label == "Class code" for t in at.text_input)
    # a class works under names: the student gives one before any page
    assert [t.label for t in at.text_input] == ["Your name"]
    assert not at.title and not at.sidebar.selectbox
    at.text_input[0].input("Ada")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not any(t.label == "Your name" for t in at.text_input)
    at.switch_page("app_pages/latent.py").run()  # every page now serves this session
    assert not at.exception and at.title[0].value == "Latent space"


def test_in_a_class_a_name_is_given_once_and_a_refreshed_tab_keeps_it(address, monkeypatch, runs_dir):
    from ui.class_gate import _SIGNED_IN
    from ui.student import PARAM

    monkeypatch.setenv("CVAE_CLASS_CODE", "owls-2026")
    address("0.0.0.0")
    at = open_app()
    at.session_state[_SIGNED_IN] = True  # past the class code (the test above enters it)
    at.run()
    at.text_input[0].input("<b>Ada</b>")
    at.button[0].click().run()
    token = at.query_params[PARAM][0] if isinstance(at.query_params[PARAM], list) else at.query_params[PARAM]
    assert token and at.title[0].value == "CVAE Explorer"
    # a refreshed tab: a new session with the URL's token, past the class code again
    again = open_app()
    again.session_state[_SIGNED_IN] = True
    again.query_params[PARAM] = token
    again.run()
    assert not any(t.label == "Your name" for t in again.text_input)
    assert again.title[0].value == "CVAE Explorer"
    # someone else's made-up token gets the name form, not Ada's place
    stranger = open_app()
    stranger.session_state[_SIGNED_IN] = True
    stranger.query_params[PARAM] = token[:-2] + "xx"
    stranger.run()
    assert [t.label for t in stranger.text_input] == ["Your name"]


def test_a_set_code_is_asked_for_on_loopback_too(monkeypatch, runs_dir):
    monkeypatch.setenv("CVAE_CLASS_CODE", "owls-2026")
    at = open_app()
    assert at.text_input[0].label == "Class code"


def _listening(pid: int) -> set[str]:
    import psutil

    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


@pytest.mark.slow
def test_a_real_server_listens_on_loopback_unless_told_and_then_asks_for_the_code(tmp_path):
    """`streamlit run app.py` as the README says binds 127.0.0.1 only; told 0.0.0.0 without a class
    code it serves nothing but the refusal; with one, every session gets the sign-in form first."""
    import asyncio

    from harness.server import StreamlitServer
    from harness.st_protocol import Session

    async def first_page(url: str) -> tuple[list[str], list[str]]:
        """The texts and the widget labels a new session is shown."""
        session = Session(url)
        try:
            await session.connect()
            labels = [getattr(e.proto, "label", "") for e in session.elements.values()]
            return session.texts(), labels
        finally:
            await session.close()

    plain = StreamlitServer(tmp_path / "runs", tmp_path / "plain.log", address=None)
    plain.start()
    try:
        assert _listening(plain.proc.pid) == {"127.0.0.1"}
    finally:
        plain.stop()

    open_to_all = StreamlitServer(tmp_path / "runs", tmp_path / "open.log", address="0.0.0.0")
    open_to_all.start()
    try:
        assert _listening(open_to_all.proc.pid) == {"0.0.0.0"}
        texts, labels = asyncio.run(first_page(open_to_all.url))
        assert "set CVAE_CLASS_CODE" in " ".join(texts) and not any(labels)  # the refusal, no widget
    finally:
        open_to_all.stop()

    coded = StreamlitServer(
        tmp_path / "runs", tmp_path / "coded.log", address="0.0.0.0", env={"CVAE_CLASS_CODE": "owls-2026"}
    )
    coded.start()
    try:
        texts, labels = asyncio.run(first_page(coded.url))
        assert "Class code" in labels and "owls-2026" not in " ".join(texts + labels)
    finally:
        coded.stop()
