"""The Dask cluster: the embedded one listens on loopback only and speaks TLS; a teacher's scheduler
is used with certificates (or explicitly insecure); an unreachable one gives a clear message; the
command line trains and sweeps on it."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time

import psutil
import pytest
from distributed import Client, LocalCluster
from distributed.security import Security

from cvae.jobs.cluster import ClusterError, connect, shutdown
from cvae.settings import Settings, settings
from tests.conftest import ROOT, open_app

pytestmark = pytest.mark.slow


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every socket listening in process `pid` and its children."""
    process = psutil.Process(pid)
    found = []
    for p in [process, *process.children(recursive=True)]:
        found += [(c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="inet") if c.status == "LISTEN"]
    return found


def test_the_embedded_cluster_listens_on_loopback_only_and_speaks_tls():
    from cvae.jobs import cluster

    client = connect(settings(), workers=1)
    try:
        launcher = cluster._launchers[id(client)]
        info = client.scheduler_info()
        assert info["address"].startswith("tls://127.0.0.1:")
        assert all(address.startswith("tls://127.0.0.1:") for address in info["workers"])
        sockets = _listening(launcher.pid)
        assert len(sockets) >= 4, sockets  # scheduler, its HTTP routes, a nanny and a worker at least
        assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets
        from distributed.comm.core import FatalCommClosedError

        with pytest.raises(TypeError, match="TLS expects a `ssl_context`"):  # no credentials: it cannot even try
            Client(info["address"], timeout=5, set_as_default=False)
        with pytest.raises(FatalCommClosedError, match="TLS certificate does not match"):  # credentials of its own
            Client(info["address"], security=Security.temporary(), timeout=5, set_as_default=False)
    finally:
        shutdown(client)
    time.sleep(1)
    assert not psutil.pid_exists(launcher.pid) or psutil.Process(launcher.pid).status() == psutil.STATUS_ZOMBIE


def test_the_embedded_scheduler_has_the_fit_imported_before_the_app_is_told_it_is_ready():
    """The scheduler unpickles every fit, importing its module (~2 s on first use): a cluster that
    said it was ready must have done that already, or a student's first Start pays for it."""
    client = connect(settings(), workers=1)
    try:
        assert client.run_on_scheduler(lambda: "cvae.jobs.fit_task" in sys.modules)
    finally:
        shutdown(client)


def _thread_policies(after_warm_up: bool) -> dict[str, int]:
    """In a worker: its threads' scheduling policies; with `after_warm_up`, once the warm-up is
    done and this task's own thread (normal priority, as a fit's) has run a pooled Op."""
    import os
    import threading

    from cvae.jobs import fit_task
    from cvae.nn.parallel import parallel

    if after_warm_up:
        assert fit_task._warm.wait(120)
        parallel(lambda lo, hi: None, 8, work=2**30)
    return {t.name: os.sched_getscheduler(t.native_id) for t in threading.enumerate()}


def _warm_policy_before_and_after_a_fit_arrives() -> tuple[int, int]:
    """In a worker, during its warm-up: the warming thread's policy, then after `run_fit`'s hurry."""
    import os
    import threading

    from cvae.jobs import fit_task

    (warming,) = [t for t in threading.enumerate() if t.name == "cvae-warm"]
    before = os.sched_getscheduler(warming.native_id)
    fit_task._hurry_warm_up()  # what a fit arriving now does before it waits for the warm-up
    return before, os.sched_getscheduler(warming.native_id)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_fit_that_arrives_during_the_warm_up_raises_it_to_the_workers_priority():
    """Until a fit arrives, the warm-up takes only CPU no one wants; once a fit waits on it, at idle
    priority it waited behind the web server and browsers for up to a minute (Start to saved 58-72 s)."""
    client = connect(settings(), workers=1)
    try:
        before, after = client.submit(_warm_policy_before_and_after_a_fit_arrives, pure=False).result(timeout=60)
        assert (before, after) == (os.SCHED_IDLE, os.SCHED_OTHER)
    finally:
        shutdown(client)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_workers_warm_up_runs_at_idle_priority_and_its_fits_threads_do_not():
    """The warm-up (imports, compiles: ~10 s of CPU) must not slow a fresh server's first pages, and
    the Op threads a fit uses must not inherit its idle priority (they would keep it for good)."""
    client = connect(settings(), workers=1)
    try:
        during = client.submit(_thread_policies, False, pure=False).result(timeout=60)
        assert during["cvae-warm"] == os.SCHED_IDLE, during  # it imports PyMC for seconds: still running
        after = client.submit(_thread_policies, True, pure=False).result(timeout=180)
        op_threads = {name: policy for name, policy in after.items() if name.startswith("cvae-blas")}
        assert op_threads and set(op_threads.values()) == {os.SCHED_OTHER}, after
    finally:
        shutdown(client)


