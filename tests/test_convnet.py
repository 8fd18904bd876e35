"""Tests for the convolutional modules ConvNet and LeNet5."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from nnestimators.modules.convnet import ConvNet, LeNet5


def layers_of(net, kind):
    return [layer for layer in net.modules() if isinstance(layer, kind)]


def n_parameters(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("cls", [ConvNet, LeNet5])
@pytest.mark.parametrize(
    "input_shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 8, 8), (2, 5, 7)]
)
@pytest.mark.parametrize("n_outputs", [1, 10])
def test_output_shape(cls, input_shape, n_outputs):
    torch.manual_seed(0)
    net = cls(input_shape, n_outputs)
    out = net(torch.rand(4, *input_shape))
    assert out.shape == (4, n_outputs)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_one_pixel_images_and_deep_stacks():
    net = ConvNet((1, 1, 1), 3, batch_norm=False)
    assert net(torch.rand(2, 1, 1, 1)).shape == (2, 3)
    # Four blocks on 8x8: 8 -> 4 -> 2 -> 1, and the fourth block does not pool.
    net = ConvNet((1, 8, 8), 10, channels=(4, 8, 8, 16))
    assert net.output_shape_ == (16, 1, 1)
    assert len(layers_of(net, nn.MaxPool2d)) == 3
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 10)


def test_only_axes_with_room_are_pooled():
    net = ConvNet((1, 1, 16), 2, channels=(4, 4))
    assert net.output_shape_ == (4, 1, 4)
    assert net(torch.rand(3, 1, 1, 16)).shape == (3, 2)


def test_default_digits_layout():
    net = ConvNet((1, 8, 8), 10)
    assert net.output_shape_ == (64, 2, 2)
    assert [c.out_channels for c in layers_of(net, nn.Conv2d)] == [32, 64]
    assert [lin.out_features for lin in layers_of(net, nn.Linear)] == [128, 10]


def test_three_dim_input_gets_a_channel_axis():
    torch.manual_seed(0)
    net = ConvNet((1, 8, 8), 4).eval()
    images = torch.rand(5, 8, 8)
    torch.testing.assert_close(net(images), net(images.unsqueeze(1)))


def test_pair_input_shape_means_one_channel():
    net = ConvNet((8, 8), 3)
    assert net.input_shape == (1, 8, 8)
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 3)


def test_wrong_input_shape_is_a_clear_error():
    net = ConvNet((3, 8, 8), 2)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(n, 3, 8, 8\)"):
        net(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="expects inputs of shape"):
        net(torch.rand(2, 8, 8))  # no channel axis with 3 channels


@pytest.mark.parametrize("dtype", [torch.float64, torch.uint8, torch.int64])
def test_inputs_are_cast_to_the_weights_dtype(dtype):
    torch.manual_seed(0)
    net = ConvNet((1, 8, 8), 3).eval()
    images = torch.randint(0, 16, (4, 1, 8, 8))
    out = net(images.to(dtype))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, net(images.float()))


def test_channels_set_the_conv_blocks():
    net = ConvNet((1, 16, 16), 2, channels=(8, 16, 24))
    convs = layers_of(net, nn.Conv2d)
    assert [c.in_channels for c in convs] == [1, 8, 16]
    assert [c.out_channels for c in convs] == [8, 16, 24]
    assert net.output_shape_ == (24, 2, 2)
    assert ConvNet((1, 8, 8), 2, channels=16).channels == (16,)


def test_batch_norm_switch():
    with_bn = ConvNet((1, 8, 8), 2, batch_norm=True)
    without = ConvNet((1, 8, 8), 2, batch_norm=False)
    assert len(layers_of(with_bn, nn.BatchNorm2d)) == 2
    assert layers_of(without, nn.BatchNorm2d) == []
    # Batch norm makes the convolution bias redundant.
    assert all(c.bias is None for c in layers_of(with_bn, nn.Conv2d))
    assert all(c.bias is not None for c in layers_of(without, nn.Conv2d))


def test_dropout_layers():
    assert layers_of(ConvNet((1, 8, 8), 2, dropout=0.0), nn.Dropout) == []
    drops = layers_of(
        ConvNet((1, 8, 8), 2, dropout=0.5, dense_units=(32, 16)), nn.Dropout
    )
    assert [d.p for d in drops] == [0.5, 0.5]
    # Without hidden dense layers the flattened features get the dropout.
    drops = layers_of(ConvNet((1, 8, 8), 2, dropout=0.3, dense_units=()), nn.Dropout)
    assert [d.p for d in drops] == [0.3]


def test_dropout_is_active_in_training_only():
    torch.manual_seed(0)
    net = ConvNet((1, 8, 8), 3, dropout=0.5)
    images = torch.rand(8, 1, 8, 8)
    net.eval()
    torch.testing.assert_close(net(images), net(images))
    net.train()
    assert not torch.allclose(net(images), net(images))


@pytest.mark.parametrize(
    ("pooling", "layer", "spatial"),
    [
        ("max", nn.MaxPool2d, (2, 2)),
        ("avg", nn.AvgPool2d, (2, 2)),
        (None, None, (8, 8)),
    ],
)
def test_pooling_kinds(pooling, layer, spatial):
    net = ConvNet((1, 8, 8), 2, pooling=pooling)
    pools = layers_of(net, (nn.MaxPool2d, nn.AvgPool2d))
    assert all(isinstance(p, layer) for p in pools)
    assert len(pools) == (0 if pooling is None else 2)
    assert net.output_shape_[1:] == spatial
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 2)


def test_pooling_name_is_case_insensitive():
    assert ConvNet((1, 8, 8), 2, pooling="MAX").pooling == "max"


def test_dense_units_set_the_head():
    net = ConvNet((1, 8, 8), 5, dense_units=(64, 32))
    assert [lin.out_features for lin in layers_of(net, nn.Linear)] == [64, 32, 5]
    net = ConvNet((1, 8, 8), 5, dense_units=())
    (linear,) = layers_of(net, nn.Linear)
    assert (linear.in_features, linear.out_features) == (64 * 2 * 2, 5)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_kernel_size_changes_weights_and_keeps_size():
    small = ConvNet((1, 8, 8), 2, kernel_size=3)
    large = ConvNet((1, 8, 8), 2, kernel_size=5)
    assert layers_of(large, nn.Conv2d)[0].weight.shape[-2:] == (5, 5)
    assert n_parameters(large) > n_parameters(small)
    assert large.output_shape_ == small.output_shape_
    rect = ConvNet((1, 8, 8), 2, kernel_size=(3, 5), batch_norm=False)
    assert layers_of(rect, nn.Conv2d)[0].weight.shape[-2:] == (3, 5)
    # Even kernels keep the size too (asymmetric "same" padding).
    assert ConvNet((1, 8, 8), 2, kernel_size=4)(torch.rand(2, 1, 8, 8)).shape == (2, 2)


@pytest.mark.parametrize(
    ("activation", "layer"),
    [
        ("relu", nn.ReLU),
        ("tanh", nn.Tanh),
        ("gelu", nn.GELU),
        ("leaky_relu", nn.LeakyReLU),
        ("elu", nn.ELU),
        ("silu", nn.SiLU),
        (nn.Hardtanh, nn.Hardtanh),
    ],
)
def test_activation(activation, layer):
    net = ConvNet((1, 8, 8), 2, activation=activation)
    # One per conv block and one per hidden dense layer, each a fresh module.
    acts = layers_of(net, layer)
    assert len(acts) == 3
    assert len({id(a) for a in acts}) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_shape": (0, 8, 8)}, "input_shape"),
        ({"input_shape": (8,)}, "input_shape"),
        ({"input_shape": (1, 2, 3, 4)}, "input_shape"),
        ({"input_shape": (1, 8.0, 8)}, "input_shape"),
        ({"input_shape": "abc"}, "input_shape"),
        ({"n_outputs": 0}, "n_outputs"),
        ({"n_outputs": 2.5}, "n_outputs"),
        ({"n_outputs": True}, "n_outputs"),
        ({"channels": ()}, "channels"),
        ({"channels": (32, -1)}, "channels"),
        ({"channels": (0,)}, "channels"),
        ({"channels": 1.5}, "channels"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": "0.2"}, "dropout"),
        ({"pooling": "median"}, "pooling"),
        ({"pooling": ["max"]}, "pooling"),
        ({"dense_units": (0,)}, "dense_units"),
        ({"dense_units": (16, -3)}, "dense_units"),
        ({"activation": "swish2"}, "activation"),
        ({"activation": nn.ReLU()}, "activation"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    params = {"input_shape": (1, 8, 8), "n_outputs": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        ConvNet(**params)


def test_numpy_integers_are_accepted():
    net = ConvNet(tuple(np.array([1, 8, 8])), np.int64(3), channels=np.array([4, 8]))
    assert net.input_shape == (1, 8, 8)
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 3)


def test_every_parameter_gets_a_gradient():
    net = ConvNet((3, 12, 12), 4)
    net(torch.rand(6, 3, 12, 12)).sum().backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters()
    )


def test_pickle_round_trip_keeps_outputs():
    torch.manual_seed(0)
    net = ConvNet((1, 8, 8), 3).eval()
    images = torch.rand(4, 1, 8, 8)
    clone = pickle.loads(pickle.dumps(net))
    torch.testing.assert_close(clone(images), net(images))


def test_lenet5_layout():
    net = LeNet5((1, 28, 28), 10)
    convs = layers_of(net, nn.Conv2d)
    assert [c.out_channels for c in convs] == [6, 16]
    assert all(c.kernel_size == (5, 5) for c in convs)
    assert [lin.out_features for lin in layers_of(net, nn.Linear)] == [120, 84, 10]
    assert layers_of(net, nn.BatchNorm2d) == []
    assert layers_of(net, nn.Dropout) == []
    assert net.output_shape_ == (16, 7, 7)
    assert n_parameters(LeNet5((1, 8, 8), 10)) < n_parameters(ConvNet((1, 8, 8), 10))


def test_lenet5_rejects_bad_shapes():
    with pytest.raises(ValueError, match="n_outputs"):
        LeNet5((1, 8, 8), 0)
    with pytest.raises(ValueError, match="input_shape"):
        LeNet5((1, -8, 8), 10)


def _digits_split(n_train, seed):
    X, y = load_digits(return_X_y=True)
    X = torch.as_tensor(X / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.as_tensor(y)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


def _fit(net, X, y, epochs, batch_size=32):
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            loss = nn.functional.cross_entropy(net(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


@pytest.fixture
def one_thread():
    # A single thread avoids OpenMP stalls when other processes share the CPU.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


# Chance is 0.1. Seeds 0-3 give about 0.98 for ConvNet and 0.83-0.87 for the
# slower-learning LeNet5 with this budget.
@pytest.mark.parametrize(("cls", "min_accuracy"), [(ConvNet, 0.93), (LeNet5, 0.7)])
@pytest.mark.slow
def test_learns_digits(cls, min_accuracy, one_thread):
    torch.manual_seed(0)
    X_train, y_train, X_test, y_test = _digits_split(n_train=600, seed=0)
    net = _fit(cls((1, 8, 8), 10), X_train, y_train, epochs=10)
    with torch.no_grad():
        accuracy = (net(X_test).argmax(dim=1) == y_test).float().mean().item()
    assert accuracy > min_accuracy
