"""From user data to datasets: validate, encode, weigh and split.

The first step of a fit. Arrays, DataFrames, sparse matrices and dicts of
arrays are checked in scikit-learn's words, their targets encoded by the
estimator's ``target_``, and they become an ``ArrayDataset`` (the fast
path) once the module, whose dtype X takes, is built; any other torch
``Dataset`` is used as skorch uses it. ``validation_fraction`` is the one
rule for how much to hold out; ``split_datasets`` is what skorch's
``get_split_datasets`` returns during a fit.
"""

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.dataset import Dataset, unpack_data
from skorch.utils import data_from_dataset, is_dataset
from torch.utils.data import Subset

from . import validation
from .data import ArrayDataset, module_input_dtype
from .overrides import uses_custom_dataset
from .runtime import draw_seed
from .training.defaults import callbacks_needing_validation, monitors_validation
from .training.skorch_callbacks import validation_notice

# Share held out when early stopping or checkpoints need a validation score
# and the user did not choose one (scikit-learn's MLP convention).
AUTO_VALIDATION_FRACTION = 0.1


class PendingDataset:
    """Validated data waiting for the module, whose dtype X then takes.

    ``len`` is known at once (a fit sizes its batches before building the
    module); ``build(dtype)`` returns the dataset with X in the
    ``InputDtype`` (``make(X, dtype)`` converts it, or has its batches
    converted).
    """

    def __init__(self, X, make):
        self.X = X
        self._make = make

    def __len__(self):
        if isinstance(self.X, dict):
            return len(next(iter(self.X.values())))
        return self.X.shape[0]

    def build(self, dtype):
        return self._make(self.X, dtype)


def finish(net, data):
    """A ``PendingDataset`` built, X in the built module's dtype; else ``data``."""
    if not isinstance(data, PendingDataset):
        return data
    return data.build(module_input_dtype(net.__dict__.get("module_")))


def training_data(net, X, y, sample_weight, *, reset, classes, kind):
    """Validate and encode ``fit``'s data; return ``(dataset, split_y)``.

    ``reset`` fits a new ``target_`` on ``y`` (and draws the split's seed);
    otherwise ``y`` is encoded by the fitted one. ``split_y`` is the ``y``
    a user's ``train_split`` is given beside a torch ``Dataset``.
    """
    if reset or "_split_seed" not in net.__dict__:
        # One split per fit: continued training (partial_fit, warm_start)
        # must never train on rows it validated on before.
        net._split_seed = draw_seed(copy.deepcopy(net.random_state))
    if is_dataset(X):
        return _dataset_input(net, X, y, reset=reset), (
            None if y is None else np.asarray(y)
        )
    # X keeps its dtype until the module is built (finish).
    X, y = validation.check_X(
        net, X, y=y, reset=reset, target_kind=_target_kind(net), dtype=None
    )
    if reset:
        net.target_ = net._new_target(y)
        targets = net.target_.fit_encode(y, classes, sample_weight)
        net.n_outputs_ = net.target_.n_outputs
    else:
        targets = net.target_.encode(y)
        if kind == "fit" and net.warm_start and classes is None:
            net.target_.check_warm_start(y)
    # partial_fit may stream chunks of one class once the classes are known.
    streaming = not reset or classes is not None
    weights = _loss_weights(net, X, y, targets, sample_weight, streaming)
    if uses_custom_dataset(net):
        return _custom_dataset(net, X, targets, weights), None
    return _array_dataset(net, X, y, targets, weights, sample_weight), None


def validation_data(net, given):
    """``fit(..., validation_data=(X_val, y_val[, w_val]))`` as a pending dataset."""
    well_formed = isinstance(given, tuple | list) and len(given) in (2, 3)
    if not well_formed:
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or "
            "(X_val, y_val, sample_weight_val)."
        )
    X_val, y_val, *rest = given
    return _encoded_dataset(net, X_val, y_val, rest[0] if rest else None)