def _thread_nices() -> dict[str, int]:
    """In a worker: the nice level of each thread, this task's (as a fit's) and its Op threads."""
    import os
    import threading

    from cvae.nn.parallel import parallel

    parallel(lambda lo, hi: None, 8, work=2**30)
    return {t.name: os.getpriority(os.PRIO_PROCESS, t.native_id) for t in threading.enumerate()}


def test_an_embedded_workers_fit_runs_at_the_clusters_nice_level_not_twice_lowered():
    """The launcher lowers the cluster to NICENESS and the worker plugin to WORKER_NICENESS: the
    larger of the two, not their sum (os.nice adds; the fits ran at 10, starved by any busy process)."""
    from cvae.jobs.cluster import WORKER_NICENESS
    from cvae.jobs.local_cluster import NICENESS

    base = os.getpriority(os.PRIO_PROCESS, 0)
    client = connect(settings(), workers=1)
    try:
        nices = client.submit(_thread_nices, pure=False).result(timeout=180)
    finally:
        shutdown(client)
    expected = max(base, NICENESS, WORKER_NICENESS)
    fit_threads = {name: nice for name, nice in nices.items() if name.startswith(("cvae-blas", "Dask-Default"))}
    assert fit_threads and set(fit_threads.values()) == {expected}, nices


@pytest.fixture(scope="module")
def tls_scheduler(tmp_path_factory):
    """A 'teacher's' TLS scheduler with one worker, and its certificate files for the settings."""
    security = Security.temporary()
    folder = tmp_path_factory.mktemp("tls")
    files = {}
    for name, pem in (
        ("ca", security.tls_ca_file),
        ("cert", security.tls_client_cert),
        ("key", security.tls_client_key),
    ):
        files[name] = folder / f"{name}.pem"
        files[name].write_text(pem)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        protocol="tls://",
        security=security,
        dashboard_address="127.0.0.1:0",
    ) as lab:
        yield lab.scheduler_address, files


def _teacher_settings(address, files) -> Settings:
    return dataclasses.replace(
        settings(), scheduler=address, tls_ca=files["ca"], tls_cert=files["cert"], tls_key=files["key"]
    )


def test_a_tls_scheduler_is_used_with_the_certificates_the_settings_name(tls_scheduler, tmp_path):
    address, files = tls_scheduler
    client = connect(_teacher_settings(address, files))
    try:
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3
    finally:
        shutdown(client)
    other = Security.temporary()
    for name, pem in (("ca", other.tls_ca_file), ("cert", other.tls_client_cert), ("key", other.tls_client_key)):
        (tmp_path / f"{name}.pem").write_text(pem)
    wrong = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        connect(_teacher_settings(address, wrong))


