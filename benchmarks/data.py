"""The synthetic binary classification data every implementation trains on."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification


def make_dataset(
    n_rows: int, n_features: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` as float32 ``(n_rows, n_features)`` and ``y`` as int64 0/1."""
    X, y = make_classification(
        n_samples=n_rows, n_features=n_features, random_state=seed
    )
    return X.astype(np.float32), y.astype(np.int64)
