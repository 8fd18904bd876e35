"""Shared fixtures: small scaled data sets that ship with scikit-learn.

Two tiers: ``python -m pytest -m "not slow"`` is the inner loop, ``python -m
pytest`` (CI) runs everything. Slow tests are marked where they are written,
with ``@pytest.mark.slow`` or a module's ``pytestmark`` (the estimator checks
pick theirs in ``_is_slow``); nothing here marks tests by name. Shared fit
settings live in ``fit_settings.py``.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny networks gain nothing from threads, and on a shared 2-core machine
    # OpenMP threads fighting for cores make every step many times slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _scaled(X):
    return StandardScaler().fit_transform(X).astype(np.float32)


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return _scaled(X), y


@pytest.fixture(scope="session")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return _scaled(X), y


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return _scaled(X), (y - y.mean()) / y.std()
