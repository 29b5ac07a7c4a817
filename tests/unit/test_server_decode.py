"""The server decodes without compiling (the exported decoder in NumPy) and reads stored codes: both must
give what the compiled PyTensor model gives."""

import numpy as np
import pytest

import cvae
from cvae.config import TrainConfig
from cvae.explore.code_cache import codes_key, encoded_codes, shipped_codes_path, write_codes
from cvae.explore.explorer import Explorer
from cvae.model.decoder_numpy import NumpyDecoder
from cvae.model.vae import VAE
from cvae.settings import ROOT

CASES = [
    {"arch": "keras-example"},
    {"arch": "pymc3-example"},
    {"arch": "keras-example", "latent_dim": 8},
    {"arch": "keras-example", "conditional": True},
    {"arch": "keras-example", "batch_norm": True},
    {"arch": "keras-example", "likelihood": "continuous-bernoulli"},
    {"arch": "keras-example", "likelihood": "normal", "learn_sigma": True},
]


@pytest.mark.parametrize("fields", CASES, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
def test_numpy_decode_equals_the_compiled_decoder(fields):
    vae = VAE(TrainConfig(**fields, seed=3))
    explorer = Explorer(vae)
    assert explorer._numpy_decoder is not None  # every built-in decoder has a NumPy route
    z = np.random.default_rng(0).normal(0, 2, (64, vae.latent_dim)).astype(np.float32)
    labels = np.arange(64) % 10 if vae.conditional else None
    np.testing.assert_allclose(explorer._logits(z, labels), vae.decode_logits(z, labels), atol=2e-4, rtol=1e-5)
    np.testing.assert_allclose(explorer.decode(z, labels), vae.decode(z, labels), atol=1e-5)
    if vae.conditional:  # without labels: the mean over the ten labels, as the model defines it
        np.testing.assert_allclose(explorer.decode(z[:4]), vae.decode(z[:4]), atol=1e-5)
    grid = explorer.decode_grid(5, label=3 if vae.conditional else None)
    assert grid.shape == (140, 140)
    np.testing.assert_allclose(grid, vae.decode_grid(5, label=3 if vae.conditional else None), atol=1e-5)


def test_the_shipped_model_decodes_the_same_through_numpy():
    checkpoint = cvae.load_checkpoint(ROOT / "assets" / "pretrained")
    z = np.random.default_rng(1).normal(0, 3, (200, 2)).astype(np.float32)
    np.testing.assert_allclose(Explorer(checkpoint.vae).decode(z), checkpoint.vae.decode(z), atol=1e-5)


def test_a_decoder_the_export_cannot_describe_is_compiled(monkeypatch):
    from cvae.model import decoder_export

    vae = VAE(TrainConfig())
    monkeypatch.delitem(decoder_export._OUTPUTS, "bernoulli")  # as for a likelihood registered by a user
    explorer = Explorer(vae)
    assert explorer._numpy_decoder is None
    z = np.zeros((2, 2), np.float32)
    np.testing.assert_array_equal(explorer.decode(z), vae.decode(z))


def test_numpy_decoder_refuses_an_unknown_activation(monkeypatch):
    from cvae.model import decoder_export
    from cvae.model.decoder_export import DecoderExportError

    real = decoder_export.export_decoder

    def with_swish(vae):
        spec, weights = real(vae)
        spec["layers"][0]["activation"] = "swish"
        return spec, weights

    monkeypatch.setattr("cvae.model.decoder_numpy.export_decoder", with_swish)
    with pytest.raises(DecoderExportError, match="swish"):
        NumpyDecoder(VAE(TrainConfig()))


# ---- stored codes -------------------------------------------------------------------------------


@pytest.fixture
def data():
    return cvae.load_dataset("mnist-5k", "test")


def test_codes_are_encoded_once_then_read_back(tmp_path, data, monkeypatch):
    vae = VAE(TrainConfig(seed=5))
    first = encoded_codes(vae, data.images, data.labels, cache_dir=tmp_path)
    mu, sd = vae.encode(data.images)
    np.testing.assert_array_equal(first.mu, mu)
    np.testing.assert_array_equal(first.sd, sd)
    assert len(list(tmp_path.glob("codes-*.npz"))) == 1

    def no_encoding(*args):
        raise AssertionError("encoded again")

    monkeypatch.setattr(vae, "encode", no_encoding)
    again = encoded_codes(vae, data.images, data.labels, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.mu, mu)


def test_other_weights_or_other_images_miss_the_stored_codes(tmp_path, data):
    vae = VAE(TrainConfig(seed=5))
    key = codes_key(vae, data.images, data.labels)
    assert codes_key(VAE(TrainConfig(seed=6)), data.images, data.labels) != key
    assert codes_key(vae, data.images[:-1], data.labels[:-1]) != key
    assert codes_key(vae, data.images, np.roll(data.labels, 1)) != key
    encoded_codes(vae, data.images, data.labels, cache_dir=tmp_path)
    other = VAE(TrainConfig(seed=6))
    codes = encoded_codes(other, data.images, data.labels, cache_dir=tmp_path)
    np.testing.assert_array_equal(codes.mu, other.encode(data.images)[0])


def test_a_corrupt_or_forged_codes_file_is_encoded_again(tmp_path, data):
    vae = VAE(TrainConfig(seed=5))
    beside = tmp_path / "run" / "codes-test.npz"
    beside.parent.mkdir()
    beside.write_bytes(b"not a zip file")
    codes = encoded_codes(vae, data.images, data.labels, beside=beside, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(codes.mu, vae.encode(data.images)[0])
    key = codes_key(vae, data.images, data.labels)  # the right key, but codes of the wrong shape
    np.savez(beside, key=np.array(key), mu=np.zeros((3, 2), np.float32), sd=np.ones((3, 2), np.float32))
    codes = encoded_codes(vae, data.images, data.labels, beside=beside, cache_dir=tmp_path / "cache")
    assert codes.mu.shape == (len(data.images), 2)


def test_an_unwritable_cache_still_returns_the_codes(tmp_path, data):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    vae = VAE(TrainConfig(seed=5))
    with pytest.warns(RuntimeWarning, match="could not cache"):
        codes = encoded_codes(vae, data.images, data.labels, cache_dir=blocked / "codes")
    assert codes.mu.shape == (len(data.images), 2)


def test_the_shipped_model_ships_its_current_test_codes(data, monkeypatch):
    """assets/pretrained/codes-test.npz must be of the shipped weights: retrain, then `write_codes` again."""
    checkpoint_dir = ROOT / "assets" / "pretrained"
    checkpoint = cvae.load_checkpoint(checkpoint_dir)
    vae = checkpoint.vae
    monkeypatch.setattr(vae, "encode", lambda *a: pytest.fail("the shipped codes are stale: run write_codes"))
    codes = encoded_codes(vae, data.images, data.labels, beside=shipped_codes_path(checkpoint_dir))
    monkeypatch.undo()
    mu, sd = vae.encode(data.images)
    # to a few float32 ulps: the C loops' vectors are as wide as the CPU's (cvae/nn/lanes.h), so an AVX2 host
    # sums in another order than the AVX-512 host that wrote the codes (measured: 7 of 2,000 off by up to
    # 2.9e-6, relative 3.1e-7); codes of other weights are not within a few ulps
    np.testing.assert_allclose(codes.mu, mu, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(codes.sd, sd, rtol=1e-6, atol=1e-6)


def test_write_codes_makes_a_file_encoded_codes_reads(tmp_path, data):
    vae = VAE(TrainConfig(seed=2))
    write_codes(tmp_path / "codes-test.npz", vae, data.images, data.labels)
    codes = encoded_codes(vae, data.images, data.labels, beside=tmp_path / "codes-test.npz", cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()  # read from beside the checkpoint, nothing cached
    np.testing.assert_array_equal(codes.mu, vae.encode(data.images)[0])
