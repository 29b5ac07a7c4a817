"""Every `CVAE_*` environment variable, read in this one place and parsed once.

`settings()` returns the typed values; the table in docs/environment.md lists the same names,
defaults and meanings (a test checks they agree). A changed environment (a test, a worker with
its own variables) gets freshly parsed settings; the same one gets the cached object.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = ["ENV", "Settings", "SettingsError", "settings"]

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, assets/, runs/


class SettingsError(ValueError):
    """An environment variable with a value this project cannot use."""


def _var(name: str, default: str, doc: str):
    return field(metadata={"env": name, "default": default, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Process-wide settings; `field.metadata` holds each one's variable, default and meaning."""

    runs_dir: Path = _var("CVAE_RUNS_DIR", "runs/ beside app.py", "where trainings are saved")
    cache_dir: Path = _var(
        "CVAE_CACHE_DIR", "~/.cache/cvae", "dataset downloads, UMAP projections and encoded test digits of each model"
    )
    teacher_code: str | None = _var(
        "CVAE_TEACHER_CODE", "unset: teacher features off", "the code that signs a session in as the teacher"
    )
    class_code: str | None = _var(
        "CVAE_CLASS_CODE",
        "unset: the app serves 127.0.0.1 only",
        "the code every session enters first; needed to serve beyond 127.0.0.1",
    )
    max_queued: int = _var(
        "CVAE_MAX_QUEUED", "32", "trainings running or waiting on the server at once; more are refused"
    )
    workers: int = _var(
        "CVAE_WORKERS", "CPUs - 1, at least 1", "worker processes of the embedded Dask cluster, one fit each at a time"
    )
    scheduler: str | None = _var(
        "CVAE_SCHEDULER", "unset: an embedded cluster on 127.0.0.1", "a teacher's Dask scheduler, e.g. tls://host:8786"
    )
    scheduler_insecure: bool = _var(
        "CVAE_SCHEDULER_INSECURE", "0", "1 allows a tcp:// scheduler without TLS, on a trusted network only"
    )
    tls_ca: Path | None = _var("CVAE_TLS_CA", "unset", "CA certificate that signed the scheduler's and ours")
    tls_cert: Path | None = _var("CVAE_TLS_CERT", "unset", "this client's TLS certificate")
    tls_key: Path | None = _var("CVAE_TLS_KEY", "unset", "this client's TLS private key")
    num_threads: int = _var("CVAE_NUM_THREADS", "the CPUs this process may use", "threads per convolution")
    chunk_bytes: int = _var("CVAE_CHUNK_BYTES", "2000000", "scratch bytes per piece of a batch in a convolution")
    private_blas: str = _var(
        "CVAE_PRIVATE_BLAS", "1", "1: scipy-openblas32 wheel, else SciPy's copy; wheel; scipy; 0: NumPy's BLAS"
    )
    blas_coretype: str | None = _var(
        "CVAE_BLAS_CORETYPE",
        "AVX-512 kernels where the CPU has them",
        "OpenBLAS kernel family of the private BLAS, e.g. Haswell",
    )
    winograd: bool = _var(
        "CVAE_WINOGRAD", "1", "0: no compiled C loops (Winograd, patch copies, bias/activation, Adam): im2col and NumPy"
    )
    malloc_tuning: bool = _var("CVAE_MALLOC_TUNING", "1", "0: glibc's own mmap and trim thresholds")
    lessons_dir: Path = _var(
        "CVAE_LESSONS_DIR", "lessons/ beside app.py", "the lesson files the Lessons page offers (a class's own set)"
    )
    database_url: str | None = _var(
        "CVAE_DATABASE_URL",
        "unset: SQLite at runs/cvae.sqlite3",
        "lesson progress and the class, e.g. postgresql+psycopg://user:password@127.0.0.1/cvae",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        return cls(
            runs_dir=Path(get("CVAE_RUNS_DIR") or ROOT / "runs").expanduser(),
            cache_dir=Path(get("CVAE_CACHE_DIR") or Path.home() / ".cache" / "cvae").expanduser(),
            teacher_code=environ.get("CVAE_TEACHER_CODE") or None,
            class_code=environ.get("CVAE_CLASS_CODE") or None,
            max_queued=_int(get("CVAE_MAX_QUEUED"), "CVAE_MAX_QUEUED", 32, low=1),
            workers=_int(get("CVAE_WORKERS"), "CVAE_WORKERS", max(1, _cpus() - 1), low=1),
            scheduler=get("CVAE_SCHEDULER"),
            scheduler_insecure=_flag(get("CVAE_SCHEDULER_INSECURE"), "CVAE_SCHEDULER_INSECURE", False),
            tls_ca=_path(get("CVAE_TLS_CA")),
            tls_cert=_path(get("CVAE_TLS_CERT")),
            tls_key=_path(get("CVAE_TLS_KEY")),
            num_threads=_int(get("CVAE_NUM_THREADS"), "CVAE_NUM_THREADS", 0, low=0) or _cpus(),
            chunk_bytes=_int(get("CVAE_CHUNK_BYTES"), "CVAE_CHUNK_BYTES", 2_000_000, low=4096),
            private_blas=_choice(get("CVAE_PRIVATE_BLAS") or "1", "CVAE_PRIVATE_BLAS", ("0", "1", "wheel", "scipy")),
            blas_coretype=get("CVAE_BLAS_CORETYPE"),
            winograd=_flag(get("CVAE_WINOGRAD"), "CVAE_WINOGRAD", True),
            malloc_tuning=_flag(get("CVAE_MALLOC_TUNING"), "CVAE_MALLOC_TUNING", True),
            lessons_dir=Path(get("CVAE_LESSONS_DIR") or ROOT / "lessons").expanduser(),
            database_url=get("CVAE_DATABASE_URL"),
        )


# variable name -> (field, default, meaning): what docs/environment.md documents
ENV = {f.metadata["env"]: (f.name, f.metadata["default"], f.metadata["doc"]) for f in fields(Settings)}


def settings() -> Settings:
    """The settings for the current environment (parsed once per distinct set of CVAE_* values)."""
    return _parsed(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CVAE_"))))


@functools.lru_cache(maxsize=8)
def _parsed(variables: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(variables))


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _int(value: str | None, name: str, default: int, *, low: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number; got {value!r}") from None
    if number < low:
        raise SettingsError(f"{name} must be at least {low}; got {number}")
    return number


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None:
        return default
    if value not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1; got {value!r}")
    return value == "1"


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None
