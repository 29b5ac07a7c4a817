"""deploy/run-local.sh (issue 29): the app's replicas behind HAProxy over one Dask scheduler and one PostgreSQL.

Real processes throughout: Debian's PostgreSQL and HAProxy, `dask scheduler` and `dask worker` with TLS,
`streamlit run app.py` replicas of this checkout, Debian's Chromium. The upload test runs twice: through
the sticky proxy it must work, and with the stickiness removed (`--no-sticky`, which exists for this
negative control only) it must fail as streamlit#4173 describes, or the first test proves nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from harness.browser import chromium_path, headless_chromium, open_page, wait_script_idle
from harness.deploy import SCRIPT, LocalDeployment, gone, local_deployment, proxy_log, script_env
from harness.server import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None, reason="needs Debian's haproxy"),
    pytest.mark.skipif(not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")), reason="needs Debian's postgresql"),
]
RESULT = "Nearest test digits in latent space"  # the Your digit page's caption once a digit is encoded
UPLOAD_S = 60.0


def _get(url: str, cookie: str | None = None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def _sticky_cookie(headers) -> str:
    """The proxy's Set-Cookie (the replicas set their own XSRF cookie beside it)."""
    found = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith("SRV=")]
    assert len(found) == 1, headers.get_all("Set-Cookie")
    return found[0]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _probe(deployment: LocalDeployment, cookie: str | None = None) -> str:
    """One GET through the proxy, marked so that its log line can be found; the replica it reached."""
    token = uuid.uuid4().hex
    status, _, _ = _get(f"{deployment.proxy_url}/_stcore/health?probe={token}", cookie)
    assert status == 200
    return deployment.served_by(token)[0]


@pytest.fixture(scope="module")
def sticky(tmp_path_factory):
    """One deployment of two replicas for this module's tests, in the order they are written: the last
    ones kill a replica and then stop it all."""
    with local_deployment(tmp_path_factory.mktemp("deploy") / "state") as deployment:
        yield deployment


def test_every_part_is_up_and_listens_on_loopback_only(sticky):
    import psutil

    assert set(sticky.parts) == {"postgres", "scheduler", "worker", "replica-1", "replica-2", "proxy"}, sticky.output()
    for url in [*sticky.replica_urls, sticky.proxy_url]:
        assert _get(f"{url}/_stcore/health")[2] == b"ok", url
    assert sticky.parts["scheduler"][0].startswith("tls://127.0.0.1:")
    assert sticky.database_url.startswith("postgresql+psycopg://cvae:")
    for name, pid in sticky.pids.items():
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            for connection in member.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    assert connection.laddr.ip == "127.0.0.1", (name, member.cmdline(), connection.laddr)
    print(f"run-local.sh to ready: {sticky.ready_s:.1f} s")


def test_the_proxy_sets_the_cookie_and_keeps_each_browser_on_its_replica(sticky):
    _, headers, _ = _get(sticky.proxy_url + "/")
    cookie = _sticky_cookie(headers)
    assert cookie.startswith("SRV=r") and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    for replica in ("r1", "r2"):  # a browser carrying either cookie stays on that replica
        assert {_probe(sticky, f"SRV={replica}") for _ in range(6)} == {replica}
    assert {_probe(sticky) for _ in range(4)} == {"r1", "r2"}  # without one, round robin


