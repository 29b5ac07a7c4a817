"""A model of your own: a VAE whose prior is a Laplace distribution instead of N(0, I).

Register it and it trains, saves, loads, evaluates and explores like the built-in models:

    python3 examples/laplace_vae.py train --model laplace-vae --epochs 5 --out runs/laplace
    python3 examples/laplace_vae.py evaluate runs/laplace --iw 50

(this file registers the model, then runs the project's command line). The prior has unit variance
like N(0, I) but heavier tails and a sharp peak at 0, which favours sparse codes. Only the builder
is written here: training uses PyMC's KLqp on this model; the ELBO, the importance-weighted bound
and prior samples are read off the PyMC model itself.
"""

import pymc as pm

from cvae.model.kinds import MODELS, AmortizedModel, ModelKind


def laplace_vae(parts, batch):
    """p(z) = prod_d Laplace(z_d; 0, 1/sqrt 2), p(x|z) the configured likelihood, q(z|x) the encoder's."""
    mu, rho = parts.encode(batch)  # q(z|x) = N(mu, softplus(rho)^2), amortized by the encoder
    with pm.Model() as model:
        z = pm.Laplace("z", mu=0.0, b=2**-0.5, shape=(batch.size, parts.latent_dim))
        parts.observe(z, batch)  # x ~ the likelihood of --likelihood, through the decoder
    return AmortizedModel(model, z, mu, rho)


if "laplace-vae" not in MODELS:  # importing this file twice registers it once
    MODELS.register("laplace-vae", ModelKind(laplace_vae, "a VAE with a Laplace prior", uses_prior=False))

if __name__ == "__main__":
    from cvae.cli import main

    raise SystemExit(main())
