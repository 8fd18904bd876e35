"""Ready-made PyTorch modules whose shapes the estimators infer from the data."""

from .mlp import MLP

__all__ = ["MLP"]

try:  # the convolutional modules live in their own file
    from .convnet import ConvNet, LeNet5  # noqa: F401

    __all__ += ["ConvNet", "LeNet5"]
except ImportError:  # pragma: no cover - only while convnet.py is being written
    pass
