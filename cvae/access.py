"""Who may do what, in one place: the class code, the teacher code, and the owner tokens of trainings.

Both codes are checked through a `CodeGate` whose state lives in the database, so every web process
behind a proxy counts the same wrong codes: after n wrong codes in a row the next try waits
min(2^(n-1), MAX_WAIT_S) seconds, whoever makes it and through whichever process; a right code, or
QUIET_S without a wrong one, starts the count again. A code is never logged or echoed.

A training belongs to the browser tab that started it: that tab holds an owner token, an HMAC of the
job id under a secret made once per database, so any process can check it and a student's link still
proves ownership after a restart.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from cvae.db import Database, DatabaseError
from cvae.db.schema import GateRecord, ServerValue

__all__ = ["MAX_WAIT_S", "Attempt", "CodeGate", "OwnerTokens"]

MAX_WAIT_S = 60.0  # a guess a minute at most: hopeless against a real code, a short wait for the teacher
QUIET_S = 900.0
_SECRET_KEY = "owner-token-secret"


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "signed-in", "wrong", "wait" (too soon after a wrong code) or "disabled" (no code set)
    wait_s: float = 0.0  # for "wrong" and "wait": seconds before the next try is accepted


class CodeGate:
    """One code (`name`: "class" or "teacher") checked with a growing delay shared through `db`."""

    def __init__(self, db: Database, name: str, code: str | None, *, clock=time.time):
        self._db, self.name = db, name
        self._code = code.encode("utf-8") if code else None
        self._clock = clock  # wall-clock seconds: the processes sharing the count share this clock

    @property
    def enabled(self) -> bool:
        return self._code is not None

    def wait_s(self) -> float:
        """Seconds until a try is accepted (0: now)."""
        with self._db.transaction() as session:
            row = session.get(GateRecord, self.name)
            return 0.0 if row is None else max(0.0, row.next_try - self._clock())

    def attempt(self, given: str) -> Attempt:
        if self._code is None:
            return Attempt("disabled")
        with self._db.transaction() as session:
            row = self._locked_row(session)
            now = self._clock()
            if now < row.next_try:
                return Attempt("wait", row.next_try - now)
            if isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), self._code):
                row.wrong = 0
                return Attempt("signed-in")
            if now - row.last_wrong > QUIET_S:
                row.wrong = 0
            row.wrong += 1
            row.last_wrong = now
            delay = min(2.0 ** (row.wrong - 1), MAX_WAIT_S)
            row.next_try = now + delay
            return Attempt("wrong", delay)

    def _locked_row(self, session) -> GateRecord:
        """This gate's row, locked first: two processes checking codes at once count both tries."""
        self._db.lock(session, f"gate-{self.name}")
        row = session.get(GateRecord, self.name)
        if row is None:
            row = GateRecord(name=self.name, wrong=0, last_wrong=0.0, next_try=0.0)
            session.add(row)
        return row


class OwnerTokens:
    """Signs and checks the owner tokens of jobs with the database's secret (made by whoever comes first)."""

    def __init__(self, db: Database):
        self._secret = bytes.fromhex(_shared_secret(db))

    def token(self, job_id: str) -> str:
        return hmac.new(self._secret, job_id.encode(), "sha256").hexdigest()[:32]

    def may_stop(self, job_id: str, *, token: str | None, teacher: bool = False) -> bool:
        """Whether a session holding `token` (or the teacher) may stop the job `job_id`."""
        return teacher or (isinstance(token, str) and hmac.compare_digest(token, self.token(job_id)))


def _shared_secret(db: Database) -> str:
    """The secret's hex, created once: of two processes creating it together, the second reads the first's."""
    for _ in range(2):
        try:
            with db.transaction() as session:
                row = session.get(ServerValue, _SECRET_KEY)
                if row is not None:
                    return row.value["hex"]
                value = secrets.token_hex(32)
                session.add(ServerValue(key=_SECRET_KEY, value={"hex": value}))
            return value
        except DatabaseError as err:
            if not isinstance(err.__cause__, IntegrityError):
                raise
    raise DatabaseError("could not create or read the owner-token secret")
