"""Dead code stays out: vulture finds nothing unused in the app and the package beyond a short whitelist.

Every module lists its public names in `__all__`, which vulture counts as a use, so that would hide
everything exported and never called (the old Plotly map's selection module was one). Here `__all__`
counts for nothing: a name is used when some code calls it. The scripts in bench/ and examples/ count
as callers; the tests do not (code only a test calls is dead to the app). The check runs on vulture's
own API: `vulture cvae ui app_pages navigation.py app.py --min-confidence 60` reports what it sees.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import textwrap
from pathlib import Path

import vulture.core as vulture_core

from cvae.settings import ROOT

SCANNED = ("cvae", "ui", "app_pages", "navigation.py", "app.py")
CALLERS = ("bench", "examples")  # their calls count; their own unused names are not checked here
MIN_CONFIDENCE = 60  # vulture: 60 = unused function, class, method, attribute or variable; 100 = unused argument
WHITELIST = Path(__file__).with_name("dead_code_whitelist.txt")


def _whitelist() -> dict[str, str]:
    """name or glob -> why it is not dead."""
    entries = {}
    for line in WHITELIST.read_text().splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            entries[name.strip()] = why.strip()
    return entries


def unused(root: Path, scanned: tuple[str, ...], callers: tuple[str, ...] = (), decorators=()) -> list:
    """vulture's findings in `scanned` (paths under root), with `__all__` not counted as a use; functions
    under one of `decorators` (e.g. "@check_kind": a registry that calls them by name) are not reported."""
    v = vulture_core.Vulture(ignore_decorators=list(decorators))
    original = vulture_core._assigns_special_variable__all__
    vulture_core._assigns_special_variable__all__ = lambda node: False
    try:
        paths = [root / p for p in scanned + callers if (root / p).exists()]
        v.scavenge(paths, exclude=["*/node_modules/*"])
    finally:
        vulture_core._assigns_special_variable__all__ = original
    inside = [root / p for p in scanned]
    return [
        item
        for item in v.get_unused_code(min_confidence=MIN_CONFIDENCE)
        if any(Path(item.filename).resolve().is_relative_to(p.resolve()) for p in inside) and not _is_field(item)
    ]


@functools.cache
def _fields(filename: str) -> frozenset[tuple[int, str]]:
    """(line, name) of every annotated attribute in a class body: a dataclass, NamedTuple or ORM model field."""
    tree = ast.parse(Path(filename).read_text())
    return frozenset(
        (node.lineno, node.target.id)
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    )


def _is_field(item) -> bool:
    """A record's field is part of its format (saved, sent, read by asdict or the database) even when no
    code reads it by name, so vulture's 'unused variable' there is not dead code."""
    return item.typ == "variable" and (item.first_lineno, item.name) in _fields(str(item.filename))


def _decorates_something(decorator: str) -> bool:
    """Whether some scanned module uses `decorator` (a line that starts with it)."""
    files = [f for p in SCANNED for f in ((ROOT / p).rglob("*.py") if (ROOT / p).is_dir() else [ROOT / p])]
    return any(line.strip().startswith(decorator) for f in files for line in f.read_text().splitlines())


def _report(items: list, root: Path) -> str:
    return "\n".join(
        f"{Path(i.filename).resolve().relative_to(root.resolve())}:{i.first_lineno}: unused {i.typ} "
        f"'{i.name}' ({i.confidence}%)"
        for i in items
    )


def test_no_dead_code_beyond_the_whitelist():
    whitelist = _whitelist()
    decorators = [name for name in whitelist if name.startswith("@")]
    names = [name for name in whitelist if not name.startswith("@")]
    found = unused(ROOT, SCANNED, CALLERS, decorators)
    dead = [i for i in found if not any(fnmatch.fnmatchcase(i.name, pattern) for pattern in names)]
    assert not dead, (
        "unused code (remove it; or, if something calls it by name, add the name and who calls it to "
        f"{WHITELIST.relative_to(ROOT)}):\n" + _report(dead, ROOT)
    )
    stale = [p for p in names if not any(fnmatch.fnmatchcase(i.name, p) for i in found)]
    stale += [d for d in decorators if not _decorates_something(d)]
    assert not stale, f"whitelisted but no longer reported, delete from {WHITELIST.name}: {stale}"


def test_the_check_sees_a_name_only_exported_or_only_tested(tmp_path):
    """The check itself: a function only named in `__all__` (or called from tests/) is reported."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        textwrap.dedent(
            """
            __all__ = ["used", "exported_only", "tested_only"]

            def used():
                return 1

            def exported_only():
                return 2

            def tested_only():
                return 3

            VALUE = used()
            """
        )
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text("from pkg.mod import tested_only\n\ntested_only()\n")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "run.py").write_text("from pkg.mod import VALUE\n\nprint(VALUE)\n")
    names = {i.name for i in unused(tmp_path, ("pkg",), ("bench",))}
    assert names == {"exported_only", "tested_only"}
    # vulture's own rule would have hidden both: the patch is what makes the check meaningful
    plain = vulture_core.Vulture()
    plain.scavenge([tmp_path / "pkg"])
    assert not {i.name for i in plain.get_unused_code(min_confidence=MIN_CONFIDENCE)} & {"exported_only"}
