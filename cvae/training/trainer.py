"""Fitting the VAE with PyMC's KLqp (amortized mean-field ADVI) and PyMC-style callbacks.

Callbacks follow PyMC's protocol `(approx, losses, i)`; raising StopIteration
ends the fit and keeps what was learned. The history is in nats per image:
`neg_elbo` is PyMC's own loss divided by the batch size, `kl` the batch's
KL(q(z|x) || p(z)) (closed form for N(0, I), a Monte Carlo draw for other priors),
and `reconstruction` = neg_elbo - beta * kl, an unbiased estimate of E_q[-log p(x|z)].

beta and the learning rate are shared variables fed to KLqp and Adam: a KL warm-up or a
learning-rate schedule sets their values between steps, with no recompile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
from pymc.pytensorf import reseed_rngs
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor.random.type import RandomGeneratorType

from cvae.config import ConfigError, TrainConfig
from cvae.data.splits import validation_split
from cvae.model.kinds import Batch
from cvae.model.pymc_model import build_model, training_side_graphs
from cvae.model.vae import VAE, one_hot
from cvae.nn import FLOAT
from cvae.nn.adam import adam
from cvae.training.history import History, Plan, Progress, steps_per_epoch
from cvae.training.recipe import Validation, beta_at, lr_at, shift_images

__all__ = ["Callback", "History", "Progress", "TrainResult", "Trainer", "graph_key", "train"]

# The config fields that change nothing in the compiled step: the data fed to it, and values held in
# shared variables (beta, the learning rate) or set before it runs (the seed's initial weights);
# the recipe only changes what is fed and the values of those shared variables.
_NOT_IN_GRAPH = ("dataset", "data_dir", "epochs", "seed", "beta", "lr") + (
    "val_fraction",
    "augment_shift",
    "kl_warmup_epochs",
    "lr_schedule",
    "patience",
)


def graph_key(config: TrainConfig) -> tuple:
    """What a compiled training step depends on: two configs with the same key can share one."""
    return tuple((k, v) for k, v in sorted(config.to_dict().items()) if k not in _NOT_IN_GRAPH)


Callback = Callable[[object, np.ndarray, int], None]


@dataclass
class TrainResult:
    vae: VAE
    history: History
    steps: int
    status: str  # "finished", "stopped" or "diverged"
    message: str
    compile_s: float
    images_per_s: float


class Trainer:
    """One fit of `config` on `images` (N, 1, 28, 28) [and their `labels` (N,), which a conditional
    model needs]: builds the PyMC model, then `fit()` runs it."""

    def __init__(
        self, config: TrainConfig, images: np.ndarray, *, labels: np.ndarray | None = None, vae: VAE | None = None
    ):
        self.vae = vae or VAE(config)
        self._take(config, images, labels)
        first = self._next_batch(0)
        self._batch = pytensor.shared(self._augment(self.data[first]), name="x_batch")
        self._labels = pytensor.shared(self.labels[first], name="y_batch") if self.vae.conditional else None
        self._kl = pytensor.shared(np.asarray(0.0, dtype=FLOAT), name="batch_kl")
        self.beta = pytensor.shared(np.asarray(config.beta, dtype=FLOAT), name="beta")
        self.learning_rate = pytensor.shared(np.asarray(config.lr, dtype=FLOAT), name="learning_rate")
        batch = Batch(self._batch, self._labels, config.batch_size)
        self.vae_model = build_model(self.vae, batch, random_seed=config.seed)
        self._batch_kl, self._running_stats = training_side_graphs(self.vae, self.vae_model, batch, seed=config.seed)
        self.inference = pm.variational.KLqp(self.vae_model.approx, beta=self.beta)
        self._step = None  # compiled on the first fit, then kept: see rearm()
        self._initial: dict = {}
        self._rngs: list = []

    def _take(self, config: TrainConfig, images: np.ndarray, labels: np.ndarray | None) -> None:
        """Check and hold one fit's config and data: the plan, a fresh history, the batch order."""
        n_images = len(images)
        if config.batch_size > n_images:
            raise ConfigError(f"batch_size {config.batch_size} is larger than the {n_images} training images")
        if config.conditional and labels is None:
            where = f" in {config.data_dir}" if config.data_dir else ""
            raise ConfigError(
                f"conditional needs labels, and the {config.dataset} training images{where} have none "
                "(no train-labels-idx1-ubyte file): train without --conditional"
            )
        if labels is not None and len(labels) != n_images:
            raise ConfigError(f"{len(labels)} labels for {n_images} training images")
        rows, held_out = validation_split(n_images, config.val_fraction)
        self.validation = (images[held_out], None if labels is None else labels[held_out])  # scored as a test set
        if len(held_out):
            images, labels, n_images = images[rows], None if labels is None else labels[rows], len(rows)
            if config.batch_size > n_images:
                raise ConfigError(
                    f"batch_size {config.batch_size} is larger than the {n_images} images left to train on"
                )
        self.config = config
        self.data = self.vae.prepare(images)
        self.labels = one_hot(labels, n_images) if self.vae.conditional else None  # (N, 10), fed with the images
        self.steps_per_epoch = steps_per_epoch(n_images, config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.plan = Plan(self.total_steps, self.steps_per_epoch, config.batch_size)
        self.history = History()
        self._batch_order = np.random.default_rng(config.seed)
        self._shifts = np.random.default_rng([config.seed, 2])  # its own stream: the batch order is unchanged
        self._order: np.ndarray = np.empty(0, dtype=int)
        self._started = self._first_step_at = 0.0

    def rearm(self, config: TrainConfig, images: np.ndarray, *, labels: np.ndarray | None = None) -> None:
        """Make this trainer a fresh one for `config` (same `graph_key`), keeping its compiled step.

        Compiling the step is most of the time to a fit's first ELBO point (~2 s warm); a worker
        that trains one student's config after another's reuses it. Everything the step updates
        goes back to how a new trainer for `config` starts: the weights to `config.seed`'s
        initialisation, the optimizer's state to zero, the random streams reseeded.
        """
        if graph_key(config) != graph_key(self.config):
            raise ValueError(f"a trainer for {graph_key(self.config)} cannot train {graph_key(config)}")
        self._take(config, images, labels)
        for variable, value in self._initial.items():
            variable.set_value(value.copy())
        self.vae.config = config
        self.vae.set_weights(VAE(config).weights())
        self._schedule(0)
        if self._rngs:
            reseed_rngs(self._rngs, config.seed)
        self._feed(0)

    def _next_batch(self, step: int) -> np.ndarray:
        """Indices for `step` (0-based): a fresh seeded permutation every epoch, last partial batch dropped."""
        within = step % self.steps_per_epoch
        if within == 0:
            self._order = self._batch_order.permutation(len(self.data))
        b = self.config.batch_size
        return self._order[within * b : (within + 1) * b]

    def _augment(self, batch: np.ndarray) -> np.ndarray:
        return shift_images(batch, self.config.augment_shift, self._shifts)

    def _schedule(self, step: int) -> None:
        """beta and the learning rate of 0-based `step` (KL warm-up, lr schedule) into their shared variables."""
        self.beta.set_value(np.asarray(beta_at(self.config, step, self.steps_per_epoch), dtype=FLOAT))
        self.learning_rate.set_value(np.asarray(lr_at(self.config, step, self.total_steps), dtype=FLOAT))

    def _feed(self, step: int) -> None:
        rows = self._next_batch(step)
        self._batch.set_value(self._augment(self.data[rows]))
        if self._labels is not None:
            self._labels.set_value(self.labels[rows])

    def _objective_args(self) -> dict:
        """What PyMC's fit compiles into the step: Adam over q's and the model's parameters (pm.adam's
        updates, one fused Op a parameter: `cvae.nn.adam`), the batch's KL stored on the side for the
        history, and BatchNorm's running statistics."""
        return {
            "obj_optimizer": adam(learning_rate=self.learning_rate),
            "more_obj_params": self.vae.params,
            "more_updates": {self._kl: self._batch_kl.mean().astype(FLOAT), **self._running_stats},
        }

    def step_function(self, **compile_kwargs):
        """A compiled training step like the one `fit` runs, on its own (for profiling and graph checks)."""
        return self.inference.objective.step_function(
            score=True, compile_kwargs=compile_kwargs or None, **self._objective_args()
        )

    def compiled_step(self):
        """The step `fit` runs, compiled once; its starting state is kept for `rearm`."""
        if self._step is None:
            step = self.step_function()
            shared = [v for v in step.get_shared() if isinstance(v, SharedVariable)]
            self._rngs = [v for v in shared if isinstance(v.type, RandomGeneratorType)]
            self._initial = {v: np.array(v.get_value(), copy=True) for v in shared if v not in self._rngs}
            reseed_rngs(self._rngs, self.config.seed)  # as rearm does: a reused step draws what a new one would
            self._step = step
        return self._step

    def _iterate(self, callbacks: list[Callback]) -> None:
        """PyMC's fit loop (`Inference._iterate_with_loss`) over the kept step: loss, then callbacks."""
        step, approx = self.compiled_step(), self.inference.approx
        losses = np.full(self.total_steps, np.nan)
        for i in range(self.total_steps):
            loss = step()
            if np.isnan(loss):
                raise FloatingPointError("NaN occurred in optimization")
            losses[i] = loss
            for callback in callbacks:
                callback(approx, losses[: i + 1], i + 1)

    def fit(self, callbacks: Iterable[Callback] = (), stop_event: threading.Event | None = None) -> TrainResult:
        """Run the whole fit; returns what was learned even if stopped or diverged."""
        guard = _DivergenceGuard(self.vae)
        status, message = "finished", f"finished {self.total_steps} steps"

        def record(approx, losses, i):
            now = time.perf_counter()
            if not self._first_step_at:
                self._first_step_at = now
            loss = float(losses[-1]) / self.config.batch_size
            guard(loss)
            beta = float(self.beta.get_value())
            self.history.append(i, loss, float(self._kl.get_value()), beta, now - self._started)
            if i < self.total_steps:
                self._schedule(i)
                self._feed(i)

        def stop_on_request(approx, losses, i):
            if stop_event is not None and stop_event.is_set():
                raise StopIteration("stopped on request")

        validate = Validation(
            self.vae, *self.validation, self.steps_per_epoch, self.history, self.config.patience, self.total_steps
        )
        recipe = [validate] if len(self.validation[0]) else []
        self._schedule(0)
        self._started = time.perf_counter()
        try:
            self._iterate([record, *recipe, stop_on_request, *callbacks])
        except StopIteration:
            pass  # a callback asked to stop: keep what was learned
        except (FloatingPointError, _Diverged) as err:
            guard.restore()
            status = "diverged"
            message = (
                f"training diverged at step {len(self.history) + 1} ({_first_line(err)}); "
                f"kept the parameters of step {guard.good_step}. Try a smaller learning rate."
            )
        kept = validate.keep_best() if status != "diverged" else None
        if status == "finished" and validate.early.stopped_at:
            message = f"finished at step {len(self.history)} of {self.total_steps}: {kept}"
        elif status == "finished" and len(self.history) < self.total_steps:
            status, message = "stopped", f"stopped at step {len(self.history)} of {self.total_steps}"
        if kept and not validate.early.stopped_at:
            message += f"; {kept}"
        end = time.perf_counter()
        compile_s = (self._first_step_at or end) - self._started
        n_after = len(self.history) - 1
        rate = n_after * self.config.batch_size / (end - self._first_step_at) if n_after > 0 else 0.0
        return TrainResult(self.vae, self.history, len(self.history), status, message, compile_s, rate)


class _Diverged(ArithmeticError):
    pass


class _DivergenceGuard:
    """Keeps the last parameters known to give a finite loss; restores them on divergence.

    The loss of step i is computed from the parameters left by step i-1, so a
    finite loss vouches for the previous snapshot, not for the current values.
    """

    def __init__(self, vae: VAE):
        self.vae = vae
        self.good = self.candidate = vae.weights()
        self.good_step = self._step = 0

    def __call__(self, loss: float) -> None:
        if not np.isfinite(loss):
            raise _Diverged(f"loss is {loss}")
        self.good, self.good_step = self.candidate, self._step
        self._step += 1
        self.candidate = self.vae.weights()

    def restore(self) -> None:
        self.vae.set_weights(self.good)


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def train(
    config: TrainConfig,
    images: np.ndarray,
    *,
    callbacks: Iterable[Callback] = (),
    stop_event: threading.Event | None = None,
    labels: np.ndarray | None = None,
) -> TrainResult:
    """Fit a fresh model of `config` to `images` (N, 1, 28, 28) [and their labels (N,)]."""
    return Trainer(config, images, labels=labels).fit(callbacks, stop_event)
