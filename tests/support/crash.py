"""Crash injection for the fault tests: run code in a forked child that SIGKILLs itself mid-way."""

import os
import signal
import sys
import traceback
from collections.abc import Callable, Collection

__all__ = ["run_killed_at"]


def run_killed_at(body: Callable[[], object], kill_at: int, steps: Collection[str]) -> int:
    """Run `body()` in a forked child that SIGKILLs itself just before its `kill_at`-th call of a
    C function named in `steps` (open, fsync, replace, ...); return the child's wait status.

    A child that finishes exits 0, or 3 if `body` raised (the traceback goes to stderr).
    """
    pid = os.fork()
    if pid == 0:  # child: no pytest teardown, no buffered output, exit code says what happened
        count = [0]

        def profile(frame, event, arg):
            if event == "c_call" and getattr(arg, "__qualname__", "") in steps:
                count[0] += 1
                if count[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

        code = 0
        try:
            sys.setprofile(profile)
            body()
        except BaseException:
            sys.setprofile(None)
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]
