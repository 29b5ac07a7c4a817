"""A name -> entry table with aliases: one per concept (architectures, likelihoods, models, priors).

Config validation, the PyMC model, the compiled functions, the explorer and the UI all look
names up in the same table, so adding an entry makes it available everywhere at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "UnknownName"]

T = TypeVar("T")


class UnknownName(ValueError):
    """A name that is not in a registry; the message lists the valid ones."""


class Registry(Generic[T]):
    """Entries by canonical name, in registration order; aliases resolve to a canonical name."""

    def __init__(self, concept: str):
        self.concept = concept
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, entry: T, *, aliases: tuple[str, ...] = ()) -> T:
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.concept} {key!r} is already registered")
        self._entries[name] = entry
        self._aliases.update({alias: name for alias in aliases})
        return entry

    def canonical(self, name: str) -> str:
        """The registered name for `name` or one of its aliases."""
        if isinstance(name, str):
            if name in self._entries:
                return name
            if name in self._aliases:
                return self._aliases[name]
        raise UnknownName(f"unknown {self.concept} {name!r}; choose from {', '.join(self._entries)}")

    def __getitem__(self, name: str) -> T:
        return self._entries[self.canonical(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)