def test_tls_needs_its_certificates_and_tcp_needs_an_explicit_insecure(tmp_path):
    with pytest.raises(ClusterError, match="CVAE_TLS_CA, CVAE_TLS_CERT, CVAE_TLS_KEY"):
        connect(dataclasses.replace(settings(), scheduler="tls://127.0.0.1:8786"))
    with pytest.raises(ClusterError, match="does not exist"):
        connect(
            dataclasses.replace(
                settings(),
                scheduler="tls://127.0.0.1:8786",
                tls_ca=tmp_path / "ca.pem",
                tls_cert=tmp_path / "c.pem",
                tls_key=tmp_path / "k.pem",
            )
        )
    with pytest.raises(ClusterError, match="CVAE_SCHEDULER_INSECURE=1"):
        connect(dataclasses.replace(settings(), scheduler="tcp://127.0.0.1:8786"))
    with pytest.raises(ClusterError, match="must start with tls:// or tcp://"):
        connect(dataclasses.replace(settings(), scheduler="http://example.org"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_message_on_the_train_page(runs_dir, monkeypatch):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    began = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        connect(dataclasses.replace(settings(), scheduler=address, scheduler_insecure=True))
    assert time.monotonic() - began < 30
    from cvae.jobs import cluster, connection

    monkeypatch.setenv("CVAE_SCHEDULER", address)
    monkeypatch.setenv("CVAE_SCHEDULER_INSECURE", "1")
    monkeypatch.setattr(connection, "RETRY_S", 3600.0)  # however slow the runs, the rerun is within it
    at = open_app("train")
    assert any("Training is not available right now" in e.value and address in e.value for e in at.error)
    tried = []

    def client(*args, **kwargs):
        tried.append(args)
        return Client(*args, **kwargs)

    monkeypatch.setattr(cluster, "Client", client)
    at.run()  # the failure is remembered for a while: a rerun does not wait out another timeout
    assert tried == [] and not at.exception, tried  # no connection tried, so no timeout waited
    assert any("Training is not available right now" in e.value and address in e.value for e in at.error)


def _cli(*args, env=None, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "cvae", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_the_command_line_trains_on_a_teachers_scheduler_and_sweeps(tls_scheduler, tmp_path):
    import os

    address, files = tls_scheduler
    env = os.environ | {
        "CVAE_TLS_CA": str(files["ca"]),
        "CVAE_TLS_CERT": str(files["cert"]),
        "CVAE_TLS_KEY": str(files["key"]),
    }
    done = _cli(
        "train", "--scheduler", address, "--epochs", "1", "--batch-size", "400", "--out", tmp_path / "remote", env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished" and result["saved"] and (tmp_path / "remote" / "params.npz").is_file()

    swept = _cli(
        "sweep",
        "--scheduler",
        address,
        "--grid",
        "beta=0,1",
        "--epochs",
        "1",
        "--batch-size",
        "400",
        "--runs-dir",
        tmp_path / "runs",
        "--prefix",
        "grid",
        env=env,
    )
    assert swept.returncode == 0, swept.stderr
    lines = [json.loads(line) for line in swept.stdout.strip().splitlines()]
    assert [line["run"] for line in lines] == ["grid-beta0", "grid-beta1"]
    assert all(line["saved"] for line in lines)
    from cvae.store.checkpoint import load_checkpoint

    assert [load_checkpoint(tmp_path / "runs" / line["run"]).config.beta for line in lines] == [0.0, 1.0]


@pytest.mark.parametrize(
    "grid, message",
    [
        (["beta=0,1,2,3,4", "latent_dim=2,4,8,16,32"], "at most 24"),
        (["colour=red"], "cannot sweep 'colour'"),
        (["beta=low"], "beta takes float values"),
        (["latent_dim=1,2"], "latent_dim must be between"),
        (["beta"], "looks like beta=0,0.5,1"),
        (["beta=1,1"], "repeats a value"),
    ],
)
def test_a_bad_sweep_is_refused_before_anything_runs(tmp_path, grid, message):
    done = _cli("sweep", *[arg for axis in grid for arg in ("--grid", axis)], "--runs-dir", tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())
