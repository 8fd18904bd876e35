"""The four implementations under test, behind one small interface.

Each adapter takes numpy data (``X`` float32, ``y`` int 0/1) and
:class:`~benchmarks.config.TrainSettings`, and does everything a user would
have to do to get from those arrays to a trained model (tensor conversion,
module and optimizer construction, training); ``predict_proba`` returns the
positive-class probability for every row.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch import nn

from benchmarks.config import TrainSettings


class BinaryMLP(nn.Module):
    """``in_features``-hidden...-1 ReLU network returning logits of shape (n,)."""

    def __init__(self, in_features: int = 20, hidden_units: tuple[int, ...] = (64, 64)):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X).squeeze(-1)


def make_adam(params, lr: float) -> tuple[torch.optim.Optimizer, str]:
    """Fastest available Adam: fused, else foreach. Returns it and its variant."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True), "fused"
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True), "foreach"


def adam_variant() -> str:
    """Which Adam variant the hand loop gets on this machine."""
    return make_adam([nn.Parameter(torch.zeros(1))], lr=1e-3)[1]


class Implementation:
    """Interface: ``fit`` returns a model that ``predict_proba`` accepts."""

    key = ""
    label = ""

    def unavailable_reason(self) -> str | None:
        """Why this implementation cannot run here, or None when it can."""
        return None

    def fit(self, X: np.ndarray, y: np.ndarray, settings: TrainSettings) -> Any:
        raise NotImplementedError

    def predict_proba(self, model: Any, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def make_nnestimators_classifier(**params: Any):
    """An ``nnestimators.NNBinaryClassifier`` with the suite's MLP and Adam.

    Shared by the fit benchmark and the grid search, so that adapting to the
    estimator's API happens in one place.
    """
    import nnestimators
    from nnestimators.modules import MLP

    defaults = {
        # Every implementation runs on the CPU, whatever the machine has.
        "device": "cpu",
        "module": MLP,
        "optimizer": torch.optim.Adam,
        "validation_fraction": None,
        "random_state": 0,
        "verbose": 0,
    }
    return nnestimators.NNBinaryClassifier(**{**defaults, **params})


class NNEstimatorsImpl(Implementation):
    """(a) ``nnestimators.NNBinaryClassifier`` with ``nnestimators.modules.MLP``."""

    key = "nnestimators"
    label = "nnestimators NNBinaryClassifier"

    def unavailable_reason(self) -> str | None:
        try:
            from nnestimators import NNBinaryClassifier  # noqa: F401
            from nnestimators.modules import MLP  # noqa: F401
        except ImportError as error:
            return f"nnestimators core not importable: {error}"
        return None

    def fit(self, X, y, settings):
        clf = make_nnestimators_classifier(
            module__hidden_units=settings.hidden_units,
            max_epochs=settings.epochs,
            batch_size=settings.batch_size,
            lr=settings.lr,
            random_state=settings.seed,
            # The suite's thread count, even where OMP_NUM_THREADS says otherwise.
            n_threads=torch.get_num_threads(),
        )
        return clf.fit(X, y)

    def predict_proba(self, model, X):
        return model.predict_proba(X)[:, 1]


class HandLoopImpl(Implementation):
    """(b) A plain PyTorch training loop, the speed reference."""

    key = "hand_loop"
    label = "hand-written PyTorch loop"

    def fit(self, X, y, settings):
        torch.manual_seed(settings.seed)
        X_t = torch.from_numpy(X)
        y_t = torch.from_numpy(y).to(torch.float32)
        model = BinaryMLP(X.shape[1], settings.hidden_units)
        optimizer, _ = make_adam(model.parameters(), settings.lr)
        loss_fn = nn.BCEWithLogitsLoss()
        model.train()
        for _ in range(settings.epochs):
            _train_one_epoch(model, optimizer, loss_fn, X_t, y_t, settings.batch_size)
        return model

    def predict_proba(self, model, X):
        # One forward pass over all rows: the lower bound for prediction.
        model.eval()
        with torch.inference_mode():
            return torch.sigmoid(model(torch.from_numpy(X))).numpy()


def _train_one_epoch(model, optimizer, loss_fn, X_t, y_t, batch_size) -> float:
    """One shuffled pass; the loss is summed on device and read once."""
    n_rows = len(X_t)
    order = torch.randperm(n_rows)
    total = torch.zeros(())
    for start in range(0, n_rows, batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X_t[idx]), y_t[idx])
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    return total.item() / n_rows


class SkorchImpl(Implementation):
    """(c) Stock ``skorch.NeuralNetBinaryClassifier`` with the same module."""

    key = "skorch"
    label = "skorch NeuralNetBinaryClassifier"

    def fit(self, X, y, settings):
        from skorch import NeuralNetBinaryClassifier

        torch.manual_seed(settings.seed)
        net = NeuralNetBinaryClassifier(
            module=BinaryMLP,
            module__in_features=X.shape[1],
            module__hidden_units=settings.hidden_units,
            max_epochs=settings.epochs,
            batch_size=settings.batch_size,
            lr=settings.lr,
            optimizer=torch.optim.Adam,
            # Shuffle like every other implementation (skorch's default is off).
            iterator_train__shuffle=True,
            train_split=None,
            verbose=0,
        )
        # BCEWithLogitsLoss needs float targets; skorch leaves that to the user.
        return net.fit(X, y.astype(np.float32))

    def predict_proba(self, model, X):
        return model.predict_proba(X)[:, 1]


class SklearnMLPImpl(Implementation):
    """(d) scikit-learn's ``MLPClassifier`` (numpy, Adam solver)."""

    key = "sklearn_mlp"
    label = "scikit-learn MLPClassifier"

    def fit(self, X, y, settings):
        clf = MLPClassifier(
            hidden_layer_sizes=settings.hidden_units,
            solver="adam",
            batch_size=settings.batch_size,
            max_iter=settings.epochs,
            learning_rate_init=settings.lr,
            tol=0,
            n_iter_no_change=1000,
            shuffle=True,
            random_state=settings.seed,
        )
        # max_iter is the epoch count here, so "not converged" is expected; tiny
        # smoke-test data makes sklearn clip batch_size and say so.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message="Got `batch_size`")
            return clf.fit(X, y)

    def predict_proba(self, model, X):
        return model.predict_proba(X)[:, 1]


# Table column order; the hand loop is the reference for every ratio.
ALL_IMPLEMENTATIONS: tuple[Implementation, ...] = (
    NNEstimatorsImpl(),
    HandLoopImpl(),
    SkorchImpl(),
    SklearnMLPImpl(),
)

REFERENCE_KEY = HandLoopImpl.key
