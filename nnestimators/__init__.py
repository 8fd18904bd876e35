"""PyTorch modules as first-class scikit-learn estimators, built on skorch."""

from ._version import __version__
from .classifiers import NNBinaryClassifier, NNClassifier
from .mlp.estimators import MLPClassifier, MLPRegressor
from .regressor import NNRegressor
from .training.divergence import TrainingDivergedError

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "NNBinaryClassifier",
    "NNClassifier",
    "NNRegressor",
    "TrainingDivergedError",
    "__version__",
]
