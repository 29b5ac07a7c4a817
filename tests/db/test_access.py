"""Access control on the shared database: the codes' growing delay after wrong codes, counted once for
every web process, and the owner tokens of trainings (SQLite and PostgreSQL)."""

import threading

from cvae.access import MAX_WAIT_S, CodeGate, OwnerTokens
from cvae.db import Database


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_each_wrong_code_doubles_the_wait_and_the_right_one_resets_it(db):
    clock = Clock()
    gate = CodeGate(db, "teacher", "open-sesame", clock=clock)
    waits = []
    for _ in range(8):
        attempt = gate.attempt("guess")
        assert attempt.outcome == "wrong"
        waits.append(attempt.wait_s)
        assert gate.attempt("open-sesame").outcome == "wait"  # even the right code waits its turn
        assert gate.wait_s() == attempt.wait_s
        clock.now += attempt.wait_s
    assert waits == [1, 2, 4, 8, 16, 32, MAX_WAIT_S, MAX_WAIT_S]
    assert gate.attempt("open-sesame").outcome == "signed-in"
    assert gate.attempt("guess").wait_s == 1  # counting starts again


def test_a_quiet_quarter_of_an_hour_forgets_old_mistakes(db):
    clock = Clock()
    gate = CodeGate(db, "teacher", "code", clock=clock)
    for _ in range(5):
        clock.now += gate.attempt("x").wait_s
    clock.now += 901
    assert gate.attempt("x").wait_s == 1


def test_without_a_code_nothing_signs_in(db):
    gate = CodeGate(db, "teacher", None)
    assert not gate.enabled and gate.attempt("").outcome == "disabled" and gate.attempt("x").outcome == "disabled"


def test_codes_compare_exactly_in_any_script(db):
    clock = Clock()
    assert CodeGate(db, "teacher", "café", clock=clock).attempt("café").outcome == "signed-in"
    for k, wrong in enumerate(("cafe", "", "café ", None, 3)):
        gate = CodeGate(db, f"gate-{k}", "café", clock=clock)  # a gate of its own: no wait left by the last
        assert gate.attempt(wrong).outcome == "wrong"
    assert not CodeGate(db, "teacher", "").enabled


def test_every_process_counts_the_same_wrong_codes_and_the_two_codes_apart(database_url, db):
    """Two engines on one database are two web processes: a guesser gains nothing by switching, and
    wrong class codes do not delay the teacher's."""
    other = Database(database_url)
    try:
        clock = Clock()
        here, there = (CodeGate(d, "teacher", "right", clock=clock) for d in (db, other))
        assert here.attempt("wrong").wait_s == 1
        assert there.attempt("right").outcome == "wait"
        clock.now += 1
        assert there.attempt("wrong").wait_s == 2, "the second process continues the first's count"
        assert CodeGate(other, "class", "class-code", clock=clock).attempt("class-code").outcome == "signed-in"
    finally:
        other.dispose()


def test_simultaneous_wrong_codes_are_all_counted(database_url, db):
    engines = [Database(database_url) for _ in range(4)]
    try:
        clock = Clock()
        outcomes = []
        threads = [
            threading.Thread(
                target=lambda d=d: outcomes.append(CodeGate(d, "teacher", "right", clock=clock).attempt("x"))
            )
            for d in engines
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.outcome for a in outcomes) == ["wait", "wait", "wait", "wrong"], "one try, three turned away"
        assert CodeGate(db, "teacher", "right", clock=clock).wait_s() == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_owner_tokens_are_the_same_in_every_process_and_prove_nothing_elsewhere(database_url, db):
    engines = [Database(database_url) for _ in range(3)]
    try:
        results = []
        threads = [threading.Thread(target=lambda d=d: results.append(OwnerTokens(d))) for d in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tokens = {t.token("job-1") for t in [*results, OwnerTokens(db)]}
        assert len(tokens) == 1, "processes created together agree on one secret"
        (token,) = tokens
        mine = OwnerTokens(db)
        assert mine.may_stop("job-1", token=token) and not mine.may_stop("job-2", token=token)
        assert not mine.may_stop("job-1", token=None) and not mine.may_stop("job-1", token=token.upper())
        assert mine.may_stop("job-1", token=None, teacher=True)
    finally:
        for engine in engines:
            engine.dispose()