def _encoded_dataset(net, X, y, sample_weight=None):
    """Held-out data encoded exactly like the training data."""
    X, y = validation.check_X(
        net, X, y=y, reset=False, target_kind=_target_kind(net), dtype=None
    )
    targets = net.target_.encode(y)
    # Validation rows need no two classes of their own, as a stream chunk.
    weights = _loss_weights(net, X, y, targets, sample_weight, streaming=True)
    return _array_dataset(net, X, y, targets, weights, sample_weight)


def _array_dataset(net, X, y, targets, weights, sample_weight):
    metric_weights = (
        None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    )

    def make(X, dtype):
        # The dataset converts X, whole or a batch at a time (data.py's rule).
        return ArrayDataset(
            X,
            targets,
            weights,
            net.device_,
            y_user=y,
            metric_weights=metric_weights,
            input_dtype=dtype,
        )

    return PendingDataset(X, make)


def _custom_dataset(net, X, targets, weights):
    # skorch's get_dataset builds the user's dataset (and refuses an instance
    # combined with dataset__* arguments) from validated inputs and the
    # encoded targets the loss needs; batches come from the DataLoader, so
    # per-sample weights have no way in.
    if weights is not None:
        raise ValueError(
            "sample_weight and class_weight need the built-in dataset; they "
            f"cannot be combined with dataset={net.dataset!r}."
        )
    return PendingDataset(
        X, lambda X, dtype: net.get_dataset(validation.cast_X(X, dtype), targets)
    )


def _target_kind(net):
    return "continuous" if net._target_class.task == "regression" else "labels"


def _loss_weights(net, X, y, targets, sample_weight, streaming):
    weights = validation.sample_weights(
        net, X, y, sample_weight, getattr(net, "class_weight", None)
    )
    target = net.target_
    # Labels named by the classes parameter need not all be in one chunk.
    if target.task == "classification" and not (
        streaming or target.declared is not None
    ):
        validation.check_weighted_classes(
            type(net).__name__, target.classes_, targets, weights
        )
    # Weights of one change nothing: the loop then skips weighting altogether,
    # and sample_weight=None and all-ones give bit-identical fits. Other
    # equal weights are kept: a penalty scaled by the weight sum (MLP's
    # alpha) sees them.
    return None if np.all(weights == 1) else weights


def _dataset_input(net, dataset, y, *, reset):
    """skorch's general path: any torch Dataset yielding (X, y) pairs.

    A ``y`` given beside it is used as skorch uses it: for the classes and
    for ``train_split`` (stratification), not for training.
    """
    if not reset:
        return dataset
    # skorch's unpacking, with its message for datasets yielding other than
    # (X, y).
    first = dataset[0]
    if not isinstance(first, tuple | list):
        first = (first,)  # one value, not a pair
    first_X, first_y = unpack_data(first)
    if isinstance(first_X, dict):
        net.input_shape_ = {
            key: tuple(torch.as_tensor(value).shape) for key, value in first_X.items()
        }
        net.n_features_in_ = len(first_X)
    else:
        net.input_shape_ = tuple(torch.as_tensor(first_X).shape)
        net.n_features_in_ = net.input_shape_[0]
    first_y = torch.as_tensor(first_y)
    if net._target_class.task == "regression":
        ndim = (
            np.ndim(data_from_dataset(dataset)[1])
            if isinstance(dataset, Dataset)
            else 1 + first_y.dim()
        )
        net.target_ = net._new_target(None).fit_identity(ndim, max(1, first_y.numel()))
    else:
        net.target_ = net._new_target(None).fit_classes(
            _dataset_classes(net, dataset, y)
        )
    net.n_outputs_ = net.target_.n_outputs
    return dataset


def _dataset_classes(net, dataset, y):
    if net.classes is not None:
        return np.asarray(net.classes)
    if y is not None:
        return np.unique(np.asarray(y))
    if isinstance(dataset, Dataset):
        _, labels = data_from_dataset(dataset)
    else:
        labels = [dataset[i][1] for i in range(len(dataset))]
    return np.unique(np.asarray(torch.as_tensor(np.asarray(labels))))


# -- validation data ---------------------------------------------------------------


