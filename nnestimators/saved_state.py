"""The fitted state a checkpoint keeps, and setting it back on a new estimator.

Checkpoints store plain data only. ``fitted_state`` is what the estimators
hand the checkpoint writer (``_checkpoint_fitted``); ``restore`` sets what a
checkpoint read back on the estimator rebuilt from its parameters
(``_restore_fitted``), the target rebuilt whole. Version-2 checkpoints
stored the target's parts (``classes_``, ``target_mean_``, ...); they are
read into the same target, which for a classifier trained on the labels
0..k-1 cannot tell multiclass from multilabel targets: that is asked for.
"""

import numpy as np
import torch

from . import augment, modules
from .checkpoints import CheckpointError
from .optimizers import AdamOrSGD
from .targets import Target

# Fitted attributes that, with the parameters and the target, rebuild the
# estimator; loading sets these and no others.
FITTED = (
    "n_features_in_",
    "feature_names_in_",
    "input_shape_",
    "n_outputs_",
    "device_",
    "best_epoch_",
    "module_outputs_",
)
# What version-2 checkpoints stored of the target instead of it.
_V2_TARGET = ("classes_", "target_mean_", "target_scale_", "_target_ndim")


def fitted_state(estimator):
    """The estimator's fitted attributes, the target as plain data."""
    state = {
        name: getattr(estimator, name) for name in FITTED if name in vars(estimator)
    }
    target = vars(estimator).get("target_")
    if target is not None:
        state["target_"] = target.get_state()
    return state


def restore(estimator, fitted, version, target_kind=None):
    """Set a checkpoint's fitted attributes on an estimator rebuilt from it.

    ``target_kind`` (``"labels"`` or ``"multilabel"``) says what a version-2
    classifier checkpoint trained on the labels 0..k-1 could not record.
    """
    known = set(FITTED) | ({"target_"} if version >= 3 else set(_V2_TARGET))
    unknown = sorted(set(fitted) - known)
    if unknown:
        raise ValueError(
            f"it records a fitted attribute {unknown[0]!r}, which nnestimators "
            "never writes"
        )
    if version >= 3:
        state = fitted.pop("target_", None)
    else:
        parts = {name: fitted.pop(name) for name in _V2_TARGET if name in fitted}
        state = (
            _v2_target_state(estimator, parts, fitted, target_kind) if parts else None
        )
    for name, value in fitted.items():
        setattr(estimator, name, value)
    if state is not None:
        if not isinstance(state, dict):
            raise ValueError(f"its target_ is {type(state).__name__}, not a mapping")
        estimator.target_ = Target.from_state(state)


def _v2_target_state(estimator, parts, fitted, target_kind):
    owner = type(estimator).__name__
    target = estimator._new_target(None)
    if target.task == "regression":
        mean = np.atleast_1d(np.asarray(parts.get("target_mean_", 0.0), dtype=float))
        scale = np.atleast_1d(np.asarray(parts.get("target_scale_", 1.0), dtype=float))
        ndim = parts.get("_target_ndim", 1 if len(mean) == 1 else 2)
        return {**target.get_state(), "mean": mean, "scale": scale, "ndim": ndim}
    classes = np.asarray(parts["classes_"])
    state = {**target.get_state(), "classes": classes}
    if target.kind == "binary":  # one logit: never multilabel
        return state
    if target_kind is None and _could_be_multilabel(classes):
        raise CheckpointError(
            f"This checkpoint was written by an older nnestimators (format 2), "
            f"which did not record whether the {owner} was trained on class "
            f"labels or on a multilabel indicator matrix: its classes are "
            f"{classes.tolist()!r}, as both would have them. Say which: "
            f"{owner}.from_checkpoint(path, target_kind='labels') or "
            "target_kind='multilabel'."
        )
    if target_kind not in (None, "labels", "multilabel"):
        raise ValueError(
            f"target_kind must be 'labels' or 'multilabel', got {target_kind!r}."
        )
    return {**state, "kind": target_kind or "labels"}


def _could_be_multilabel(classes):
    """Multilabel fits had the classes 0..n_labels-1, integers."""
    return classes.dtype.kind in "iu" and np.array_equal(
        classes, np.arange(len(classes))
    )


def estimator_family(base):
    """The package's estimator classes (public subclasses of ``base``), which
    a checkpoint may hold; nothing is imported to find them."""
    family, pending = [], list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        public = not cls.__name__.startswith("_")
        if cls.__module__.split(".")[0] == "nnestimators" and public:
            family.append(cls)
    return family


def library_classes():
    """The package's classes a checkpoint's parameters may name."""
    return [AdamOrSGD] + [
        obj
        for namespace, kind in (
            (modules, torch.nn.Module),
            (augment, augment.Augmentation),
        )
        for name, obj in vars(namespace).items()
        if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, kind)
    ]
