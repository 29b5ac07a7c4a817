"""Held-out -ELBO (and an importance-weighted bound), in nats per image."""

from __future__ import annotations

import numpy as np

from cvae.model.gaussian import kl_from_standard_normal, normal_logpdf
from cvae.model.vae import VAE

__all__ = ["evaluate", "kl_per_image", "knn_accuracy"]


def kl_per_image(mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """KL(q(z|x) || N(0, I)) in nats for each image's posterior means and sds (N, latent) -> (N,)."""
    return kl_from_standard_normal(np.asarray(mu, np.float64), np.asarray(sd, np.float64))


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


def evaluate(vae: VAE, images: np.ndarray, *, iw: int = 0, seed: int = 0, batch_size: int = 500) -> dict:
    """Mean -ELBO = reconstruction + KL over `images` (one posterior draw each, KL exact).

    With `iw` = K > 0 also the K-sample importance-weighted bound on -log p(x)
    (Burda et al. 2016), which is tighter than -ELBO.
    """
    if iw < 0:
        raise ValueError(f"iw must be >= 0; got {iw}")
    rng = np.random.default_rng(seed)
    recon, kl, iw_bound = [], [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        mu, sd = vae.encode(x)
        z = mu + sd * rng.standard_normal(mu.shape).astype(mu.dtype)
        recon.append(-vae.log_px(x, z).astype(np.float64))
        kl.append(kl_per_image(mu, sd))
        if iw:
            log_w = np.empty((iw, len(x)))
            for k in range(iw):
                zk = mu + sd * rng.standard_normal(mu.shape).astype(mu.dtype)
                log_w[k] = vae.log_px(x, zk) + _log_normal(zk, 0.0, 1.0) - _log_normal(zk, mu, sd)
            peak = log_w.max(axis=0)
            iw_bound.append(-(peak + np.log(np.mean(np.exp(log_w - peak), axis=0))))
    recon_all, kl_all = np.concatenate(recon), np.concatenate(kl)
    result = {
        "neg_elbo": float(np.mean(recon_all + kl_all)),
        "reconstruction": float(np.mean(recon_all)),
        "kl": float(np.mean(kl_all)),
        "n_images": int(len(recon_all)),
    }
    if iw:
        result |= {"iw_neg_log_likelihood": float(np.mean(np.concatenate(iw_bound))), "iw_samples": iw}
    return result
