"""Input checks in scikit-learn's words, run before any tensor is built."""

import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, check_array, validate_data
from skorch.helper import SliceDataset

_NO_Y = object()

_INTEGER_DTYPES = (
    np.int64,
    np.int32,
    np.int16,
    np.int8,
    np.uint64,
    np.uint32,
    np.uint16,
    np.uint8,
)


class InputDtype(NamedTuple):
    """The dtype array X takes for a module (see ``data.module_input_dtype``).

    ``floating`` is the module's floating dtype (float32, or float64 for a
    float64 module): numeric X of any other kind is converted to it.
    ``integers`` keeps integer X integer, as int64 (token ids for an
    ``nn.Embedding``).
    """

    floating: type = np.float32
    integers: bool = False


FLOAT32_INPUT = InputDtype()


def _check_not_inputs_list(X):
    """A list of arrays of different shapes is skorch's several inputs, which
    scikit-learn's array-likes cannot be: name the dict that can."""
    if not isinstance(X, list | tuple) or len(X) < 2:
        return
    if not all(hasattr(item, "shape") for item in X):
        return
    shapes = sorted({tuple(item.shape) for item in X})
    if len(shapes) > 1:
        raise ValueError(
            f"X is a {type(X).__name__} of {len(X)} arrays of different shapes "
            f"{shapes}; scikit-learn reads a list as rows. For a module whose "
            "forward takes several inputs, pass a dict of arrays, one per "
            "argument of forward (forward(**X))."
        )


def check_X(
    estimator,
    X,
    *,
    reset,
    y=_NO_Y,
    target_kind="labels",
    dtype=FLOAT32_INPUT,
    cast=True,
):
    """Validate X (and y) like scikit-learn estimators do; return numeric data.

    Tables are 2-d, dense or sparse (kept sparse, as CSR); images are
    (n, H, W), given a channel axis, or (n, C, H, W); a dict of arrays feeds
    a module whose ``forward`` takes keyword arguments. ``validate_data``
    sets ``n_features_in_`` (``X.shape[1]``, so the number of channels for
    images) and ``feature_names_in_`` when ``reset`` is true and checks them
    otherwise; the whole per-sample shape is checked against ``input_shape_``.
    ``target_kind`` is ``"continuous"`` for regressors, else ``"labels"``
    (class labels or a multilabel indicator matrix).

    ``dtype`` (an ``InputDtype``) is what X becomes: float32 for the built-in
    modules, the module's own dtype otherwise. ``None`` (at fit, before the
    module is built) keeps float32, float64 and integer arrays as they are,
    for ``cast_X`` to convert once the module is known; other kinds (bool,
    float16, object arrays of numbers) become float32. ``cast=False`` keeps
    float32, float64 and integer arrays as they are too (prediction converts
    them chunk by chunk), converts other kinds to ``dtype``, and refuses
    values ``dtype`` cannot hold. A dict of arrays keeps its dtypes (float
    arrays become float32) whatever ``dtype`` says.
    """
    if isinstance(X, dict) and not sp.issparse(X):  # dok_matrix is a dict
        return _check_dict_X(estimator, X, reset=reset, y=y, target_kind=target_kind)
    if isinstance(X, SliceDataset):
        # skorch's way to give scikit-learn a dataset's X: its rows, stacked.
        X = np.stack([np.asarray(row) for row in X]) if len(X) else np.empty((0,))
    _check_not_inputs_list(X)
    X = _add_channel_axis(X)
    if not reset:
        _check_image_shape(estimator, X)
    check = dict(
        dtype=_validation_dtype(dtype, cast),
        allow_nd=True,
        accept_sparse=("csr", "csc"),
    )
    if y is not _NO_Y:
        _check_not_ragged(estimator, y)
    if y is _NO_Y:
        X = validate_data(estimator, X, reset=reset, **check)
    else:
        X, y = validate_data(
            estimator,
            X,
            y,
            reset=reset,
            multi_output=True,
            y_numeric=target_kind == "continuous",
            **check,
        )
        y = _check_target_shape(estimator, y, target_kind)
    if sp.issparse(X):
        X = X.tocsr()
        if not X.has_sorted_indices:
            # A sorted copy: the user's matrix is never changed (its arrays
            # may be read-only).
            X = X.sorted_indices()
    if X.ndim not in (2, 4):
        raise ValueError(
            f"Found array with dim {X.ndim}. {type(estimator).__name__} expects "
            "2-d tabular data (n_samples, n_features) or images shaped "
            "(n_samples, height, width) or (n_samples, channels, height, width)."
        )
    if X.ndim == 4 and reset:
        _warn_channels_last(X.shape)
    if reset:
        estimator.input_shape_ = tuple(X.shape[1:])
    elif "input_shape_" in vars(estimator):
        _check_sample_shape(estimator, X.shape)
    if dtype is not None:
        X = cast_X(X, dtype) if cast else check_castable(X, dtype)
    return X if y is _NO_Y else (X, y)


