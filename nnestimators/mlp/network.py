"""MLP's network in torch, stored as scikit-learn stores it, and its initialisation."""

import numpy as np
import torch
from torch import nn

# MLP's hidden activations by its names.
HIDDEN_ACTIVATIONS = {
    "identity": None,
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
}


class MLPNetwork(nn.Module):
    """Fully connected layers in scikit-learn's layout.

    ``coefs[i]`` has shape ``(fan_in, fan_out)`` as MLP's ``coefs_[i]``, so
    the drop-ins' ``coefs_`` and ``intercepts_`` are views of the trained
    parameters. Returns the output layer before MLP's output activation
    (logits, or the log of a Poisson mean).

    Parameters
    ----------
    n_features : int
        Inputs per sample.
    n_outputs : int
        Output units.
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden activation, as MLP names it.
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the parameters; MLP trains in the dtype of X.
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_layer_sizes=(100,),
        activation="relu",
        dtype="float32",
    ):
        super().__init__()
        units = [n_features, *hidden_layer_sizes, n_outputs]
        torch_dtype = getattr(torch, dtype)
        self.coefs = nn.ParameterList(
            nn.Parameter(torch.zeros(fan_in, fan_out, dtype=torch_dtype))
            for fan_in, fan_out in zip(units[:-1], units[1:], strict=True)
        )
        self.intercepts = nn.ParameterList(
            nn.Parameter(torch.zeros(fan_out, dtype=torch_dtype))
            for fan_out in units[1:]
        )
        self.activation = activation

    def _layers(self):
        # Indexing a ParameterList costs ~10 us a batch on small networks; a
        # plain list of pairs does not. Rebuilt when parameters are replaced.
        cache = self.__dict__.get("_layer_cache")
        if cache is None or cache[0][0] is not self.coefs[0]:
            cache = list(zip(self.coefs, self.intercepts, strict=True))
            self.__dict__["_layer_cache"] = cache
        return cache

    def forward(self, X):
        """Return the output layer's values, shape (n_samples, n_outputs)."""
        hidden = HIDDEN_ACTIVATIONS[self.activation]
        layers = self._layers()
        last = len(layers) - 1
        for i, (weight, bias) in enumerate(layers):
            X = torch.addmm(bias, X, weight)
            if i != last and hidden is not None:
                X = hidden(X)
        return X

    @torch.no_grad()
    def load_arrays(self, coefs, intercepts):
        """Copy MLP's weight arrays into the parameters."""
        for param, array in zip(self.coefs, coefs, strict=True):
            param.copy_(torch.as_tensor(np.asarray(array)))
        for param, array in zip(self.intercepts, intercepts, strict=True):
            param.copy_(torch.as_tensor(np.asarray(array)))

    def penalty(self):
        """Sum of the squared weights, intercepts left out (MLP's L2 term)."""
        norms = torch._foreach_norm(list(self.coefs))
        return torch.stack(norms).square().sum()


def glorot_init(layer_units, activation, random_state, dtype):
    """MLP's initial weights, drawn from ``random_state`` in MLP's order.

    For each layer, uniform in ``[-b, b]`` with ``b = sqrt(f / (fan_in +
    fan_out))``, ``f`` 2 for the logistic activation and 6 otherwise: first
    the weight matrix, then the intercepts.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept = random_state.uniform(-bound, bound, fan_out)
        coefs.append(coef.astype(dtype, copy=False))
        intercepts.append(intercept.astype(dtype, copy=False))
    return coefs, intercepts


def all_finite(module):
    """Whether every parameter of ``module`` is finite."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())
