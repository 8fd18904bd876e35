"""Activation functions by name, shared by the built-in modules."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def make_activation(activation):
    """Return a new activation layer from a name or an ``nn.Module`` class.

    Parameters
    ----------
    activation : str or type
        One of ``ACTIVATIONS`` or a ``torch.nn.Module`` subclass taking no
        arguments.

    Returns
    -------
    torch.nn.Module
        A fresh activation layer.
    """
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]()
        except KeyError:
            raise ValueError(
                f"activation={activation!r} is not supported; use one of "
                f"{sorted(ACTIVATIONS)} or a torch.nn.Module class."
            ) from None
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise ValueError(
        f"activation must be a name or a torch.nn.Module class, got {activation!r}."
    )
