"""PyTorch modules as first-class scikit-learn estimators, built on skorch."""

from ._version import __version__
from .classifiers import NNBinaryClassifier, NNClassifier
from .regressor import NNRegressor
from .training.divergence import TrainingDivergedError

__all__ = [
    "NNBinaryClassifier",
    "NNClassifier",
    "NNRegressor",
    "TrainingDivergedError",
    "__version__",
]
