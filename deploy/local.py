"""A department's deployment on one machine: `deploy/run-local.sh PORT [REPLICAS]` runs this.

On 127.0.0.1: a throwaway PostgreSQL (or the one `--database URL` names, kept), a Dask scheduler with TLS
and one worker, REPLICAS Streamlit servers of this checkout sharing the database, the scheduler, the runs
folder and one cookie secret, and HAProxy on PORT keeping each browser on its replica. It waits until every
part answers, prints one line per process and "ready", and stops them all on SIGTERM, SIGINT or SIGHUP, or when a part
other than a replica dies; a part that fails to start stops the rest. docs/teacher/serving-a-department.md
explains the parts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from deploy import cluster, proxy
from deploy.parts import STOP, Part, StartError, Stopped, http_ok, port_taken, start, wait_until
from deploy.postgres import PostgresUnavailable, start_postgres

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py
WORKER_NICENESS = 5  # fits yield the CPU to the replicas' page runs (cvae.jobs.cluster.WORKER_NICENESS)


class PostgresPart:
    """The throwaway PostgreSQL as a part: pg_ctl starts it detached, so it is stopped with pg_ctl."""

    name = "postgres"

    def __init__(self, logs: Path):
        try:
            self.server = start_postgres()
        except PostgresUnavailable as err:
            raise StartError(str(err)) from None
        self.pid, self.log = self.server.pid, logs / "postgres.log"
        self.where = f"postgresql://cvae@127.0.0.1:{self.server.port}/cvae"

    def exited(self) -> int | None:
        return None if Path(f"/proc/{self.pid}").exists() else 0

    def terminate(self) -> None:
        shutil.copyfile(self.server.log, self.log)
        self.server.stop()

    def finish(self) -> None:
        pass


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deploy/run-local.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="the proxy's port on 127.0.0.1: students' browsers open it")
    parser.add_argument("replicas", type=int, nargs="?", default=2, help="Streamlit servers (default 2)")
    parser.add_argument("--state", type=Path, help="folder for certificates, logs, runs (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp state folder after stopping")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the replicas' warm start")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the class's database, kept (an SQLAlchemy URL: postgresql+psycopg://...); without it, a "
        "throwaway PostgreSQL that is gone when the deployment stops",
    )
    parser.add_argument(
        "--no-sticky",
        action="store_true",
        help="NEGATIVE CONTROL ONLY (tests/e2e/test_deploy.py): no stickiness cookie, so uploads break",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 16:
        parser.error("REPLICAS must be 1 to 16")
    if not 1024 <= args.port <= 65535:
        parser.error("PORT must be 1024 to 65535")
    return args


class Deployment:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.temporary = args.state is None
        self.state = Path(tempfile.mkdtemp(prefix="cvae-deploy-")) if self.temporary else args.state.resolve()
        self.logs = self.state / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.tiers: list[list] = []  # started parts, in start order; stopped last tier first

    def _start(self, name: str, where: str, command: list[str], env: dict[str, str], **options) -> Part:
        part = start(name, where, command, self.logs / f"{name}.log", env=env, cwd=ROOT, **options)
        self.tiers.append([part])
        return part

    def start(self) -> None:
        args = self.args
        if port_taken(args.port):
            raise StartError(f"port {args.port} on 127.0.0.1 is already in use: choose another PORT")
        proxy.haproxy_binary()
        base = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")

        if args.database:  # the department's own: migrated below, never stopped or removed
            url = args.database
            print(f"{'database':<10} {_without_password(url)}  kept", flush=True)
        else:
            database = PostgresPart(self.logs)
            self.tiers.append([database])
            url = database.server.url()
        _write_private(self.state / "database-url", url + "\n")
        from cvae.db import Database

        Database(url).upgrade()  # once here, so that a database problem is reported once, before any replica

        tls = cluster.write_tls(self.state / "tls")
        dask_env = dict(base, DASK_CONFIG=str(cluster.dask_config_dir(self.state / "dask")))
        scheduler_file = self.state / "scheduler.json"
        scheduler = self._start("scheduler", "", cluster.scheduler_command(tls, scheduler_file), dask_env)
        wait_until(lambda: cluster.read_scheduler_file(scheduler_file), "the scheduler starts", 120, [scheduler])
        address, http = cluster.read_scheduler_file(scheduler_file)
        scheduler.where = address
        command = cluster.worker_command(address, tls, self.state / "worker")
        worker = self._start("worker", f"1 process, 1 thread, nice {WORKER_NICENESS}", command, dask_env,
                             niceness=WORKER_NICENESS)  # fmt: skip

        app_env = dict(
            base,
            CVAE_DATABASE_URL=url,
            CVAE_SCHEDULER=address,
            CVAE_TLS_CA=str(tls["ca"]),
            CVAE_TLS_CERT=str(tls["cert"]),
            CVAE_TLS_KEY=str(tls["key"]),
            CVAE_RUNS_DIR=os.environ.get("CVAE_RUNS_DIR") or str(self.state / "runs"),
            # one secret for every replica (streamlit#1565); in the environment, not on a command line ps shows
            STREAMLIT_SERVER_COOKIE_SECRET=secrets.token_hex(32),
        )
        replicas, ports = [], _free_ports(args.replicas, avoid=args.port)
        for i, port in enumerate(ports, start=1):
            name, where = f"replica-{i}", f"http://127.0.0.1:{port}"
            replicas.append(start(name, where, _streamlit(port), self.logs / f"{name}.log", env=app_env, cwd=ROOT))
        self.tiers.append(replicas)
        every = [scheduler, worker, *replicas]
        wait_until(lambda: cluster.workers_connected(http) >= 1, "the worker connects to the scheduler", 120, every)
        wait_until(
            lambda: all(http_ok(f"{r.where}/_stcore/health") for r in replicas),
            f"{len(replicas)} replicas answer /_stcore/health (their warm start)",
            args.timeout,
            every,
        )
        config = proxy.write_config(self.state / "haproxy.cfg", args.port, ports, sticky=not args.no_sticky)
        front = self._start("proxy", f"http://127.0.0.1:{args.port}", proxy.proxy_command(config), base)
        wait_until(lambda: http_ok(f"{front.where}/_stcore/health"), "the proxy answers", 30, [front, *every])

    def report(self) -> None:
        for tier in self.tiers:
            for part in tier:
                print(f"{part.name:<10} {part.where or '-'}  pid {part.pid}", flush=True)
        print(f"{'logs':<10} {self.logs}", flush=True)
        print(f"ready: students open http://127.0.0.1:{self.args.port} (Ctrl-C stops)", flush=True)

    def serve(self) -> None:
        """Until STOP. A replica that dies is reported (the proxy sends its students to the others); any other
        part, or the last replica, ends the deployment."""
        reported: set[str] = set()
        while not STOP.wait(1.0):
            for tier in self.tiers:
                for part in tier:
                    code = part.exited()
                    if code is None or part.name in reported:
                        continue
                    if not part.name.startswith("replica-") or all(p.exited() is not None for p in tier):
                        raise StartError(f"{part.name} exited with code {code}; see {part.log}")
                    reported.add(part.name)
                    print(f"{part.name} exited with code {code}; the proxy sends its students to the others "
                          f"(see {part.log})", flush=True)  # fmt: skip

    def stop(self, *, failed: bool) -> None:
        for tier in reversed(self.tiers):
            for part in tier:
                part.terminate()
            for part in tier:
                part.finish()
                print(f"stopped    {part.name} (pid {part.pid})", flush=True)
        self.tiers.clear()
        if failed or not self.temporary or self.args.keep:
            print(f"state and logs kept in {self.state}", flush=True)
        else:
            shutil.rmtree(self.state, ignore_errors=True)


def _streamlit(port: int) -> list[str]:
    """One replica: this checkout's app on 127.0.0.1 (.streamlit/config.toml keeps XSRF protection on)."""
    return [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
        f"--server.port={port}", "--browser.gatherUsageStats=false",
    ]  # fmt: skip


def _free_ports(n: int, *, avoid: int) -> list[int]:
    import socket

    ports: set[int] = set()
    while len(ports) < n:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port != avoid:
            ports.add(port)
    return sorted(ports)


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: STOP.set())
    deployment = Deployment(args)
    failed = False
    try:
        deployment.start()
        deployment.report()
        deployment.serve()
    except Stopped as stopped:
        print(f"stopping (a signal arrived while waiting for {stopped})", flush=True)
    except Exception as err:  # StartError says which part and shows its log; anything else, what it was
        failed = True
        message = str(err) if isinstance(err, StartError) else f"{type(err).__name__}: {err}"
        print(f"deploy: {message}", file=sys.stderr, flush=True)
    finally:
        deployment.stop(failed=failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
