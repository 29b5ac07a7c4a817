"""Run bundles: export/import round trip, and every hostile zip we could think of, refused."""

import io
import json
import stat
import struct
import time
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvae.config import TrainConfig
from cvae.model.vae import VAE
from cvae.store import bundle as bundle_module
from cvae.store.bundle import LIMITS, MAX_BUNDLE_BYTES, BundleError, export_bundle, import_bundle
from cvae.store.checkpoint import load_checkpoint, save_checkpoint
from tests import factories
from tests.support.fuzzing import mutated_bytes


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A saved run, its bundle bytes and its three files."""
    path = save_checkpoint(
        tmp_path_factory.mktemp("src") / "run", VAE(TrainConfig(seed=3)), factories.history(), status="finished"
    )
    files = {f: (path / f).read_bytes() for f in ("config.json", "params.npz", "history.json")}
    return path, export_bundle(path), files


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    return root


def _zip(entries, method=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: (name or ZipInfo, bytes) pairs, written as given (duplicates too)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names: that is the point
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _untouched(runs) -> None:
    assert list(runs.iterdir()) == [], list(runs.iterdir())  # no run, no staging dir left behind


# --- round trip ----------------------------------------------------------------------------------


def test_export_import_round_trip(source, runs):
    path, data, _ = source
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["config.json", "history.json", "params.npz"]
    assert export_bundle(path) == data  # deterministic bytes
    target = import_bundle(data, runs, "imported")
    assert target == (runs / "imported").resolve() and sorted(p.name for p in runs.iterdir()) == ["imported"]
    original, loaded = load_checkpoint(path), load_checkpoint(target)
    z = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.vae.decode(z), original.vae.decode(z))
    assert loaded.history.to_dict() == original.history.to_dict() and loaded.config == original.config


def test_shipped_model_exports_with_its_timeline_under_the_upload_limit(tmp_path):
    from cvae.training.timeline import load_timeline
    from ui.model_choice import PRETRAINED

    data = export_bundle(PRETRAINED)
    assert "timeline.npz" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(data) < 5 * 2**20  # fits .streamlit/config.toml's maxUploadSize
    target = import_bundle(data, tmp_path, "shipped")
    assert load_checkpoint(target).config.arch == "keras-example"  # saved as "classroom", its old name
    snapshots, labels = load_timeline(target)
    original, _ = load_timeline(PRETRAINED)
    assert len(snapshots) == len(original) and len(labels) == 1000
    np.testing.assert_array_equal(snapshots[-1].manifold, original[-1].manifold)


def _bad_crc(npz: bytes) -> bytes:
    """Flip one byte of the mu array's data in a stored npz: headers fine, CRC wrong at the end."""
    info = zipfile.ZipFile(io.BytesIO(npz)).getinfo("mu.npy")
    data = bytearray(npz)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size - 10] ^= 0x55
    return bytes(data)


def _timeline(n: int = 4) -> bytes:
    return _npz(
        {
            "step": np.arange(3),
            "time_s": np.arange(3.0),
            "mu": np.zeros((3, n, 2), "f4"),
            "manifold": np.zeros((3, 8, 8), "u1"),
            "labels": np.arange(n),
        }
    )


def test_bundle_with_a_timeline_round_trips(source, runs):
    from cvae.training.timeline import load_timeline

    _, _, files = source
    target = import_bundle(_zip(list(files.items()) + [("timeline.npz", _timeline())]), runs, "with-timeline")
    snapshots, labels = load_timeline(target)
    assert len(snapshots) == 3 and list(labels) == [0, 1, 2, 3]


def test_an_existing_run_is_never_overwritten(source, runs):
    _, data, files = source
    other = save_checkpoint(runs / "taken", VAE(TrainConfig(seed=9)), factories.history(5))
    with pytest.raises(BundleError, match="already exists"):
        import_bundle(data, runs, "taken")
    assert len(load_checkpoint(other).history) == 5 and sorted(p.name for p in runs.iterdir()) == ["taken"]