def float32_values(X):
    """Whether X holds float32 values: an array's dtype, or every column's of
    a DataFrame (``check_array`` keeps them float32 either way)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not hasattr(X, "dtype"):
        return len(dtypes) > 0 and all(dtype == np.float32 for dtype in dtypes)
    return getattr(X, "dtype", None) == np.float32


def _validation_dtype(dtype, cast=True):
    # scikit-learn keeps an array whose dtype is in the list, and converts
    # any other to the first.
    kept = [np.float32, np.float64, *_INTEGER_DTYPES]
    if dtype is None:
        return kept
    if not cast:
        return [dtype.floating, *(kind for kind in kept if kind != dtype.floating)]
    if dtype.integers:
        return [dtype.floating, *_INTEGER_DTYPES]
    return dtype.floating


def batch_dtype(X, dtype):
    """The numpy dtype X's values take for the ``InputDtype`` ``dtype``."""
    if dtype.integers and X.dtype.kind in "iu":
        return np.dtype(np.int64)
    return np.dtype(dtype.floating)


def check_castable(X, dtype):
    """Return X after refusing, as validation to float32 refuses them, values
    beyond what ``dtype`` holds; without converting (or copying) X."""
    if isinstance(X, dict) or dtype is None:
        return X
    target = batch_dtype(X, dtype)
    values = X.data if sp.issparse(X) else X
    narrowing = values.dtype.kind == "f" and values.dtype.itemsize > target.itemsize
    if narrowing and values.size:
        extremes = np.array([np.max(values), np.min(values)])
        with np.errstate(over="ignore"):
            overflows = np.isinf(extremes.astype(target))
        if overflows.any():
            raise ValueError(
                f"Input X contains infinity or a value too large for {target!r}."
            )
    return X


def cast_X(X, dtype):
    """Validated X in the ``InputDtype`` ``dtype``: no copy when it is already.

    Integer X becomes int64 when ``dtype.integers``; any other array becomes
    ``dtype.floating``. Values beyond float32's range are refused in
    scikit-learn's words, as validation to float32 refuses them. A dict of
    arrays is returned as it is.
    """
    if isinstance(X, dict) and not sp.issparse(X):
        return X
    target = batch_dtype(X, dtype)
    if target.kind == "i":
        return X.astype(np.int64, copy=False)
    if X.dtype == target:
        return X
    narrowing = X.dtype.kind == "f" and X.dtype.itemsize > target.itemsize
    return check_array(
        X,
        accept_sparse="csr",
        dtype=target,
        ensure_all_finite=narrowing,
        ensure_2d=False,
        allow_nd=True,
        ensure_min_samples=0,
        ensure_min_features=0,
        input_name="X",
    )


