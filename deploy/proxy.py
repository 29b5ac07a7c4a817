"""HAProxy in front of the replicas: deploy/haproxy.cfg filled in for one deployment, checked, and its command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from string import Template

from deploy.parts import StartError

__all__ = ["STICKY_COOKIE", "haproxy_binary", "proxy_command", "write_config"]

TEMPLATE = Path(__file__).with_name("haproxy.cfg")
STICKY_COOKIE = "SRV"  # names the student's replica; HttpOnly, never cached, not passed on to the app
STICKINESS = f'cookie {STICKY_COOKIE} insert indirect nocache httponly attr "SameSite=Lax"'
NO_STICKINESS = "# no stickiness (--no-sticky): the negative-control test only; uploads then fail"


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (shutil.which("haproxy", path="/usr/sbin:/sbin"))
    if not found:
        raise StartError("HAProxy is not installed: apt-get install haproxy (Debian's, version 2.6)")
    return found


def write_config(path: Path, port: int, replica_ports: list[int], *, sticky: bool = True) -> Path:
    """The template with the proxy's port and one `server` line per replica (r1, r2, ...), checked
    with `haproxy -c`, written to `path`."""
    servers = "\n".join(
        f"    server r{i} 127.0.0.1:{p}" + (f" cookie r{i}" if sticky else "")
        for i, p in enumerate(replica_ports, start=1)
    )
    text = Template(TEMPLATE.read_text()).substitute(
        port=port, servers=servers, stickiness=STICKINESS if sticky else NO_STICKINESS
    )
    path.write_text(text)
    checked = subprocess.run([haproxy_binary(), "-c", "-q", "-f", str(path)], capture_output=True, text=True)
    if checked.returncode != 0:
        raise StartError(f"HAProxy refuses {path}:\n{(checked.stdout + checked.stderr).strip()[-2000:]}")
    return path


def proxy_command(config: Path) -> list[str]:
    """HAProxy in the foreground (-db): it stops with its parent's SIGTERM and logs to stdout."""
    return [haproxy_binary(), "-db", "-f", str(config)]