def test_failed_import_beside_an_existing_run_keeps_it_and_writes_nothing(source, runs):
    _, _, files = source
    save_checkpoint(runs / "keep", VAE(TrainConfig(seed=9)), factories.history(5))
    bad = _zip(
        [
            ("config.json", files["config.json"]),
            ("params.npz", _npz({"x": np.zeros(3, "f4")})),
            ("history.json", files["history.json"]),
        ]
    )
    with pytest.raises(BundleError, match="not a valid model"):
        import_bundle(bad, runs, "new")
    assert len(load_checkpoint(runs / "keep").history) == 5 and [p.name for p in runs.iterdir()] == ["keep"]


def test_export_refuses_a_broken_run(source, tmp_path):
    path, _, files = source
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes(files["config.json"])
    with pytest.raises(BundleError, match="cannot export"):
        export_bundle(broken)


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", ".hidden", "..", "", "x" * 200, "a\\b"])
def test_run_names_are_confined(source, runs, name):
    with pytest.raises(BundleError, match="run name"):
        import_bundle(source[1], runs, name)
    _untouched(runs)
    assert not (runs.parent / "escape").exists()


# --- hostile bundles -----------------------------------------------------------------------------


def _symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _with(files, **replace):
    return [(name, replace.get(name.replace(".", "_"), data)) for name, data in files.items()]


def _lying_size(files) -> bytes:
    """A zip whose history.json declares 10 bytes but inflates to 30 MB: a bomb that lies."""
    data = bytearray(
        _zip(
            [
                ("config.json", files["config.json"]),
                ("params.npz", files["params.npz"]),
                ("history.json", b" " * (30 * 1024 * 1024)),
            ]
        )
    )
    local = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("history.json").header_offset
    struct.pack_into("<I", data, local + 22, 10)  # local file header: uncompressed size
    central = bytes(data).rfind(b"PK\x01\x02")  # history.json is the last central entry
    assert data[central + 46 : central + 58] == b"history.json"
    struct.pack_into("<I", data, central + 24, 10)  # central directory: uncompressed size
    return bytes(data)


def _npy_v3(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(3, 0))
    return buffer.getvalue()