def _check_not_ragged(estimator, y):
    """Targets of different lengths (sequences) in plain words, not numpy's."""
    if not (isinstance(y, np.ndarray) and y.dtype == object and y.ndim >= 1):
        return
    shapes = {np.shape(value) for value in y.ravel()[:10_000]}
    if len(shapes) > 1 or shapes - {()}:
        raise ValueError(
            f"y holds arrays as values (shapes {sorted(shapes)[:3]}...); "
            f"{type(estimator).__name__} needs one label or value per sample, "
            "or a 2-d array of equal-length rows. For sequences of different "
            "lengths, pass a torch Dataset yielding (X, y) pairs and a module "
            "and criterion that handle them."
        )


def _check_target_shape(estimator, y, target_kind):
    y = np.asarray(y) if not hasattr(y, "shape") else y
    if y.ndim == 2 and y.shape[1] == 1 and target_kind != "continuous":
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=4,
        )
        return np.ravel(y)
    if y.ndim > 2:
        raise ValueError(f"y should be a 1d or 2d array, got shape {y.shape}.")
    if target_kind == "continuous":
        if y.dtype.kind in "USV":
            raise ValueError(
                "dtype='numeric' is not compatible with arrays of bytes/strings: "
                "y holds text. Convert it to numbers explicitly (e.g. "
                "y.astype(float))."
            )
        _check_float32_range(y)
    return y


def _check_float32_range(y):
    # The network computes in float32; larger targets would overflow silently.
    largest = np.max(np.abs(y)) if np.size(y) else 0.0
    if largest > np.finfo(np.float32).max / 16:
        raise ValueError(
            f"y has values up to {largest:.3g}, beyond what float32 networks can "
            "represent (about 3.4e38); rescale the target (e.g. divide it by a "
            "constant or take its logarithm)."
        )


def _check_dict_X(estimator, X, *, reset, y, target_kind):
    if not X:
        raise ValueError("X is an empty dict; give one array per forward argument.")
    arrays = {}
    for key, value in X.items():
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32, copy=False)
        elif array.dtype.kind not in "iub":
            raise ValueError(
                f"X[{key!r}] has dtype {array.dtype}; dict inputs must be numeric."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"Input X[{key!r}] contains NaN or infinity.")
        arrays[key] = array
    lengths = {key: len(value) for key, value in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"The arrays in X have different lengths: {lengths}.")
    shapes = {key: tuple(value.shape[1:]) for key, value in arrays.items()}
    if reset:
        estimator.input_shape_ = shapes  # each array's sample shape by key
        estimator.n_features_in_ = len(arrays)
    else:
        _check_dict_shapes(estimator, shapes)
    if y is _NO_Y:
        return arrays
    y = _check_target_shape(estimator, np.asarray(y), target_kind)
    if len(y) != next(iter(lengths.values())):
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{next(iter(lengths.values()))}, {len(y)}]"
        )
    return arrays, y


def _check_dict_shapes(estimator, shapes):
    """The same keys with samples of the same shapes as at fit."""
    fitted = estimator.__dict__.get("input_shape_")
    if not isinstance(fitted, dict) or shapes == fitted:
        return  # unknown for a net restored by load_params

    def describe(found):
        return ", ".join(f"{key!r}: {shape}" for key, shape in sorted(found.items()))

    raise ValueError(
        f"X has arrays with samples of shapes {{{describe(shapes)}}}, but "
        f"{type(estimator).__name__} was fitted on {{{describe(fitted)}}}."
    )


def _warn_channels_last(shape):
    _, second, *_, last = shape
    if last in (1, 3, 4) and second not in (1, 3, 4):
        warnings.warn(
            f"X has shape {tuple(shape)}: images are read as (n, channels, "
            f"height, width), so this is {second} channels of "
            f"{shape[2]}x{shape[3]} images. If the channels are last, pass "
            "np.moveaxis(X, -1, 1).",
            UserWarning,
            stacklevel=4,
        )