def _digit_png(path: Path, kind: int) -> Path:
    """A digit-like stroke, dark ink on white like a scan: 0 a ring, 1 a bar, 7 a bar and a diagonal."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (120, 120), 255)
    draw = ImageDraw.Draw(image)
    if kind == 0:
        draw.ellipse((30, 15, 90, 105), outline=0, width=12)
    elif kind == 1:
        draw.line((60, 12, 60, 108), fill=0, width=14)
    else:
        draw.line((25, 18, 95, 18), fill=0, width=12)
        draw.line((95, 18, 45, 108), fill=0, width=12)
    image.save(path)
    return path


def _steer(deployment: LocalDeployment, page, seen: int, target: str) -> None:
    """Probe (without cookies, so round robin places it) until the proxy's newest log line is a probe that
    `target` answered: with two replicas the next balanced request then goes to the other one."""
    fetch = "async (url) => (await fetch(url, {credentials: 'omit'})).status"
    for _ in range(6):
        token = uuid.uuid4().hex
        page.evaluate(fetch, f"/_stcore/health?probe={token}")
        deployment.served_by(token)
        newest = proxy_log(deployment.state)[seen:][-1]
        if token in newest["path"] and newest["server"] == target:
            return
    raise AssertionError(f"six probes and the newest request was never one that {target} answered")


def _until_the_proxy_is_quiet(deployment: LocalDeployment, quiet_s: float = 1.5, timeout: float = 30.0) -> None:
    deadline, lines, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(proxy_log(deployment.state))
        if now != lines:
            lines, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)
    raise AssertionError(f"the page kept making requests for {timeout:.0f} s")


def _upload_after_steering(deployment: LocalDeployment, browser, png: Path, probe_on_holder: bool) -> tuple[bool, str]:
    """Open Your digit in a fresh tab, steer the proxy's round robin, upload `png`; returns (whether the
    page shows the result, where the upload went or what the page said).

    Steering: the last request before the upload is a probe answered by the replica holding the tab's
    session (`probe_on_holder`) or by the other. Between the probe and the upload's PUT the page makes
    the same number of requests every time (it fetches the uploader's code on the first upload), so
    one of the two choices sends the PUT to the replica WITHOUT the session. Through the sticky proxy the
    cookie overrides the turn and the upload reaches the holder either way; without stickiness one
    choice fails with streamlit#4173's "Invalid session_id"."""
    seen = len(proxy_log(deployment.state))
    page = open_page(browser, deployment.proxy_url + "/your_digit", "Your digit")
    try:
        wait_script_idle(page)
        _until_the_proxy_is_quiet(deployment)  # the canvas component's files come after the page is idle
        sockets = [e for e in proxy_log(deployment.state)[seen:] if e["path"].startswith("/_stcore/stream")]
        assert len(sockets) == 1, sockets
        holder = sockets[0]["server"]
        _steer(deployment, page, seen, holder if probe_on_holder else ({"r1", "r2"} - {holder}).pop())
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(png))
        deadline = time.monotonic() + UPLOAD_S
        while time.monotonic() < deadline:
            puts = [e for e in proxy_log(deployment.state)[seen:] if e["method"] == "PUT"]
            if page.get_by_text(RESULT).count():
                return True, f"uploaded to {puts[-1]['server'] if puts else '?'}, session on {holder}"
            if puts and puts[-1]["status"].startswith("4"):
                page.wait_for_timeout(1_000)  # the uploader shows its error
                text = page.evaluate("() => document.body.innerText")
                return False, f"PUT to {puts[-1]['server']} answered {puts[-1]['status']}; the page: {text[-300:]}"
            page.wait_for_timeout(200)
        raise AssertionError(f"neither the result nor a refused upload after {UPLOAD_S:.0f} s")
    finally:
        page.context.close()


def _needs_chromium():
    pytest.importorskip("playwright.sync_api")
    if chromium_path() is None:
        pytest.skip("needs Debian's chromium")


def test_an_upload_through_the_sticky_proxy_reaches_the_session_in_a_real_browser(sticky, tmp_path):
    _needs_chromium()
    with headless_chromium() as browser:
        # each in a fresh tab (a new session, on whichever replica the proxy chose), steered both ways
        for kind, probe_on_holder in ((1, True), (0, False), (7, True)):
            png = _digit_png(tmp_path / f"{kind}.png", kind)
            uploaded, said = _upload_after_steering(sticky, browser, png, probe_on_holder)
            assert uploaded, said


def test_students_beyond_loopback_need_the_class_code_even_though_replicas_listen_on_loopback(sticky):
    """The replicas listen on 127.0.0.1 and have no class code here; a browser the proxy says is on the
    network (X-Forwarded-For, which HAProxy appends to) gets the refusal, not the app."""
    import asyncio

    from harness.st_protocol import Session

    async def texts(headers):
        tab = Session(sticky.proxy_url, timeout=120, headers=headers)
        await tab.connect()
        found = tab.texts()
        await tab.close()
        return found

    local = asyncio.run(texts({}))
    assert "CVAE Explorer" in local and not any("CVAE_CLASS_CODE" in text for text in local)
    remote = asyncio.run(texts({"X-Forwarded-For": "10.1.2.3"}))
    assert any("set CVAE_CLASS_CODE" in text for text in remote), remote
    assert "CVAE Explorer" not in remote, "nothing of the app beyond the refusal"


def test_a_browser_whose_replica_died_lands_on_a_live_one(sticky):
    replica, other = "r1", "r2"
    pid = sticky.pids["replica-1"]
    os.killpg(pid, signal.SIGKILL)  # the replica and anything it started
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    status, headers, body = _get(f"{sticky.proxy_url}/_stcore/health", f"SRV={replica}")
    assert (status, body) == (200, b"ok")  # option redispatch: sent to the live one, and told so
    assert _sticky_cookie(headers).startswith(f"SRV={other};")
    deadline = time.monotonic() + 10
    while not any(line.startswith("replica-1 exited") for line in sticky.lines) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any(line.startswith("replica-1 exited") for line in sticky.lines), sticky.output()


