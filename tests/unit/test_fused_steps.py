"""The training step's fused Ops against what they replace: the Bernoulli log-density against
PyMC's own `pm.Bernoulli`, and the Adam step against `pm.adam`, in values and gradients."""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from cvae.model.bernoulli_logit import BernoulliLogitGrad, bernoulli_logit_logp
from cvae.nn import adam as fused_adam

# both tails (where softplus(t) = t or e^t in float32), zero, and ordinary values
EXTREMES = np.array([-200.0, -90.0, -40.0, -17.0, -1e-4, 0.0, 1e-4, 0.7, 17.0, 40.0, 90.0, 200.0], "float32")


def _batch(seed=0, shape=(6, 1, 28, 28)):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(shape) * 4).astype("float32")
    logits.reshape(-1)[: EXTREMES.size] = EXTREMES
    return (rng.random(shape) > 0.5).astype("float32"), logits


def test_the_bernoulli_op_is_pymcs_bernoulli_in_value_and_gradient():
    x, logits = _batch()
    t, xv = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32")
    pymcs = pm.logp(pm.Bernoulli.dist(logit_p=t), xv)
    ours = bernoulli_logit_logp(xv, t)
    f = pytensor.function([xv, t], [pymcs, ours, pytensor.grad(pymcs.sum(), t), pytensor.grad(ours.sum(), t)])
    p_val, o_val, p_grad, o_grad = f(x, logits)
    assert o_val.dtype == np.float32 and o_val.shape == x.shape
    assert np.isfinite(o_val).all() and np.isfinite(o_grad).all()
    np.testing.assert_allclose(o_val, p_val, rtol=1e-6, atol=1e-6)
    exact = x - 1 / (1 + np.exp(-logits.astype(np.float64)))
    np.testing.assert_allclose(o_grad, exact, atol=2e-7)
    np.testing.assert_allclose(o_grad, p_grad, atol=2e-7)


def test_the_bernoulli_ops_gradients_check_numerically_to_second_order():
    rng = np.random.default_rng(2)
    x = (rng.random((2, 1, 3, 3)) > 0.5).astype("float64")
    logits = rng.standard_normal((2, 1, 3, 3))
    verify_grad(lambda t: bernoulli_logit_logp(pt.as_tensor(x), t).sum(), [logits], rng=rng)
    gz = rng.standard_normal(logits.shape)
    # the gradient Op's own gradient (PyMC's ADVI differentiates once; a Hessian would twice)
    verify_grad(lambda g, t: BernoulliLogitGrad()(g, pt.as_tensor(x), t), [gz, logits], rng=rng)


def test_the_model_observes_the_pixels_with_the_bernoulli_op():
    from cvae.model.likelihoods import LIKELIHOODS

    x, logits = _batch(1, (2, 1, 28, 28))
    with pm.Model() as model:
        LIKELIHOODS["bernoulli"].observe(pt.as_tensor(logits), pt.as_tensor(x), None)
    (term,) = model.logp(vars=model.observed_RVs, sum=False)
    t = logits.astype(np.float64)
    np.testing.assert_allclose(term.eval(), x * t - np.logaddexp(0, t), rtol=1e-6, atol=1e-7)
    draws = pm.draw(model["x"], draws=200, random_seed=0)  # forward sampling works, at sigmoid(t)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    near_half = np.abs(logits) < 0.05
    assert abs(draws[:, near_half].mean() - 0.5) < 0.1


def _adam_updates(optimizer, seed: int, steps: int = 4):
    """The parameters after `steps` Adam steps of a fixed quadratic-plus-cosine loss, float32."""
    rng = np.random.default_rng(seed)
    params = [
        pytensor.shared(rng.standard_normal((64, 33)).astype("float32"), name="w"),
        pytensor.shared(rng.standard_normal(7).astype("float32"), name="b"),
    ]
    loss = sum(((p - 0.3) ** 2).sum() + pt.cos(3 * p).sum() for p in params)
    step = pytensor.function([], loss, updates=optimizer(loss, params))
    for _ in range(steps):
        step()
    return [p.get_value() for p in params]


@pytest.mark.parametrize("c_loop", [True, False], ids=["c", "numpy"])
def test_the_fused_adam_step_is_pm_adam(c_loop, monkeypatch):
    if c_loop and fused_adam.native() is None:
        pytest.skip("no C compiler for the Adam loop")
    if not c_loop:
        monkeypatch.setattr(fused_adam, "native", lambda: None)
    lr = pytensor.shared(np.float32(0.05))  # a shared learning rate, as the trainer's schedule sets it
    want = _adam_updates(pm.adam(learning_rate=lr), seed=0)
    got = _adam_updates(fused_adam.adam(learning_rate=lr), seed=0)
    start = _adam_updates(fused_adam.adam(learning_rate=lr), seed=0, steps=0)
    for g, w, s in zip(got, want, start):
        assert g.dtype == np.float32
        assert np.abs(w - s).min() > 1e-3  # every number moved: the comparison below compares steps
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=2e-7)


def test_the_fused_adam_step_splits_large_parameters_over_threads_without_changing_them():
    """A parameter large enough for `parallel` to split gives the numbers of one NumPy pass."""
    lib = fused_adam.native()
    if lib is None:
        pytest.skip("no C compiler for the Adam loop")
    rng = np.random.default_rng(3)
    p, g, m = (rng.standard_normal(600_001, dtype=np.float32) for _ in range(3))
    v = rng.random(600_001, dtype=np.float32)
    out = [np.empty_like(p) for _ in range(3)]
    args = (1e-3, 0.9, 0.999, 1e-8)
    fused_adam._step(lib, p, g, m, v, args, *out)
    for got, want in zip(out, fused_adam._numpy_step(p, g, m, v, *args)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
