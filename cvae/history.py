"""The training curve: -ELBO, reconstruction and KL per step, in nats per image."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """Per-step training curve, in nats per image; append-only so readers on other threads are safe."""

    step: list[int] = field(default_factory=list)
    neg_elbo: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time_s)

    def append(self, step: int, neg_elbo: float, kl: float, beta: float, time_s: float) -> None:
        self.step.append(step)
        self.neg_elbo.append(neg_elbo)
        self.kl.append(kl)
        self.reconstruction.append(neg_elbo - beta * kl)
        self.time_s.append(time_s)  # appended last: a reader sizing by len() sees complete rows

    def to_dict(self) -> dict[str, list]:
        n = len(self)
        return {k: list(getattr(self, k)[:n]) for k in ("step", "neg_elbo", "reconstruction", "kl", "time_s")}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        columns = {k: [float(v) for v in data[k]] for k in ("neg_elbo", "reconstruction", "kl", "time_s")}
        lengths = {len(v) for v in columns.values()} | {len(data["step"])}
        if len(lengths) != 1:
            raise ValueError("history columns have different lengths")
        return cls(step=[int(s) for s in data["step"]], **columns)
