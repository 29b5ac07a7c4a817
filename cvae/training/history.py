"""The training curve: -ELBO, reconstruction and KL per step, in nats per image."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["COLLAPSE_KL", "History", "Plan", "Progress", "steps_per_epoch"]

COLLAPSE_KL = 0.5  # nats per image: below this q(z|x) barely differs from the prior


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    """Minibatches per epoch: the last partial batch is dropped."""
    return max(n_images // batch_size, 1)


@dataclass(frozen=True)
class Plan:
    """How long a fit is: what its progress is measured against."""

    total_steps: int
    steps_per_epoch: int
    batch_size: int


@dataclass
class History:
    """Per-step training curve, in nats per image; append-only so readers on other threads are safe."""

    step: list[int] = field(default_factory=list)
    neg_elbo: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)
    # after each epoch of a run with a validation split: the step it ended at and the held-out -ELBO
    val_step: list[int] = field(default_factory=list)
    val_neg_elbo: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time_s)

    def append(self, step: int, neg_elbo: float, kl: float, beta: float, time_s: float) -> None:
        """One step's -ELBO and KL; reconstruction = -ELBO - beta * KL from the same draw."""
        self.add_row(step, neg_elbo, neg_elbo - beta * kl, kl, time_s)

    def add_row(self, step: int, neg_elbo: float, reconstruction: float, kl: float, time_s: float) -> None:
        self.step.append(step)
        self.neg_elbo.append(neg_elbo)
        self.reconstruction.append(reconstruction)
        self.kl.append(kl)
        self.time_s.append(time_s)  # appended last: a reader sizing by len() sees complete rows

    def add_validation(self, step: int, neg_elbo: float) -> None:
        self.val_neg_elbo.append(neg_elbo)
        self.val_step.append(step)  # appended last, as time_s above

    def to_dict(self) -> dict[str, list]:
        n, v = len(self), len(self.val_step)
        columns = {k: list(getattr(self, k)[:n]) for k in ("step", "neg_elbo", "reconstruction", "kl", "time_s")}
        if v:  # a run without a validation split saves the history it always did
            columns |= {"val_step": list(self.val_step[:v]), "val_neg_elbo": list(self.val_neg_elbo[:v])}
        return columns

    @classmethod
    def from_dict(cls, data: dict) -> History:
        columns = {k: [float(v) for v in data[k]] for k in ("neg_elbo", "reconstruction", "kl", "time_s")}
        lengths = {len(v) for v in columns.values()} | {len(data["step"])}
        if len(lengths) != 1:
            raise ValueError("history columns have different lengths")
        val_step, val_neg_elbo = data.get("val_step", []), data.get("val_neg_elbo", [])
        if len(val_step) != len(val_neg_elbo):
            raise ValueError("history validation columns have different lengths")
        validation = {"val_step": [int(s) for s in val_step], "val_neg_elbo": [float(v) for v in val_neg_elbo]}
        return cls(step=[int(s) for s in data["step"]], **columns, **validation)

    def collapse_warning(self, window: int = 100) -> str | None:
        """A message when the recent KL is so small that the encoder carries no information."""
        recent = self.kl[-window:]
        if len(recent) < min(window, 20) or sum(recent) / len(recent) >= COLLAPSE_KL:
            return None
        return (
            f"Posterior collapse: the KL term is only {sum(recent) / len(recent):.2f} nats per image, so "
            "q(z|x) is almost the prior for every image and every decode looks like the average digit. "
            "The decoder learned to ignore z. Try the classroom network, the normal likelihood, "
            "a smaller beta, or more epochs."
        )

    def final(self, key: str, steps_per_epoch: int) -> float | None:
        """Mean of column `key` (e.g. "neg_elbo", "kl") over the last epoch's steps, or None if empty."""
        done = len(self)
        last = getattr(self, key)[max(0, done - steps_per_epoch) : done]
        return round(sum(last) / len(last), 3) if last else None

    def progress(self, plan: Plan) -> Progress:
        """Step, epoch, images/s and seconds left, from the recorded times."""
        done = len(self)
        elapsed = self.time_s[done - 1] - self.time_s[0] if done > 1 else 0.0
        rate = (done - 1) * plan.batch_size / elapsed if elapsed > 0 else 0.0
        eta = (plan.total_steps - done) * plan.batch_size / rate if rate > 0 else float("nan")
        return Progress(done, plan.total_steps, done / max(plan.steps_per_epoch, 1), rate, eta)


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    epoch: float
    images_per_s: float
    eta_s: float  # NaN until the rate is known
