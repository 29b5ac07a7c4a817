"""The VAE as a probabilistic model: likelihoods, priors, the model kinds (and how to add one), the
PyMC model with its amortized q(z|x), and a model instance with compiled encode / decode. PyMC is
imported by `cvae.model.pymc_model` and, lazily, inside the functions that declare random variables."""