def validation_fraction(net, n_rows=None):
    """The share of the training rows a fit holds out (0.0: none).

    The ``validation_fraction`` parameter when given; else 10% when
    ``patience``, ``checkpoint_dir`` or a plateau schedule watch a
    ``valid_*`` key (scikit-learn's MLP convention), or when the user's
    callbacks read validation scores and ``n_rows`` (if known) leave enough
    to hold out; else none. ``train_split`` replaces the automatic share.
    """
    fraction = net.validation_fraction
    if fraction is not None:
        return fraction
    if net.train_split is not None:
        return 0.0
    if monitors_validation(net):
        return AUTO_VALIDATION_FRACTION
    # So do skorch's callbacks that read validation scores, where there are
    # rows enough; with too few they see none, as under skorch's
    # train_split=None.
    if callbacks_needing_validation(net):
        if n_rows is None or _can_hold_out(n_rows, AUTO_VALIDATION_FRACTION):
            return AUTO_VALIDATION_FRACTION
    return 0.0


def has_validation(net, given=None):
    """Whether a fit with these settings (and ``validation_data``) validates."""
    return (
        given is not None or validation_fraction(net) > 0 or net.train_split is not None
    )


def split_datasets(net, dataset, session, fit_params):
    """skorch's ``get_split_datasets`` during a fit: ``(train, valid)``."""
    if session.validation is not None:
        return dataset, session.validation
    fraction = session.validation_fraction
    if _holds_out_for_callbacks(net):
        reasons = callbacks_needing_validation(net)
        warnings.warn(
            validation_notice(reasons, fraction, len(dataset)),
            UserWarning,
            stacklevel=3,
        )
    if fraction:
        return _split(net, dataset, fraction)
    if not net.train_split:
        return dataset, None
    if isinstance(dataset, ArrayDataset):
        # A user's split sees what skorch would give it: the data and y.
        shown = Dataset(dataset.X, dataset.y)
        train, valid = net.train_split(shown, dataset.y, **fit_params)
        return _adopt_split(net, train, dataset), _adopt_split(net, valid, dataset)
    if session.split_y is None:
        return net.train_split(dataset, **fit_params)
    return net.train_split(dataset, session.split_y, **fit_params)


def _holds_out_for_callbacks(net):
    """Whether the automatic hold-out is for the user's callbacks alone."""
    return (
        net.validation_fraction is None
        and net.train_split is None
        and not monitors_validation(net)
        and bool(callbacks_needing_validation(net))
    )


def _split(net, dataset, fraction):
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
    seed = net._split_seed
    stratify = _stratify_labels(net, dataset)
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


def _stratify_labels(net, dataset):
    if not isinstance(dataset, ArrayDataset) or dataset.targets is None:
        return None
    codes = net.target_.stratify_labels(dataset.targets)
    if codes is None:
        return None
    return codes if dataset.rows is None else codes[dataset.rows]


def _adopt_split(net, split, full):
    """Bring a part returned by a user's ``train_split`` onto the fast path.

    A ``Subset`` of the data is the same rows of ``full`` (weights and all);
    a new ``Dataset(X, y)`` (``predefined_split``, or one the split built) is
    encoded exactly like ``validation_data``.
    """
    if split is None or isinstance(split, ArrayDataset):
        return split
    if isinstance(split, Subset) and isinstance(split.dataset, Dataset):
        if split.dataset.X is full.X or len(split.dataset) == len(full):
            return full.subset(np.asarray(split.indices))
    if isinstance(split, Dataset) and getattr(split, "y", None) is not None:
        return finish(net, _encoded_dataset(net, split.X, split.y))
    return split


def _can_hold_out(n_rows, fraction):
    """Whether ``fraction`` of ``n_rows`` leaves 2 validation rows and 1 to train."""
    n_valid = math.ceil(fraction * n_rows)
    return n_valid >= 2 and n_rows - n_valid >= 1


def _subset(dataset, rows):
    if isinstance(dataset, ArrayDataset):
        return dataset.subset(rows)
    return Subset(dataset, rows)
