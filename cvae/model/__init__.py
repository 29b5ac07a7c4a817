"""The VAE as a probabilistic model: likelihoods, the PyMC model with its amortized q(z|x), and a
model instance with compiled encode / decode. Only `cvae.model.pymc_model` imports PyMC."""
