"""Pytest plugin: skorch's estimators swapped for nnestimators' by import.

Loaded with ``-p nnestimators_skorch_swap`` (this folder on ``sys.path``), so it
is imported before pytest collects anything. From then on
``from skorch import NeuralNetClassifier`` -- the way skorch's tests get their
estimators, in fixtures and at module top -- hands out nnestimators' classes.
Nothing else changes: ``skorch.net.NeuralNet``, the callbacks, the helpers and
skorch's internals stay skorch's own.
"""

import skorch
import skorch.classifier
import skorch.regressor

import nnestimators

SWAPS = {
    "NeuralNetClassifier": nnestimators.NNClassifier,
    "NeuralNetBinaryClassifier": nnestimators.NNBinaryClassifier,
    "NeuralNetRegressor": nnestimators.NNRegressor,
}

for _name, _ours in SWAPS.items():
    _home = skorch.regressor if _name == "NeuralNetRegressor" else skorch.classifier
    setattr(skorch, _name, _ours)
    setattr(_home, _name, _ours)


def pytest_report_header(config):
    return "skorch estimators swapped for: " + ", ".join(
        f"{name} -> {cls.__module__}.{cls.__qualname__}" for name, cls in SWAPS.items()
    )
