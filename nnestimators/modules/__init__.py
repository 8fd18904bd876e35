"""Ready-made PyTorch modules whose shapes the estimators infer from the data."""

import functools

import torch

from .convnet import ConvNet, LeNet5
from .mlp import MLP

__all__ = ["MLP", "ConvNet", "LeNet5", "builds_own_module"]

_OWN = (MLP, ConvNet, LeNet5)


def builds_own_module(module):
    """Whether ``module`` (a class, instance or partial) is one of these modules."""
    while isinstance(module, functools.partial):
        module = module.func
    if isinstance(module, torch.nn.Module):
        module = type(module)
    return isinstance(module, type) and issubclass(module, _OWN)
