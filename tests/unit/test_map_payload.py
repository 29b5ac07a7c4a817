"""The latent map's payload: what build_payload writes is what the browser's reader gets back."""

import json

import numpy as np
import pytest

from cvae.config import TrainConfig
from cvae.model.decoder_export import export_decoder
from cvae.model.vae import VAE
from cvae.viz.map_payload import FORMAT, MapData, build_payload, read_payload


@pytest.fixture(scope="module")
def decoder():
    return export_decoder(VAE(TrainConfig(latent_dim=3, seed=1)))


def _data(n=50, latent=3, **kw):
    rng = np.random.default_rng(0)
    base = dict(
        coords=rng.normal(size=(n, 2)).astype(np.float32),
        labels=rng.integers(0, 10, n),
        class_names=tuple(str(i) for i in range(10)),
        x_range=(-3.0, 3.0),
        y_range=(-2.5, 3.5),
        axis_titles=("z1", "z2"),
        frame="model-a",
        colourings={"kl": ("KL (nats)", rng.random(n))},
        codes=rng.normal(size=(n, latent)).astype(np.float32),
    )
    return MapData(**{**base, **kw})


def test_round_trip_of_every_array(decoder):
    data = _data()
    density = (np.linspace(-3, 3, 7), np.linspace(-2.5, 3.5, 5), np.random.default_rng(2).random((5, 7)))
    grid = {"kind": "grid", "u_range": [-3, 3], "v_range": [-2.5, 3.5], "n": 4, "codes": np.ones((16, 3))}
    payload = build_payload("latent_map", data, decoder, grid_lift=grid, density=density)
    header, arrays = read_payload(payload)
    assert header["format"] == FORMAT and header["target"] == "latent_map" and header["n"] == 50
    np.testing.assert_array_equal(arrays["coords"].reshape(-1, 2), data.coords)
    np.testing.assert_array_equal(arrays["labels"], data.labels)
    np.testing.assert_allclose(arrays["colour_kl"], data.colourings["kl"][1], rtol=1e-6)
    np.testing.assert_array_equal(arrays["codes"].reshape(-1, 3), data.codes)
    assert arrays["weights"].tobytes() == decoder[1]
    assert header["decoder"] == decoder[0]
    assert header["lift"] == {"kind": "grid", "u_range": [-3, 3], "v_range": [-2.5, 3.5], "n": 4}
    np.testing.assert_array_equal(arrays["lift_codes"], np.ones(48))
    np.testing.assert_allclose(arrays["density"].reshape(5, 7), np.log10(density[2]), rtol=1e-5)
    assert header["colourings"] == {"label": None, "kl": {"title": "KL (nats)", "array": "colour_kl"}}
    for ref in header["arrays"].values():
        assert ref["offset"] % 8 == 0


def test_the_header_is_json_and_the_arrays_are_aligned(decoder):
    payload = build_payload("m", _data(), decoder)
    assert payload[:4] == b"CVLM"
    length = int.from_bytes(payload[4:8], "little")
    json.loads(payload[8 : 8 + length])
    assert (8 + length + (-(8 + length) % 8)) % 8 == 0


def test_the_id_follows_the_content(decoder):
    first = read_payload(build_payload("m", _data(), decoder))[0]["id"]
    assert read_payload(build_payload("m", _data(), decoder))[0]["id"] == first
    assert read_payload(build_payload("m", _data(frame="model-b"), decoder))[0]["id"] != first
    coords = _data().coords.copy()
    coords[0, 0] += 1
    assert read_payload(build_payload("m", _data(coords=coords), decoder))[0]["id"] != first


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels": np.full(50, 10)}, "class_names"),
        ({"coords": np.zeros((50, 3), np.float32)}, "coords"),
        ({"colourings": {"kl": ("KL", np.full(50, np.nan))}}, "not finite"),
    ],
)
def test_bad_data_is_refused(decoder, change, message):
    with pytest.raises(ValueError, match=message):
        build_payload("m", _data(**change), decoder)


def test_the_classroom_payload_is_a_few_hundred_kb(decoder):
    """10,000 digits and the keras-example decoder: sent once per model and projection."""
    n = 10_000
    data = _data(n=n, codes=None, colourings={"spread": ("sd", np.ones(n)), "kl": ("KL", np.ones(n))})
    spec, weights = export_decoder(VAE(TrainConfig(latent_dim=2)))
    size = len(build_payload("m", data, (spec, weights)))
    assert size < len(weights) + n * (8 + 1 + 8) + 20_000


def test_the_sliders_reach_every_code_and_the_home_view():
    from cvae.viz.map_payload import slider_range

    near_prior = np.random.default_rng(0).standard_normal((500, 2))
    assert slider_range(np.clip(near_prior, -3, 3)) == (-4.0, 4.0)  # N(0, I)'s codes: the usual +-4
    spread = np.array([[-3.3, -18.97], [12.89, 4.25], [0.0, 0.0]])  # a learned mixture's, as shipped
    assert slider_range(spread) == (-19.0, 13.0)
    assert slider_range(spread, (-5.5, 14.2), (-20.5, 6.0)) == (-21.0, 15.0)  # the home view beyond the codes
