"""The teacher code's server-wide, growing delay after wrong codes."""

from cvae.access import MAX_WAIT_S, TeacherGate


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_each_wrong_code_doubles_the_wait_and_the_right_one_resets_it():
    clock = Clock()
    gate = TeacherGate("open-sesame", clock=clock)
    waits = []
    for _ in range(8):
        attempt = gate.attempt("guess")
        assert attempt.outcome == "wrong"
        waits.append(attempt.wait_s)
        assert gate.attempt("open-sesame").outcome == "wait"  # even the right code waits its turn
        clock.now += attempt.wait_s
    assert waits == [1, 2, 4, 8, 16, 32, MAX_WAIT_S, MAX_WAIT_S]
    assert gate.attempt("open-sesame").outcome == "signed-in"
    assert gate.attempt("guess").wait_s == 1  # counting starts again


def test_a_quiet_quarter_of_an_hour_forgets_old_mistakes():
    clock = Clock()
    gate = TeacherGate("code", clock=clock)
    for _ in range(5):
        clock.now += gate.attempt("x").wait_s
    clock.now += 901
    assert gate.attempt("x").wait_s == 1


def test_without_a_code_nothing_signs_in():
    gate = TeacherGate(None)
    assert not gate.enabled and gate.attempt("").outcome == "disabled" and gate.attempt("x").outcome == "disabled"


def test_codes_compare_exactly_in_any_script():
    gate = TeacherGate("café")
    assert gate.attempt("café").outcome == "signed-in"
    for wrong in ("cafe", "", "café ", None, 3):
        gate = TeacherGate("café")
        assert gate.attempt(wrong).outcome == "wrong"
    assert not TeacherGate("").enabled
