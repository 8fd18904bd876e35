"""The dict written to ``checkpoint.pt``, built from an estimator."""

import json
import warnings

import numpy as np
import sklearn
import skorch
import torch

from .._version import __version__
from .codec import PLAIN_TYPES, NotSaveable, encode, import_path
from .integrity import checksums
from .layout import FORMAT, FORMAT_VERSION


def build_payload(estimator):
    """Return the dict written to ``checkpoint.pt`` and the configuration."""
    tensors = []
    config = _config(estimator, tensors)
    history = [_encode_history_row(row, tensors) for row in estimator.history_]
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(config),
        "history": json.dumps(history),
        "module": _module_state(estimator),
        "optimizer": _optional_state(estimator, "optimizer_"),
        "lr_scheduler": _optional_state(estimator, "lr_scheduler_"),
        "tensors": tensors,
    }
    extra = _extra_module_states(estimator)
    if extra:  # a subclass's own modules (module2_, ...)
        payload["extra_modules"] = extra
    payload["checksums"] = checksums(payload)
    return payload, config


def _config(estimator, tensors):
    params, not_saved = _encode_params(estimator, tensors)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": import_path(type(estimator)),
        "params": params,
        "not_saved": not_saved,
        "fitted": _encode_fitted(estimator, tensors),
        "training": _training_summary(estimator, tensors),
        "versions": _versions(),
    }


def _encode_params(estimator, tensors):
    """Encode every parameter; return (encoded, {name: why not saved})."""
    params, not_saved = {}, {}
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = encode(value, tensors)
        except NotSaveable as reason:
            not_saved[name] = str(reason)
    return params, not_saved


def _encode_fitted(estimator, tensors):
    """The estimator's fitted state as it gives it (``_checkpoint_fitted``)."""
    fitted = {}
    for name, value in estimator._checkpoint_fitted().items():
        try:
            fitted[name] = encode(value, tensors)
        except NotSaveable as reason:
            raise ValueError(
                f"Cannot write a checkpoint: the fitted attribute {name} of "
                f"{type(estimator).__name__} has no plain-data form ({reason})."
            ) from None
    return fitted


def _training_summary(estimator, tensors):
    best_epoch = getattr(estimator, "best_epoch_", None)
    monitor = estimator.monitor
    best_value = None
    if best_epoch is not None and 0 < best_epoch <= len(estimator.history_):
        best_value = estimator.history_[best_epoch - 1].get(monitor)
    return {
        "epochs": len(estimator.history_),
        "best_epoch": encode(best_epoch, tensors),
        "monitor": _encode_lenient(monitor, tensors),
        "best_value": _encode_lenient(best_value, tensors),
    }


def _encode_history_row(row, tensors):
    return {str(key): _encode_lenient(value, tensors) for key, value in row.items()}


def _encode_lenient(value, tensors):
    # The history is a record, not code: what has no plain form is kept as text.
    try:
        return encode(value, tensors)
    except NotSaveable:
        return repr(value)


def _versions():
    return {
        "nnestimators": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def _module_state(estimator, name="module"):
    state = getattr(estimator, name + "_").state_dict()
    if not _is_plain(state):
        raise ValueError(
            f"Cannot write a checkpoint: the state_dict of {type(estimator).__name__}"
            f"'s {name} holds objects other than tensors and plain values."
        )
    return state


def _extra_module_states(estimator):
    """State dicts of the modules a subclass builds besides ``module_``."""
    names = [name for name in estimator._modules if name != "module"]
    return {
        name: _module_state(estimator, name)
        for name in names
        if isinstance(getattr(estimator, name + "_", None), torch.nn.Module)
    }


def _optional_state(estimator, name):
    component = getattr(estimator, name, None)
    if component is None:
        return None
    try:
        return _plain_state(component.state_dict())
    except NotSaveable as reason:
        # Without it, resuming starts this component afresh; the model is intact.
        warnings.warn(
            f"The state of {name} ({type(component).__name__}) holds a {reason}, "
            "not a tensor or plain value; the checkpoint leaves it out.",
            UserWarning,
            stacklevel=5,
        )
        return None


def _is_plain(value):
    """Whether ``torch.load(weights_only=True)`` can read ``value`` back."""
    if isinstance(value, torch.Tensor | torch.Size) or type(value) in PLAIN_TYPES:
        return True
    if type(value) in (list, tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


def _plain_state(value):
    """A copy of a state dict with numpy scalars made Python numbers.

    They get there from parameters (``lr=np.float64(0.01)`` from a parameter
    grid lands in the optimizer's ``param_groups``), and ``weights_only``
    loading refuses them. Raises ``NotSaveable`` naming any other object.
    """
    if isinstance(value, np.generic):
        return _plain_state(value.item())
    if isinstance(value, torch.Tensor | torch.Size) or type(value) in PLAIN_TYPES:
        return value
    if type(value) in (list, tuple):
        return type(value)(_plain_state(item) for item in value)
    if isinstance(value, dict):
        return {_plain_state(k): _plain_state(v) for k, v in value.items()}
    raise NotSaveable(type(value).__name__)