def test_sigterm_stops_every_process_it_started_and_frees_the_ports(sticky):
    ports = [int(url.rsplit(":", 1)[1]) for url in [*sticky.replica_urls, sticky.proxy_url]]
    ports.append(int(sticky.database_url.split("@127.0.0.1:")[1].split("/")[0]))
    ports.append(int(sticky.parts["scheduler"][0].rsplit(":", 1)[1]))
    assert sticky.stop() == 0, sticky.output()
    stopped = {line.split()[1] for line in sticky.lines if line.startswith("stopped ")}
    assert stopped == set(sticky.parts), sticky.output()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(pid) for pid in sticky.pids.values()):
        time.sleep(0.2)
    assert [name for name, pid in sticky.pids.items() if not gone(pid)] == []
    assert [port for port in ports if _listening(port)] == []


def test_the_upload_fails_without_stickiness_so_the_test_above_tests_the_configuration(tmp_path):
    """The negative control: the same steered upload, with the cookie line removed from haproxy.cfg."""
    _needs_chromium()
    results = []
    with local_deployment(tmp_path / "state", sticky=False) as deployment, headless_chromium() as browser:
        for kind, probe_on_holder in ((1, True), (0, False), (7, True), (1, False)):
            png = _digit_png(tmp_path / f"{kind}-{probe_on_holder}.png", kind)
            results.append(_upload_after_steering(deployment, browser, png, probe_on_holder))
            if not results[-1][0]:
                break
    print("\n".join(said for _, said in results))
    refused = [said for uploaded, said in results if not uploaded]
    assert refused, f"every upload worked without stickiness: {results}"
    # the replica without the session refused the upload, and the student saw it fail
    assert "answered 400" in refused[0] and "Request failed with status code 400" in refused[0], refused


def test_a_taken_port_fails_at_once_with_a_clear_message_and_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPT), str(port), "--state", str(tmp_path / "state")],
            env=script_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr, done.stderr
    assert "pid" not in done.stdout, done.stdout  # nothing was started, so nothing to stop


def test_a_replica_that_dies_during_start_up_stops_everything_it_started(tmp_path):
    import psutil

    deployment = LocalDeployment(tmp_path / "state", free_port())
    deployment.launch()
    launcher = psutil.Process(deployment.proc.pid)
    started: dict[int, str] = {}  # every process run-local.sh started, as it starts them
    victim = None
    deadline = time.monotonic() + 180
    while victim is None and time.monotonic() < deadline and deployment.proc.poll() is None:
        for child in launcher.children(recursive=True):
            try:
                started[child.pid] = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "streamlit" in started[child.pid] and child.ppid() == launcher.pid:
                victim = child
        time.sleep(0.1)
    assert victim is not None, deployment.output()
    victim.send_signal(signal.SIGKILL)
    try:
        code = deployment.proc.wait(timeout=180)
    finally:
        deployment.stop()
    assert code == 1, deployment.output()
    assert "exited with code -9 while" in deployment.output(), deployment.output()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(pid) for pid in started):
        time.sleep(0.2)
    assert {pid: cmd for pid, cmd in started.items() if not gone(pid)} == {}
    database_port = int(deployment.database_url.split("@127.0.0.1:")[1].split("/")[0])
    assert not _listening(database_port)  # PostgreSQL (started detached) was stopped too


def test_a_kept_database_is_used_migrated_and_outlives_the_deployment(tmp_path, postgres_server):
    """`--database URL`: the department's own PostgreSQL, not a throwaway one; what the class wrote there is
    still there after the deployment stops (and its password is never printed)."""
    from sqlalchemy import inspect, text

    from cvae.db import Database

    url = postgres_server.create_database(f"kept_{uuid.uuid4().hex[:8]}")
    password = url.split("://cvae:")[1].split("@")[0]
    before = Database(url)
    with before.engine.begin() as connection:  # a table of the department's, before any migration
        connection.execute(text("CREATE TABLE earlier (note TEXT)"))
        connection.execute(text("INSERT INTO earlier VALUES ('written before the deployment')"))
    before.dispose()
    deployment = LocalDeployment(tmp_path / "state", free_port(), replicas=1, options=["--database", url])
    try:
        deployment.start()
        assert "postgres" not in deployment.parts, deployment.output()
        assert deployment.database_url == url
        assert password not in deployment.output() and "database" in deployment.output(), deployment.output()
        assert _get(f"{deployment.proxy_url}/_stcore/health")[0] == 200
    finally:
        assert deployment.stop() == 0, deployment.output()
    kept = Database(url)
    try:
        assert {"jobs", "students", "earlier"} <= set(inspect(kept.engine).get_table_names())
        with kept.engine.connect() as connection:
            assert connection.execute(text("SELECT note FROM earlier")).scalar_one() == "written before the deployment"
    finally:
        kept.dispose()
