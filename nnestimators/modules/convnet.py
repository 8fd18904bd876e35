"""Small convolutional networks for image data."""

import numbers

from torch import nn

from .activations import make_activation

_POOLING = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d, None: None}


class ConvNet(nn.Module):
    """Configurable convolutional network for small images.

    Each convolutional block is ``Conv2d`` (size-preserving padding), an
    optional ``BatchNorm2d``, the activation and a 2x2 pooling. An axis that
    is already down to one pixel is not pooled any further, so even 8x8
    images go through several blocks. The feature maps are then flattened
    and passed through a dense head ending in a ``Linear`` layer with
    ``n_outputs`` units. The estimators pass ``input_shape`` and
    ``n_outputs`` inferred from the data, so only the architecture is left
    to the user.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample, ``(C, H, W)``. A pair ``(H, W)`` means one
        channel.
    n_outputs : int
        Number of outputs: classes, 1 for binary classification, or the
        number of regression targets.
    channels : tuple of int, default=(32, 64)
        Output channels of each convolutional block; its length is the
        number of blocks.
    kernel_size : int or tuple of int, default=3
        Height and width of the convolution kernels.
    batch_norm : bool, default=True
        Whether to add ``BatchNorm2d`` after each convolution (which then
        has no bias, since the normalisation would cancel it).
    dropout : float, default=0.25
        Dropout probability after each hidden dense layer, or on the
        flattened features when ``dense_units`` is empty; 0 adds no dropout.
    pooling : {"max", "avg", None}, default="max"
        Pooling at the end of each block; None keeps the full resolution.
    dense_units : tuple of int, default=(128,)
        Width of each hidden dense layer; ``()`` puts the output layer
        right after the flattened features.
    activation : str or type, default="relu"
        Activation after each convolution and hidden dense layer: a name
        (``"relu"``, ``"tanh"``, ``"gelu"``, ``"leaky_relu"``, ``"elu"``,
        ``"silu"``, ...) or a ``torch.nn.Module`` class taking no arguments.

    Attributes
    ----------
    features : torch.nn.Sequential
        The convolutional blocks.
    head : torch.nn.Sequential
        Flattening, the hidden dense layers and the output layer.
    output_shape_ : tuple of int
        Shape ``(C, H, W)`` of the feature maps entering the head.

    See Also
    --------
    LeNet5 : A cheap fixed architecture.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.modules import ConvNet
    >>> net = ConvNet(input_shape=(1, 8, 8), n_outputs=10)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    >>> net.output_shape_
    (64, 2, 2)
    >>> ConvNet((3, 32, 32), 1, channels=(16, 32, 64), pooling="avg")(
    ...     torch.zeros(2, 3, 32, 32)
    ... ).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        input_shape,
        n_outputs,
        channels=(32, 64),
        kernel_size=3,
        batch_norm=True,
        dropout=0.25,
        pooling="max",
        dense_units=(128,),
        activation="relu",
    ):
        super().__init__()
        self.input_shape = _check_input_shape(input_shape)
        self.n_outputs = _check_positive_int("n_outputs", n_outputs)
        self.channels = _check_widths("channels", channels, allow_empty=False)
        self.kernel_size = _check_kernel_size(kernel_size)
        self.batch_norm = bool(batch_norm)
        self.dropout = _check_dropout(dropout)
        self.pooling = _check_pooling(pooling)
        self.dense_units = _check_widths("dense_units", dense_units, allow_empty=True)
        self.activation = activation
        make_activation(activation)  # fail now, with a clear message

        self.features, self.output_shape_ = self._build_features()
        self.head = self._build_head()

    def _build_features(self):
        in_channels, height, width = self.input_shape
        layers = []
        for out_channels in self.channels:
            layers.append(
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    self.kernel_size,
                    padding="same",
                    bias=not self.batch_norm,
                )
            )
            if self.batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(make_activation(self.activation))
            pool = _pool_size(height, width)
            if self.pooling is not None and pool != (1, 1):
                layers.append(_POOLING[self.pooling](kernel_size=pool))
                height, width = height // pool[0], width // pool[1]
            in_channels = out_channels
        return nn.Sequential(*layers), (in_channels, height, width)

    def _build_head(self):
        n_features = _product(self.output_shape_)
        layers = [nn.Flatten()]
        if self.dropout and not self.dense_units:
            layers.append(nn.Dropout(self.dropout))
        for units in self.dense_units:
            layers += [nn.Linear(n_features, units), make_activation(self.activation)]
            if self.dropout:
                layers.append(nn.Dropout(self.dropout))
            n_features = units
        layers.append(nn.Linear(n_features, self.n_outputs))
        return nn.Sequential(*layers)

    def forward(self, X):
        """Return the raw outputs (logits or values), shape (n, n_outputs).

        Parameters
        ----------
        X : torch.Tensor
            Images of shape ``(n, C, H, W)``; ``(n, H, W)`` is accepted for
            one-channel inputs. Inputs whose dtype differs from the weights'
            (integers, float64) are cast to it.

        Returns
        -------
        torch.Tensor
            Tensor of shape ``(n, n_outputs)``.
        """
        if X.dim() == 3 and self.input_shape[0] == 1:
            X = X.unsqueeze(1)
        if tuple(X.shape[1:]) != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape "
                f"(n, {', '.join(map(str, self.input_shape))}), "
                f"got {tuple(X.shape)}."
            )
        weight = self.features[0].weight
        if X.dtype != weight.dtype:
            X = X.to(weight.dtype)
        return self.head(self.features(X))


class LeNet5(ConvNet):
    """The classic LeNet-5 layout, adapted to any small image size.

    Two 5x5 convolutions with 6 and 16 channels, each followed by the
    activation and 2x2 pooling, then dense layers of 120 and 84 units. It
    uses the now-usual ReLU and max pooling in place of the original's
    scaled tanh and average subsampling, and its convolutions keep the image
    size, so inputs as small as 8x8 work. It has no batch normalisation and
    no dropout: a cheap baseline, usually a little less accurate than the
    default ``ConvNet``.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample, ``(C, H, W)``. A pair ``(H, W)`` means one
        channel.
    n_outputs : int
        Number of outputs: classes, 1 for binary classification, or the
        number of regression targets.

    See Also
    --------
    ConvNet : The configurable network this preset is built on.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.modules import LeNet5
    >>> net = LeNet5(input_shape=(1, 28, 28), n_outputs=10)
    >>> net(torch.zeros(3, 1, 28, 28)).shape
    torch.Size([3, 10])
    """

    def __init__(self, input_shape, n_outputs):
        super().__init__(
            input_shape,
            n_outputs,
            channels=(6, 16),
            kernel_size=5,
            batch_norm=False,
            dropout=0.0,
            pooling="max",
            dense_units=(120, 84),
            activation="relu",
        )


def _pool_size(height, width):
    # Halve each axis that still has room; a 1-pixel axis stays as it is.
    return (2 if height >= 2 else 1, 2 if width >= 2 else 1)


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_int(name, value):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _as_tuple(name, value):
    if _is_int(value):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(
            f"{name} must be an integer or a sequence of integers, got {value!r}."
        ) from None


def _check_input_shape(input_shape):
    shape = _as_tuple("input_shape", input_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or not all(_is_int(v) and v >= 1 for v in shape):
        raise ValueError(
            "input_shape must be (channels, height, width) with positive "
            f"integers, got {input_shape!r}."
        )
    return tuple(int(v) for v in shape)


def _check_widths(name, widths, allow_empty):
    widths = _as_tuple(name, widths)
    if not widths and not allow_empty:
        raise ValueError(f"{name} needs at least one entry, got {widths!r}.")
    if not all(_is_int(v) and v >= 1 for v in widths):
        raise ValueError(f"{name} must contain positive integers, got {widths!r}.")
    return tuple(int(v) for v in widths)


def _check_kernel_size(kernel_size):
    size = _as_tuple("kernel_size", kernel_size)
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or not all(_is_int(v) and v >= 1 for v in size):
        raise ValueError(
            "kernel_size must be a positive integer or a pair of them, "
            f"got {kernel_size!r}."
        )
    return tuple(int(v) for v in size)


def _check_dropout(dropout):
    if (
        not isinstance(dropout, numbers.Real)
        or isinstance(dropout, bool)
        or not 0.0 <= dropout < 1.0
    ):
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
    return float(dropout)


def _check_pooling(pooling):
    if isinstance(pooling, str):
        pooling = pooling.lower()
    if not (pooling is None or isinstance(pooling, str)) or pooling not in _POOLING:
        raise ValueError(f"pooling must be 'max', 'avg' or None, got {pooling!r}.")
    return pooling
