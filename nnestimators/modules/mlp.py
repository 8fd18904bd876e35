"""A multi-layer perceptron, the default module of every estimator."""

import numbers

from torch import nn

from .activations import make_activation


class MLP(nn.Module):
    """Fully connected network for tabular data.

    The estimators pass ``n_features`` and ``n_outputs`` inferred from the
    data, so only the architecture is left to the user.

    Parameters
    ----------
    n_features : int
        Number of input features. Inputs with more than one axis per sample
        (images) are flattened, so this is the number of values per sample.
    n_outputs : int
        Number of outputs: classes, 1 for binary classification, or the
        number of regression targets.
    hidden_units : tuple of int, default=(64,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : str or type, default="relu"
        Hidden activation: a name (``"relu"``, ``"tanh"``, ``"gelu"``, ...)
        or a ``torch.nn.Module`` class.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add ``BatchNorm1d`` before each hidden activation.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.modules import MLP
    >>> net = MLP(n_features=4, n_outputs=3, hidden_units=(16, 8))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_units=(64,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        _check_positive_int("n_features", n_features)
        _check_positive_int("n_outputs", n_outputs)
        if isinstance(hidden_units, numbers.Integral):
            hidden_units = (hidden_units,)
        if isinstance(hidden_units, str | bytes) or not hasattr(
            hidden_units, "__iter__"
        ):
            raise ValueError(
                "hidden_units must be an int or a sequence of ints such as "
                f"(64, 32), got {hidden_units!r}."
            )
        for width in hidden_units:
            _check_positive_int("hidden_units", width)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")

        layers = []
        width_in = n_features
        for width in hidden_units:
            layers.append(nn.Linear(width_in, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(make_activation(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Linear(width_in, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        """Return the raw outputs (logits or values), shape (n, n_outputs)."""
        if X.dim() > 2:  # images and other n-d samples are flattened
            X = X.flatten(1)
        return self.layers(X)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
