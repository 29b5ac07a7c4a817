import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from cvae.nn.layers import Conv2D, Conv2DTranspose, Dense, Flatten, Reshape, conv2d, conv2d_transpose
from tests.support import reference

CASES = [
    (7, 3, 1, "same"),
    (8, 2, 2, "same"),
    (7, 3, 2, "same"),
    (6, 2, 2, "valid"),
    (7, 3, 1, "valid"),
    (6, 2, 1, "same"),
    (5, 1, 1, "same"),
]


def _fn(inputs, output):
    return pytensor.function(inputs, output)


CHANNELS = [(3, 4), (4, 1)]  # (4, 1): fewer outputs than inputs, the stride-1 "shift" path


@pytest.mark.parametrize("c_in,c_out", CHANNELS)
@pytest.mark.parametrize("size,k,stride,padding", CASES)
def test_conv2d_matches_numpy_loop(size, k, stride, padding, c_in, c_out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, size, size, c_in)).astype("float32")
    W = rng.normal(size=(k, k, c_in, c_out)).astype("float32")
    xv = pt.tensor4(dtype="float32")
    got = _fn([xv], conv2d(xv, pytensor.shared(W), (size, size), stride, padding))(x)
    np.testing.assert_allclose(got, reference.conv2d(x, W, stride, padding), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c_in,c_out", CHANNELS)
@pytest.mark.parametrize("size,k,stride,padding", CASES)
def test_conv2d_transpose_is_exact_adjoint(size, k, stride, padding, c_in, c_out):
    """<conv(x), y> == <x, convT(y)> with the same kernel, and convT matches a scatter loop."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, size, size, c_in))
    W = rng.normal(size=(k, k, c_in, c_out)).astype("float32")
    conv_out = reference.conv2d(x, W, stride, padding)
    y = rng.normal(size=conv_out.shape).astype("float32")
    yv = pt.tensor4(dtype="float32")
    xt = _fn([yv], conv2d_transpose(yv, pytensor.shared(W), (size, size), stride, padding))(y)
    assert xt.shape == x.shape
    assert np.isclose(np.sum(conv_out * y), np.sum(x * xt), rtol=1e-4)
    np.testing.assert_allclose(
        xt, reference.conv2d_transpose(y, W, (size, size), stride, padding), rtol=1e-4, atol=1e-4
    )


def _layers(rng):
    return [
        Dense((5,), 3, activation="tanh", rng=rng, name="t.dense"),
        Conv2D((6, 6, 2), 3, 3, stride=2, activation="relu", rng=rng, name="t.conv"),
        Conv2D((5, 5, 2), 3, 2, padding="valid", activation="sigmoid", rng=rng, name="t.convv"),
        Conv2DTranspose((3, 3, 2), 4, 3, stride=2, activation="softplus", rng=rng, name="t.deconv"),
        Conv2DTranspose((3, 3, 2), 4, 2, stride=2, padding="valid", rng=rng, name="t.deconvv"),
        Conv2D((6, 6, 4), 1, 2, rng=rng, name="t.convout"),  # many channels -> 1: the shift path
        Conv2DTranspose((5, 5, 1), 3, 3, rng=rng, name="t.deconvs"),  # and its transpose
    ]


@pytest.mark.parametrize("index", range(7))
def test_layer_values_shapes_and_names(index):
    layer = _layers(np.random.default_rng(2))[index]
    rng = np.random.default_rng(3)
    layer.b.set_value(rng.normal(size=layer.b.get_value().shape).astype("float32"))
    x = rng.normal(size=(2, *layer.input_shape)).astype("float32")
    xv = pt.tensor(dtype="float32", shape=(None,) * x.ndim)
    got = _fn([xv], layer(xv))(x)
    assert got.shape == (2, *layer.output_shape())
    np.testing.assert_allclose(got, reference.layer_forward(layer, x), rtol=1e-4, atol=1e-5)
    assert [p.name for p in layer.params] == [f"{layer.name}.W", f"{layer.name}.b"]
    assert all(p.get_value().dtype == np.float32 for p in layer.params)
    assert got.dtype == np.float32


def test_transpose_output_shapes():
    rng = np.random.default_rng(0)
    valid = Conv2DTranspose((14, 14, 64), 64, 2, stride=2, padding="valid", rng=rng, name="a")
    assert valid.output_shape() == (28, 28, 64)
    assert Conv2DTranspose((7, 7, 8), 4, 3, stride=2, rng=rng, name="b").output_shape() == (14, 14, 4)
    assert Conv2D((28, 28, 1), 8, 3, stride=2, rng=rng, name="c").output_shape() == (14, 14, 8)


@pytest.mark.parametrize("index", range(7))
def test_gradients_match_finite_differences(index):
    """PyTensor's gradients (input and kernel) vs central differences of the float64 NumPy loop."""
    layer = _layers(np.random.default_rng(4))[index]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, *layer.input_shape)).astype("float32")
    weights = rng.normal(size=(2, *layer.output_shape()))
    xv = pt.tensor(dtype="float32", shape=(None,) * x.ndim)
    loss = (layer(xv) * weights.astype("float32")).sum()
    grad_x, grad_W = _fn([xv], pytensor.grad(loss, [xv, layer.W]))(x)
    W0 = layer.W.get_value().astype("float64")

    def numpy_loss(xx, WW):
        return float(np.sum(reference.layer_forward(layer, xx.astype("float64"), WW) * weights))

    h = 1e-4
    for grad, which in ((grad_x, "x"), (grad_W, "W")):
        v = rng.normal(size=grad.shape)
        plus = (x + h * v, W0) if which == "x" else (x, W0 + h * v)
        minus = (x - h * v, W0) if which == "x" else (x, W0 - h * v)
        numeric = (numpy_loss(*plus) - numpy_loss(*minus)) / (2 * h)
        assert np.isclose(np.sum(grad * v), numeric, rtol=2e-3, atol=2e-3), which


def test_bad_shapes_are_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="flat input"):
        Dense((4, 4), 3, rng=rng, name="d")
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        Conv2D((28, 28), 3, 3, rng=rng, name="c")
    with pytest.raises(ValueError, match="padding"):
        Conv2D((8, 8, 1), 3, 3, padding="full", rng=rng, name="c")
    with pytest.raises(ValueError, match="cannot reshape"):
        Reshape((10,), (3, 3), name="r")
    with pytest.raises(ValueError, match="activation"):
        Dense((3,), 2, activation="gelu", rng=rng, name="d")


def test_flatten_and_reshape_round_trip():
    x = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    xv = pt.tensor4(dtype="float32")
    flat = Flatten((3, 4, 5), name="f")
    back = Reshape((60,), (3, 4, 5), name="r")
    np.testing.assert_array_equal(_fn([xv], back(flat(xv)))(x), x)
