"""PyTorch modules as first-class scikit-learn estimators, built on skorch."""

from .classifiers import NNBinaryClassifier, NNClassifier
from .regressor import NNRegressor
from .training.divergence import TrainingDivergedError

__version__ = "0.1.0"

__all__ = [
    "NNBinaryClassifier",
    "NNClassifier",
    "NNRegressor",
    "TrainingDivergedError",
    "__version__",
]
