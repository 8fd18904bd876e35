"""From user data to training batches: validate, encode, weigh and split.

The first step of a fit. Arrays, DataFrames and lists are checked in
scikit-learn's words and become ``TensorBatches`` (the fast path); a torch
``Dataset`` goes through skorch's general path as ``DatasetBatches``. The
estimator subclass supplies how targets are encoded (``_encode_target``).
"""

import copy
import math

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.dataset import Dataset
from skorch.utils import is_dataset
from torch.utils.data import Subset

from . import validation
from .data import DatasetBatches, TensorBatches
from .runtime import draw_seed

# Share held out when early stopping or checkpoints need a validation score
# and the user did not choose one (scikit-learn's MLP convention).
AUTO_VALIDATION_FRACTION = 0.1


class DataPreparation:
    """Turn ``fit``'s arguments into (train, valid, metric weights)."""

    def _prepare_data(self, X, y, sample_weight, validation_data, *, reset, classes):
        """Validate and encode the data; return (train, valid, metric weights)."""
        if reset or not hasattr(self, "_split_seed"):
            # One split per fit: continued training (partial_fit, warm_start)
            # must never train on rows it validated on before.
            self._split_seed = draw_seed(copy.deepcopy(self.random_state))
        if is_dataset(X):
            return self._prepare_dataset(X, y, reset=reset)
        X, y = validation.check_X(
            self, X, y=y, reset=reset, regression=self._regression
        )
        targets = self._encode_target(
            y, reset=reset, classes=classes, sample_weight=sample_weight
        )
        # partial_fit may stream chunks of one class once the classes are known.
        streaming = not reset or classes is not None
        weights = self._loss_weights(X, y, targets, sample_weight, streaming)
        if reset:
            self._record_shapes(X, targets)
        if validation_data is not None:
            valid, metric_weights = self._external_validation(validation_data)
            return (
                TensorBatches(X, targets, weights, self.device_),
                valid,
                metric_weights,
            )
        fraction = self._validation_fraction()
        if self.train_split is not None and not fraction:
            return self._skorch_split(X, targets)
        if not fraction:
            return TensorBatches(X, targets, weights, self.device_), None, None
        train_rows, valid_rows = self._split_rows(targets, fraction)
        metric_weights = None
        if sample_weight is not None:
            metric_weights = np.asarray(sample_weight, dtype=np.float64)[valid_rows]
        valid = TensorBatches(
            X[valid_rows],
            targets[valid_rows],
            None if weights is None else weights[valid_rows],
            self.device_,
        )
        # Training rows are picked through an index: X itself is not copied.
        train = TensorBatches(X, targets, weights, self.device_, rows=train_rows)
        return train, valid, metric_weights

    def _loss_weights(self, X, y, targets, sample_weight, streaming=False):
        weights = validation.sample_weights(
            self, X, y, sample_weight, getattr(self, "class_weight", None)
        )
        if not self._regression and not streaming:
            validation.check_weighted_classes(self, targets, weights)
        # Equal weights change nothing: the loop then skips weighting altogether,
        # and sample_weight=None and all-ones give bit-identical fits.
        return None if np.all(weights == weights[0]) else weights

    def _external_validation(self, validation_data):
        well_formed = isinstance(validation_data, tuple | list) and len(
            validation_data
        ) in (2, 3)
        if not well_formed:
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or "
                "(X_val, y_val, sample_weight_val)."
            )
        X_val, y_val, *rest = validation_data
        weight_val = rest[0] if rest else None
        X_val, y_val = validation.check_X(
            self, X_val, y=y_val, reset=False, regression=self._regression
        )
        targets = self._encode_target(y_val, reset=False, classes=None)
        # Validation rows need no two classes of their own, as a stream chunk.
        weights = self._loss_weights(X_val, y_val, targets, weight_val, streaming=True)
        metric_weights = None if weight_val is None else np.asarray(weight_val, float)
        return TensorBatches(X_val, targets, weights, self.device_), metric_weights

    def _validation_fraction(self):
        fraction = self.validation_fraction
        if fraction is None:
            # sklearn's MLP convention: early stopping implies a held-out 10%.
            wants_valid = self._uses_monitor()
            needs_valid = str(self.monitor).startswith("valid_")
            return AUTO_VALIDATION_FRACTION if wants_valid and needs_valid else 0.0
        if not 0.0 <= fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1) or None, got {fraction!r}."
            )
        return fraction

    def _split_rows(self, targets, fraction):
        """Hold out ``fraction`` of the rows, stratified for classifiers."""
        n = len(targets)
        n_valid = math.ceil(fraction * n)
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"validation_fraction={fraction} leaves no training or validation "
                f"samples out of {n}; use a larger data set or validation_fraction=0."
            )
        rows = np.arange(n)
        seed = self._split_seed
        stratify = None if self._regression else targets
        try:
            return train_test_split(
                rows, test_size=n_valid, stratify=stratify, random_state=seed
            )
        except ValueError:  # a class too small to stratify: a plain split
            return train_test_split(rows, test_size=n_valid, random_state=seed)

    def _skorch_split(self, X, targets):
        dataset = Dataset(X, targets)
        train_ds, valid_ds = self.train_split(dataset, targets)
        loader_kwargs = self.get_params_for("iterator_train")
        loader_kwargs.pop("batch_size", None)
        return (
            DatasetBatches(train_ds, self.device_, loader_kwargs),
            None if valid_ds is None else DatasetBatches(valid_ds, self.device_),
            None,
        )

    def _prepare_dataset(self, dataset, y, *, reset):
        """skorch's general path: any torch Dataset yielding (X, y) pairs."""
        if y is not None:
            raise ValueError("When X is a torch Dataset, y must be None.")
        if reset:
            first_X, first_y = dataset[0]
            self.input_shape_ = tuple(torch.as_tensor(first_X).shape)
            self.n_features_in_ = self.input_shape_[0]
            self._record_dataset_targets(dataset, torch.as_tensor(first_y))
        fraction = self._validation_fraction()
        loader_kwargs = self.get_params_for("iterator_train")
        loader_kwargs.pop("batch_size", None)
        if not fraction:
            return DatasetBatches(dataset, self.device_, loader_kwargs), None, None
        train_rows, valid_rows = train_test_split(
            np.arange(len(dataset)),
            test_size=fraction,
            random_state=self._split_seed,
        )
        return (
            DatasetBatches(Subset(dataset, train_rows), self.device_, loader_kwargs),
            DatasetBatches(Subset(dataset, valid_rows), self.device_),
            None,
        )
