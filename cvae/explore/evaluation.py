"""Held-out -ELBO (and an importance-weighted bound), in nats per image, for every model kind.

log p(x|z) and log p(z) come from the model's own PyMC log-density (`VAE.log_px`, `VAE.log_prior`),
so the bounds hold for any registered kind; the KL is exact for N(0, I) and Monte Carlo otherwise.
"""

from __future__ import annotations

import numpy as np

from cvae.model.gaussian import kl_from_standard_normal, normal_logpdf
from cvae.model.vae import N_LABELS, VAE

__all__ = ["evaluate", "kl_per_image", "knn_accuracy", "label_scores"]


def kl_per_image(mu: np.ndarray, sd: np.ndarray, vae: VAE | None = None, *, draws: int = 16, seed: int = 0):
    """KL(q(z|x) || p(z)) in nats for each image's posterior means and sds (N, latent) -> (N,): against
    N(0, I) in closed form, or, given a `vae` whose prior has no closed form, the mean of `draws`
    Monte Carlo estimates."""
    if vae is None or vae.closed_form_kl:
        return kl_from_standard_normal(np.asarray(mu, np.float64), np.asarray(sd, np.float64))
    rng = np.random.default_rng(seed)
    return np.mean([vae.kl(mu, sd, mu + sd * rng.standard_normal(mu.shape)) for _ in range(draws)], axis=0)


def knn_accuracy(
    reference_z: np.ndarray, reference_labels: np.ndarray, z: np.ndarray, labels: np.ndarray, k: int = 5
) -> float:
    """How often the majority label of a code's k nearest reference codes is its own label:
    a number for "the latent map is clustered by class" (chance is 1 / number of classes)."""
    d = ((z[:, None, :] - reference_z[None, :, :]) ** 2).sum(-1)
    nearest = reference_labels[np.argsort(d, axis=1)[:, :k]]
    n_classes = int(max(reference_labels.max(), labels.max())) + 1
    votes = np.array([np.bincount(row, minlength=n_classes).argmax() for row in nearest])
    return float(np.mean(votes == labels))


def _log_normal(z: np.ndarray, mu, sd) -> np.ndarray:
    return normal_logpdf(z, mu, sd).sum(axis=-1)


def label_scores(vae: VAE, images: np.ndarray) -> np.ndarray:
    """A conditional model's log p(x, z | y) - log q(z|x, y) at z = the posterior mean, for every
    label: (N, N_LABELS), a deterministic ELBO-like score whose argmax classifies the image."""
    if not vae.conditional:
        raise ValueError("label scores need a conditional model")
    scores = np.empty((len(images), N_LABELS))
    for k in range(N_LABELS):
        mu, sd = vae.encode(images, k)
        scores[:, k] = vae.log_px(images, mu, k) + vae.log_prior(mu) - _log_normal(mu, mu, sd)
    return scores


def _bounds(vae: VAE, x: np.ndarray, labels, iw: int, rng: np.random.Generator):
    """-log p(x|z) at one draw, the KL, and the iw-sample log-mean-weight, per image."""
    mu, sd = vae.encode(x, labels)
    z = mu + sd * rng.standard_normal(mu.shape).astype(mu.dtype)
    recon, kl = -vae.log_px(x, z, labels).astype(np.float64), vae.kl(mu, sd, z)
    if not iw:
        return recon, kl, None
    log_w = np.empty((iw, len(x)))
    for k in range(iw):
        zk = mu + sd * rng.standard_normal(mu.shape).astype(mu.dtype)
        log_w[k] = vae.log_px(x, zk, labels) + vae.log_prior(zk) - _log_normal(zk, mu, sd)
    peak = log_w.max(axis=0)
    return recon, kl, peak + np.log(np.mean(np.exp(log_w - peak), axis=0))


def _bounds_labels_summed_out(vae: VAE, x: np.ndarray, iw: int, rng: np.random.Generator):
    """The same for -log p(x) of a conditional model, y ~ uniform summed out. The ELBO takes
    q(y|x) = softmax of `label_scores` (fixed before the draws, so the estimate stays unbiased):
    recon and KL are q(y|x)-weighted, plus KL(q(y|x) || p(y)); the IW bound is log sum_y p(y) p^(x|y)."""
    scores = label_scores(vae, x)
    q_y = np.exp(scores - scores.max(axis=1, keepdims=True))
    q_y /= q_y.sum(axis=1, keepdims=True)
    per_label = [_bounds(vae, x, np.full(len(x), k), iw, rng) for k in range(N_LABELS)]
    recon = sum(q_y[:, k] * r for k, (r, _, _) in enumerate(per_label))
    kl_y = np.sum(q_y * (np.log(np.maximum(q_y, 1e-300)) + np.log(N_LABELS)), axis=1)
    kl = sum(q_y[:, k] * c for k, (_, c, _) in enumerate(per_label)) + kl_y
    if not iw:
        return recon, kl, None
    log_p = np.stack([w for _, _, w in per_label]) - np.log(N_LABELS)  # (N_LABELS, N)
    peak = log_p.max(axis=0)
    return recon, kl, peak + np.log(np.sum(np.exp(log_p - peak), axis=0))


def evaluate(
    vae: VAE, images: np.ndarray, *, labels: np.ndarray | None = None, iw: int = 0, seed: int = 0, batch_size: int = 500
) -> dict:
    """Mean -ELBO = reconstruction + KL over `images` (one posterior draw each; the KL exact for the
    N(0, I) prior, else Monte Carlo with that same draw).

    With `iw` = K > 0 also the K-sample importance-weighted bound on -log p(x) (Burda et al. 2016),
    which is tighter than -ELBO. A conditional model bounds -log p(x|y) given `labels`, and -log p(x)
    with the label summed out when they are None (comparable with a model that is not conditional).
    """
    if iw < 0:
        raise ValueError(f"iw must be >= 0; got {iw}")
    rng = np.random.default_rng(seed)
    summed_out = vae.conditional and labels is None
    recon, kl, iw_bound = [], [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        if summed_out:
            r, k, log_p = _bounds_labels_summed_out(vae, x, iw, rng)
        else:
            r, k, log_p = _bounds(vae, x, None if labels is None else labels[start : start + batch_size], iw, rng)
        recon.append(r)
        kl.append(k)
        if iw:
            iw_bound.append(-log_p)
    recon_all, kl_all = np.concatenate(recon), np.concatenate(kl)
    result = {
        "neg_elbo": float(np.mean(recon_all + kl_all)),
        "reconstruction": float(np.mean(recon_all)),
        "kl": float(np.mean(kl_all)),
        "n_images": int(len(recon_all)),
    }
    if vae.conditional:
        result["labels"] = "summed out: bounds on -log p(x)" if summed_out else "given: bounds on -log p(x|y)"
    if iw:
        result |= {"iw_neg_log_likelihood": float(np.mean(np.concatenate(iw_bound))), "iw_samples": iw}
    return result
