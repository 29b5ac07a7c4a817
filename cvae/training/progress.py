"""A rich progress bar for the command line, fed by PyMC's callback protocol."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["ProgressBar"]


class ProgressBar:
    """Step, epoch, running -ELBO (mean over the last epoch, nats per image), images/s and time left.

    Drawn on stderr only when it is a terminal and not `quiet`, so pipes and logs stay clean.
    Use as a context manager around the fit; call it as a PyMC callback `(approx, losses, i)`.
    """

    def __init__(self, history, plan, *, quiet: bool = False, console: Console | None = None):
        self.history, self.plan = history, plan
        console = console or Console(stderr=True)
        self._bar = Progress(
            TextColumn("step {task.completed}/{task.total}"),
            BarColumn(bar_width=30),
            TextColumn("epoch {task.fields[epoch]:.1f}  avg -ELBO {task.fields[neg_elbo]:8.2f} nats/image"),
            TextColumn("{task.fields[rate]:6.0f} img/s"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            refresh_per_second=5,
        )
        self._task = self._bar.add_task("train", total=plan.total_steps, epoch=0.0, neg_elbo=float("nan"), rate=0.0)

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def __call__(self, approx, losses, i) -> None:
        p = self.history.progress(self.plan)
        recent = self.history.final("neg_elbo", self.plan.steps_per_epoch)
        self._bar.update(
            self._task,
            completed=p.step,
            epoch=p.epoch,
            rate=p.images_per_s,
            neg_elbo=float("nan") if recent is None else recent,
        )