def _huge_shape_npy() -> bytes:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += " " * (117 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64


def _hostile(files) -> dict[str, tuple[bytes, str]]:
    """name -> (bundle bytes, phrase the refusal must contain)."""
    good = list(files.items())
    weights = dict(np.load(io.BytesIO(files["params.npz"])))
    deep = b"[" * 20_000 + b"]" * 20_000  # 40 kB, under the size limit
    inner_bomb = io.BytesIO()
    with zipfile.ZipFile(inner_bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("enc.out.W.npy", b"\0" * (LIMITS["params.npz"] + 1))
    return {
        "empty": (b"", "empty"),
        "not-a-zip": (b"definitely not a zip file" * 10, "not a zip"),
        "truncated": (_zip(good)[:2000], "not a zip"),
        "over-size": (b"PK" + b"\0" * MAX_BUNDLE_BYTES, "limit"),
        "dot-dot": (_zip(good + [("../evil.json", b"{}")]), "leaves the run directory"),
        "dot-dot-backslash": (_zip(good + [("..\\evil.json", b"{}")]), "leaves the run directory"),
        "absolute": (_zip(good + [("/etc/cron.d/evil", b"x")]), "leaves the run directory"),
        "drive-letter": (_zip(good + [("C:evil", b"x")]), "leaves the run directory"),
        "nested-dir": (_zip([("run/" + n, d) for n, d in good]), "folder"),
        "dir-entry": (_zip(good + [("extra/", b"")]), "folder"),
        "symlink": (_zip(good[:2] + [_symlink("history.json", "/etc/passwd")]), "symbolic link"),
        "extra-file": (_zip(good + [("evil.py", b"import os")]), "unexpected file"),
        "missing-file": (_zip(good[:2]), "missing history.json"),
        "duplicate": (_zip(good + [("config.json", b"{}")]), "more than once"),
        "bzip2": (_zip(good, zipfile.ZIP_BZIP2), "compression method"),
        "lzma": (_zip(good, zipfile.ZIP_LZMA), "compression method"),
        "bomb-declared": (_zip(_with(files, history_json=b" " * (LIMITS["history.json"] + 1))), "limit"),
        "bomb-lying-size": (_lying_size(files), "history.json"),
        "config-not-json": (_zip(_with(files, config_json=b"{oops")), "not valid JSON"),
        "config-deeply-nested": (_zip(_with(files, config_json=deep)), "not valid JSON"),
        "history-infinite-step": (
            _zip(
                _with(
                    files,
                    history_json=json.dumps({**json.loads(files["history.json"]), "step": [1e999, 2, 3]}).encode(),
                )
            ),
            "not a valid model",
        ),
        "npz-not-zip": (_zip(_with(files, params_npz=b"not an npz")), "not an .npz"),
        "npz-object-array": (
            _zip(_with(files, params_npz=_npz({**weights, "enc.out.W": np.array([{"a": 1}])}))),
            "pickle",
        ),
        "npz-int-array": (
            _zip(_with(files, params_npz=_npz({**weights, "enc.out.W": np.zeros((64, 4), "i4")}))),
            "not floating-point",
        ),
        "npz-huge-shape": (
            _zip(_with(files, params_npz=_zip([("enc.out.W.npy", _huge_shape_npy())]))),
            "declares shape",
        ),
        "npz-inner-bomb": (_zip(_with(files, params_npz=inner_bomb.getvalue())), "limit"),
        "npz-extra-entry": (_zip(_with(files, params_npz=_zip([("evil.txt", b"x")]))), "unexpected entry"),
        "npz-npy-v3": (_zip(_with(files, params_npz=_zip([("a.npy", _npy_v3(np.zeros(3, "f4")))]))), "format"),
        "npz-wrong-names": (_zip(_with(files, params_npz=_npz({"a": np.zeros(3, "f4")}))), "not a valid model"),
        "npz-nan-weights": (_zip(_with(files, params_npz=_npz({k: v * np.nan for k, v in weights.items()}))), "finite"),
        "timeline-ok-but-unreadable": (_zip(good + [("timeline.npz", _npz({"step": np.arange(3)}))]), "timeline"),
        "timeline-object-array": (_zip(good + [("timeline.npz", _npz({"step": np.array([None, 1])}))]), "pickle"),
        "timeline-not-npz": (_zip(good + [("timeline.npz", b"PK\x03\x04 junk")]), "timeline.npz is not an .npz"),
        "timeline-bad-crc": (_zip(good + [("timeline.npz", _bad_crc(_timeline(400)))]), "timeline"),
        "timeline-twice": (
            _zip(good + [("timeline.npz", _timeline()), ("timeline.npz", _timeline())]),
            "more than once",
        ),
        "config-wrong-version": (
            _zip(
                _with(
                    files, config_json=json.dumps({**json.loads(files["config.json"]), "format_version": 99}).encode()
                )
            ),
            "format version",
        ),
    }


@pytest.fixture(scope="module")
def hostile(source):
    return _hostile(source[2])


HOSTILE_NAMES = (
    "empty",
    "not-a-zip",
    "truncated",
    "over-size",
    "dot-dot",
    "dot-dot-backslash",
    "absolute",
    "drive-letter",
    "nested-dir",
    "dir-entry",
    "symlink",
    "extra-file",
    "missing-file",
    "duplicate",
    "bzip2",
    "lzma",
    "bomb-declared",
    "bomb-lying-size",
    "config-not-json",
    "config-deeply-nested",
    "history-infinite-step",
    "npz-not-zip",
    "npz-object-array",
    "npz-int-array",
    "npz-huge-shape",
    "npz-inner-bomb",
    "npz-extra-entry",
    "npz-npy-v3",
    "npz-wrong-names",
    "npz-nan-weights",
    "config-wrong-version",
    "timeline-ok-but-unreadable",
    "timeline-object-array",
    "timeline-not-npz",
    "timeline-twice",
    "timeline-bad-crc",
)


def test_every_hostile_case_is_run(hostile):
    assert sorted(hostile) == sorted(HOSTILE_NAMES)


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_hostile_bundles_are_refused_and_leave_nothing(hostile, runs, case):
    data, phrase = hostile[case]
    started = time.perf_counter()
    with pytest.raises(BundleError) as info:
        import_bundle(data, runs, "incoming")
    assert phrase in str(info.value), (case, str(info.value))
    assert time.perf_counter() - started < 30
    assert ".tmp-" not in str(info.value)  # the staging path is not shown to the user
    _untouched(runs)


def test_pickle_exploit_in_bundle_never_runs(source, runs, tmp_path, monkeypatch):
    """A real exploit: unpickling would create the marker file. Refused by the header check and,
    with that check switched off, by load_checkpoint's allow_pickle=False."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    _, _, files = source
    weights = dict(np.load(io.BytesIO(files["params.npz"])))
    weights["enc.out.W"] = np.array([Exploit()], dtype=object)
    data = _zip(_with(files, params_npz=_npz(weights)))
    assert not marker.exists()
    with pytest.raises(BundleError, match="pickle"):
        import_bundle(data, runs, "exploit")
    monkeypatch.setattr(bundle_module, "_check_npz", lambda *args: None)
    with pytest.raises(BundleError, match="pickled"):
        import_bundle(data, runs, "exploit")
    assert not marker.exists()
    _untouched(runs)


# --- fuzzing: BundleError or a loadable run, nothing else -----------------------------------------


def _mutated_bundle(data: bytes):
    return mutated_bytes(
        st.just(data), max_ops=6, chunk=16, extremes=[b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x10"]
    )


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory):
    """Stored (uncompressed) so that mutations hit the headers and the npz inside, not just deflate."""
    path = save_checkpoint(tmp_path_factory.mktemp("small") / "run", VAE(TrainConfig(seed=1)), factories.history())
    return _zip(
        [(f, (path / f).read_bytes()) for f in ("config.json", "params.npz", "history.json")], zipfile.ZIP_STORED
    )


def test_fuzz_mutated_bundles(small_bundle, tmp_path):
    outcomes = {"refused": 0, "imported": 0}

    @settings(max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(_mutated_bundle(small_bundle))
    def run(data):
        root = tmp_path / f"fuzz{sum(outcomes.values())}"
        try:
            target = import_bundle(data, root, "fuzzed")
        except BundleError as err:
            assert str(err)
            outcomes["refused"] += 1
            assert not (root / "fuzzed").exists()
        else:
            load_checkpoint(target)
            outcomes["imported"] += 1
        if root.exists():
            assert [p.name for p in root.iterdir() if p.name != "fuzzed"] == []

    run()
    assert outcomes["refused"] > 0


# --- security checks over the code a user's file can reach -----------------------------------------


def _sources():
    from tests.conftest import ROOT

    scripts = [ROOT / "app.py", ROOT / "navigation.py"]
    files = scripts + [p for d in ("cvae", "ui", "app_pages") for p in sorted((ROOT / d).rglob("*.py"))]
    return [(p.relative_to(ROOT), p.read_text()) for p in files]


def test_no_pickle_loading_anywhere_a_user_file_reaches():
    """grep: nothing in app.py, navigation.py, cvae/, ui/ or app_pages/ unpickles. AST: every np.load
    says allow_pickle=False."""
    import ast
    import re

    banned = re.compile(
        r"pickle\.loads?\(|allow_pickle\s*=\s*True|^\s*(import|from)\s+(c?pickle|dill|cloudpickle|"
        r"joblib|shelve|marshal)\b|read_pickle\(|torch\.load\(|yaml\.load\(",
        re.MULTILINE,
    )
    hits = [
        f"{path}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
        for path, text in _sources()
        for m in banned.finditer(text)
    ]
    assert hits == []
    loads = []
    for path, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("np", "numpy")
            ):
                safe = any(
                    k.arg == "allow_pickle" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in node.keywords
                )
                loads.append((f"{path}:{node.lineno}", safe))
    assert loads, "expected the checkpoint loader's np.load"
    assert [where for where, safe in loads if not safe] == []
