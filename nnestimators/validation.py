"""Input checks in scikit-learn's words, run before any tensor is built."""

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, validate_data

_NO_Y = object()


def check_X(estimator, X, *, reset, y=_NO_Y, regression=False):
    """Validate X (and y) like scikit-learn estimators do and return float32 arrays.

    Tables are 2-d; images are (n, H, W), given a channel axis, or (n, C, H, W).
    ``validate_data`` sets ``n_features_in_`` (``X.shape[1]``, so the number of
    channels for images) and ``feature_names_in_`` when ``reset`` is true and
    checks them otherwise; the whole per-sample shape is checked against
    ``input_shape_``.
    """
    X = _add_channel_axis(X)
    if not reset:
        _check_image_shape(estimator, X)
    check = dict(dtype=np.float32, allow_nd=True, accept_sparse=False)
    if y is _NO_Y:
        X = validate_data(estimator, X, reset=reset, **check)
    else:
        X, y = validate_data(
            estimator,
            X,
            y,
            reset=reset,
            multi_output=regression,
            y_numeric=regression,
            **check,
        )
    if X.ndim not in (2, 4):
        raise ValueError(
            f"Found array with dim {X.ndim}. {type(estimator).__name__} expects "
            "2-d tabular data (n_samples, n_features) or images shaped "
            "(n_samples, height, width) or (n_samples, channels, height, width)."
        )
    if reset:
        estimator.input_shape_ = tuple(X.shape[1:])
    else:
        _check_sample_shape(estimator, X.shape)
    return X if y is _NO_Y else (X, y)


def _check_image_shape(estimator, X):
    # For image models, the whole sample shape says more than scikit-learn's
    # "X has 64 features, but ... is expecting 1" (channels) would.
    fitted = getattr(estimator, "input_shape_", None)
    shape = getattr(X, "shape", None)
    if fitted is not None and len(fitted) == 3 and shape is not None:
        _check_sample_shape(estimator, shape)


def _check_sample_shape(estimator, shape):
    if tuple(shape[1:]) != estimator.input_shape_:
        raise ValueError(
            f"X has samples of shape {tuple(shape[1:])}, but "
            f"{type(estimator).__name__} is expecting samples of shape "
            f"{estimator.input_shape_} as input."
        )


def _add_channel_axis(X):
    # (n, H, W) grey images become (n, 1, H, W) before validation, so that
    # n_features_in_ means "channels" for every image input.
    if getattr(X, "ndim", None) == 3 and hasattr(X, "shape"):
        return X[:, None]
    return X


def encode_labels(estimator, y, *, classes=None, binary=False):
    """Check classification targets and return (classes, integer codes).

    ``classes`` fixes the label set (``partial_fit``'s argument, or the fitted
    ``classes_``); otherwise it is taken from ``y``.
    """
    # check_classification_targets' test and words, with one type_of_target.
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {kind}. Maybe you are trying to fit a "
            "classifier, which expects discrete classes on a regression target "
            "with continuous values."
        )
    if binary and kind != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is "
            f"{kind}."
        )
    if classes is None:
        classes, codes = np.unique(y, return_inverse=True)
        _check_two_classes(estimator, classes)
        return classes, codes.reshape(-1).astype(np.int64)
    _check_two_classes(estimator, classes)
    if binary and len(classes) > 2:
        raise ValueError(
            "Only binary classification is supported. The type of the target is "
            "multiclass."
        )
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, len(classes) - 1)
    unseen = classes[codes] != y
    if np.any(unseen):
        raise ValueError(
            f"y contains labels not seen at fit: {np.unique(y[unseen]).tolist()!r}; "
            f"the known classes are {classes.tolist()!r}."
        )
    return classes, codes.astype(np.int64)


def _check_two_classes(estimator, classes):
    if len(classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in the "
            f"data, but the data contains only one class: {classes[0]!r}."
        )


def sample_weights(estimator, X, y, sample_weight, class_weight=None):
    """Return per-sample float32 loss weights: ``sample_weight`` times class weights.

    Zero weights are allowed (the row then has no effect); negative, non-finite
    or all-zero weights are an error.
    """
    weights = _check_sample_weight(
        sample_weight, X, dtype=np.float32, ensure_non_negative=True
    )
    if class_weight is not None:
        weights = weights * compute_sample_weight(class_weight, y).astype(np.float32)
    if not np.all(np.isfinite(weights)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight must contain at least one positive weight.")
    return np.ascontiguousarray(weights, dtype=np.float32)


def check_weighted_classes(estimator, codes, weights):
    """A classifier needs two classes with positive weight to learn anything."""
    weighted = np.unique(codes[weights > 0]).astype(np.int64)
    if len(weighted) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes with "
            "positive sample_weight, but only one class has any: "
            f"{estimator.classes_[weighted[0]]!r}."
        )