def _check_image_shape(estimator, X):
    # The whole sample shape says more than scikit-learn's "X has 64
    # features, but ... is expecting 1" (channels, or a table fit) would.
    if "input_shape_" not in vars(estimator):
        return  # initialized but never fitted (skorch's restore workflow)
    fitted = estimator.input_shape_
    shape = getattr(X, "shape", None)
    if fitted is None or shape is None or len(shape) < 2:
        return
    if isinstance(fitted, dict):
        _check_sample_shape(estimator, shape)
        return
    if len(fitted) == 3 or len(shape) > 2:
        _check_sample_shape(estimator, shape)


def _check_sample_shape(estimator, shape):
    if isinstance(estimator.input_shape_, dict):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on a dict of arrays; pass "
            "one again."
        )
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


def encode_labels(owner, y, *, classes=None, binary=False):
    """Check classification targets and return (classes, integer codes).

    ``owner`` is the estimator's class name, for messages.

    ``classes`` fixes the label set (``partial_fit``'s argument, or the fitted
    ``classes_``); otherwise it is taken from ``y``. A multilabel indicator
    matrix (one 0/1 column per label, as ``MLPClassifier`` takes) gives
    ``classes = arange(n_labels)`` and the matrix itself as float32 codes.
    """
    # check_classification_targets' test and words, with one type_of_target.
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind == "multilabel-indicator" and not binary:
        return _encode_multilabel(owner, y, classes)
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
        _check_two_classes(owner, classes)
        return classes, codes.reshape(-1).astype(np.int64)
    _check_two_classes(owner, classes)
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


def _encode_multilabel(owner, y, classes):
    indicator = y.toarray() if sp.issparse(y) else np.asarray(y)
    n_labels = indicator.shape[1]
    if classes is not None and len(classes) != n_labels:
        raise ValueError(
            f"y has {n_labels} labels, but {owner} was fitted with {len(classes)}."
        )
    return np.arange(n_labels), indicator.astype(np.float32)


def _check_two_classes(owner, classes):
    if len(classes) < 2:
        raise ValueError(
            f"{owner} needs samples of at least 2 classes in the "
            f"data, but the data contains only one class: {classes[0]!r}."
        )


def sample_weights(estimator, X, y, sample_weight, class_weight=None):
    """Return per-sample float32 loss weights: ``sample_weight`` times class weights.

    Zero weights are allowed (the row then has no effect); negative, non-finite
    or all-zero weights are an error.
    """
    n_samples = len(next(iter(X.values()))) if isinstance(X, dict) else X.shape[0]
    weights = _check_sample_weight(
        sample_weight,
        np.empty((n_samples, 0)),
        dtype=np.float32,
        ensure_non_negative=True,
    )
    if class_weight is not None:
        weights = weights * _class_weights(estimator, y, class_weight)
    if not np.all(np.isfinite(weights)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight must contain at least one positive weight.")
    return np.ascontiguousarray(weights, dtype=np.float32)


def _class_weights(estimator, y, class_weight):
    if np.ndim(y) == 2:
        raise ValueError(
            "class_weight is not supported for multilabel targets; pass "
            "criterion__pos_weight (a tensor with one weight per label) instead."
        )
    if isinstance(class_weight, dict):
        values = np.asarray(list(class_weight.values()), dtype=np.float64)
        if np.any(~np.isfinite(values)) or np.any(values < 0):
            raise ValueError(
                f"class_weight must hold non-negative finite weights, got "
                f"{class_weight!r}."
            )
    return compute_sample_weight(class_weight, y).astype(np.float32)


def check_weighted_classes(owner, classes, codes, weights):
    """A classifier needs two classes with positive weight to learn anything."""
    if codes.ndim == 2:  # multilabel: every label is its own binary problem
        return
    weighted = np.unique(codes[weights > 0]).astype(np.int64)
    if len(weighted) < 2:
        raise ValueError(
            f"{owner} needs samples of at least 2 classes with "
            "positive sample_weight, but only one class has any: "
            f"{classes[weighted[0]]!r}."
        )
