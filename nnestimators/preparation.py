"""From user data to datasets: validate, encode, weigh and split.

The first step of a fit. Arrays, DataFrames, sparse matrices and dicts of
arrays are checked in scikit-learn's words and become an ``ArrayDataset``
(the fast path); any other torch ``Dataset`` is used as skorch uses it. The
estimator subclass supplies how targets are encoded (``_encode_target``).
Splitting happens inside skorch's loop, in ``get_split_datasets``.
"""

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.dataset import Dataset, unpack_data
from skorch.utils import is_dataset
from torch.utils.data import Subset

from . import validation
from .data import ArrayDataset, module_input_dtype
from .runtime import draw_seed

# Share held out when early stopping or checkpoints need a validation score
# and the user did not choose one (scikit-learn's MLP convention).
AUTO_VALIDATION_FRACTION = 0.1


class DataPreparation:
    """Turn ``fit``'s arguments into datasets, and split them."""

    def _prepare_data(self, X, y, sample_weight, *, reset, classes):
        """Validate and encode the data; return the training dataset."""
        if reset or not hasattr(self, "_split_seed"):
            # One split per fit: continued training (partial_fit, warm_start)
            # must never train on rows it validated on before.
            self._split_seed = draw_seed(copy.deepcopy(self.random_state))
        if is_dataset(X):
            return self._prepare_dataset(X, y, reset=reset)
        # X keeps its dtype until the module is built (_finish_dataset).
        X, y = validation.check_X(
            self, X, y=y, reset=reset, target_kind=self._target_kind(), dtype=None
        )
        targets = self._encode_target(
            y, reset=reset, classes=classes, sample_weight=sample_weight
        )
        # partial_fit may stream chunks of one class once the classes are known.
        streaming = not reset or classes is not None
        weights = self._loss_weights(X, y, targets, sample_weight, streaming)
        if reset:
            self._record_shapes(X, targets)
        if self._uses_custom_dataset():
            return self._custom_dataset(X, targets, weights)
        return self._array_dataset(X, y, targets, weights, sample_weight)

    def _array_dataset(self, X, y, targets, weights, sample_weight):
        metric_weights = _metric_weights(sample_weight)

        def build(X):
            return ArrayDataset(
                X,
                targets,
                weights,
                self.device_,
                y_user=y,
                metric_weights=metric_weights,
            )

        return PendingDataset(X, build)

    def _input_dtype(self):
        """What array X becomes for the built module (float32 before it is)."""
        return module_input_dtype(self.__dict__.get("module_"))

    def _finish_dataset(self, data):
        """A ``PendingDataset`` built, X in the built module's dtype."""
        if not isinstance(data, PendingDataset):
            return data
        return data.build(self._input_dtype())

    def _uses_custom_dataset(self):
        """A ``dataset=`` class or instance other than skorch's, or ``dataset__*``."""
        return self.dataset is not Dataset or bool(self.get_params_for("dataset"))

    def _custom_dataset(self, X, targets, weights):
        # skorch's get_dataset builds the user's dataset (and refuses an
        # instance combined with dataset__* arguments) from validated inputs
        # and the encoded targets the loss needs; batches come from the
        # DataLoader, so per-sample weights have no way in.
        if weights is not None:
            raise ValueError(
                "sample_weight and class_weight need the built-in dataset; they "
                f"cannot be combined with dataset={self.dataset!r}."
            )
        self._dataset_y = None
        return PendingDataset(X, lambda X: self.get_dataset(X, targets))

    def _target_kind(self):
        return "continuous" if self._regression else "labels"

    def _loss_weights(self, X, y, targets, sample_weight, streaming=False):
        weights = validation.sample_weights(
            self, X, y, sample_weight, getattr(self, "class_weight", None)
        )
        if not self._regression and not streaming:
            validation.check_weighted_classes(self, targets, weights)
        # Equal weights change nothing: the loop then skips weighting altogether,
        # and sample_weight=None and all-ones give bit-identical fits.
        return None if np.all(weights == weights[0]) else weights

    def _validation_dataset(self, validation_data):
        """``fit(..., validation_data=(X_val, y_val[, w_val]))`` as a dataset."""
        well_formed = isinstance(validation_data, tuple | list) and len(
            validation_data
        ) in (2, 3)
        if not well_formed:
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or "
                "(X_val, y_val, sample_weight_val)."
            )
        X_val, y_val, *rest = validation_data
        return self._encoded_dataset(X_val, y_val, rest[0] if rest else None)

    def _encoded_dataset(self, X, y, sample_weight=None):
        """Held-out data encoded exactly like the training data.

        A ``PendingDataset``: ``fit`` validates ``validation_data`` before it
        builds the module.
        """
        X, y = validation.check_X(
            self, X, y=y, reset=False, target_kind=self._target_kind(), dtype=None
        )
        targets = self._encode_target(y, reset=False, classes=None)
        # Validation rows need no two classes of their own, as a stream chunk.
        weights = self._loss_weights(X, y, targets, sample_weight, streaming=True)
        return self._array_dataset(X, y, targets, weights, sample_weight)

    def _validation_fraction(self, n_rows=None):
        """The share of ``n_rows`` to hold out (0.0: none)."""
        fraction = self.validation_fraction
        if fraction is not None:
            return fraction
        if self.train_split is not None:
            return 0.0
        # sklearn's MLP convention: early stopping implies a held-out 10%.
        if self._monitors_validation():
            return AUTO_VALIDATION_FRACTION
        # So do skorch's callbacks that read validation scores, where there
        # are rows enough; with too few, they see no validation data, as
        # under skorch's train_split=None.
        if self._callbacks_needing_validation():
            if n_rows is None or _can_hold_out(n_rows, AUTO_VALIDATION_FRACTION):
                return AUTO_VALIDATION_FRACTION
        return 0.0

    def _monitors_validation(self):
        """Whether patience, checkpoints or a plateau schedule watch valid_*."""
        return self._uses_monitor() and str(self._monitor_key()).startswith("valid_")

    def _split(self, dataset, fraction):
        """Hold out ``fraction`` of the rows, stratified for classifiers."""
        n = len(dataset)
        n_valid = math.ceil(fraction * n)
        if not _can_hold_out(n, fraction):
            raise ValueError(
                f"The validation set is too small: validation_fraction={fraction} "
                f"holds out {n_valid} of {n} samples, and metrics need at least "
                "2; use more data, a larger validation_fraction, or "
                "validation_fraction=0."
            )
        rows = np.arange(n)
        seed = self._split_seed
        stratify = self._stratify_labels(dataset)
        if stratify is not None:
            try:
                train_rows, valid_rows = train_test_split(
                    rows, test_size=n_valid, stratify=stratify, random_state=seed
                )
                return dataset.subset(train_rows), dataset.subset(valid_rows)
            except ValueError as exc:
                warnings.warn(
                    f"The validation split could not be stratified ({exc}); "
                    "it is drawn without stratification, so the validation "
                    "set may miss a class.",
                    UserWarning,
                    stacklevel=6,
                )
        train_rows, valid_rows = train_test_split(
            rows, test_size=n_valid, random_state=seed
        )
        return _subset(dataset, train_rows), _subset(dataset, valid_rows)

    def _stratify_labels(self, dataset):
        if self._regression or not isinstance(dataset, ArrayDataset):
            return None
        targets = dataset.targets
        if targets is None or targets.dim() != 1:
            return None  # multilabel targets are split plainly
        codes = targets.cpu().numpy()
        return codes if dataset.rows is None else codes[dataset.rows]

    def _adopt_split(self, split, full):
        """Bring a part returned by a user's ``train_split`` onto the fast path.

        A ``Subset`` of the data is the same rows of ``full`` (weights and
        all); a new ``Dataset(X, y)`` (``predefined_split``, or one the split
        built) is encoded exactly like ``validation_data``.
        """
        if split is None or isinstance(split, ArrayDataset):
            return split
        if isinstance(split, Subset) and isinstance(split.dataset, Dataset):
            if split.dataset.X is full.X or len(split.dataset) == len(full):
                return full.subset(np.asarray(split.indices))
        if isinstance(split, Dataset) and getattr(split, "y", None) is not None:
            return self._finish_dataset(self._encoded_dataset(split.X, split.y))
        return split

    def _prepare_dataset(self, dataset, y, *, reset):
        """skorch's general path: any torch Dataset yielding (X, y) pairs.

        A ``y`` given beside it is used as skorch uses it: for the classes
        and for ``train_split`` (stratification), not for training.
        """
        self._dataset_y = None if y is None else np.asarray(y)
        if reset:
            # skorch's unpacking, with its message for datasets yielding
            # other than (X, y).
            first = dataset[0]
            if not isinstance(first, tuple | list):
                first = (first,)  # one value, not a pair
            first_X, first_y = unpack_data(first)
            if isinstance(first_X, dict):
                self.input_shape_ = None
            else:
                self.input_shape_ = tuple(torch.as_tensor(first_X).shape)
                self.n_features_in_ = self.input_shape_[0]
            self._record_dataset_targets(dataset, torch.as_tensor(first_y), y)
        return dataset


class PendingDataset:
    """Validated data waiting for the module, whose dtype X then takes.

    ``len`` is known at once (fit sizes its batches before building the
    module); ``build(dtype)`` converts X to the ``InputDtype`` (no copy when
    it is in it already) and returns the dataset.
    """

    def __init__(self, X, build):
        self.X = X
        self._build = build

    def __len__(self):
        if isinstance(self.X, dict):
            return len(next(iter(self.X.values())))
        return self.X.shape[0]

    def build(self, dtype):
        return self._build(validation.cast_X(self.X, dtype))


def _can_hold_out(n_rows, fraction):
    """Whether ``fraction`` of ``n_rows`` leaves 2 validation rows and 1 to train."""
    n_valid = math.ceil(fraction * n_rows)
    return n_valid >= 2 and n_rows - n_valid >= 1


def _subset(dataset, rows):
    if isinstance(dataset, ArrayDataset):
        return dataset.subset(rows)
    return Subset(dataset, rows)


def _metric_weights(sample_weight):
    if sample_weight is None:
        return None
    return np.asarray(sample_weight, dtype=np.float64)
