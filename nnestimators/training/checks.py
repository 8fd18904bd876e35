"""Every training setting either acts or fails before training starts.

Run at the start of ``fit``/``partial_fit``, before any data is read: the
metrics must be scorers scikit-learn knows, ``monitor`` must name a key the
fit will record, ``checkpoint_dir`` must be usable, callbacks must be
callbacks.
"""

import difflib
import inspect
import warnings

import torch
from skorch.callbacks import Callback

from ..checkpoints import check_checkpoint_dir
from ..optimizers import learning_rate, optimizer_class, sgd_sized
from ..overrides import builds_own_components
from .defaults import metric_names, monitor_required, uses_monitor
from .metrics import make_scorers
from .monitor import canonical_key

_HOOKS = ("on_train_begin", "on_epoch_end", "on_batch_end")


def check_training_setup(estimator, has_validation):
    """Raise ``ValueError`` for a setting that would silently do nothing.

    ``has_validation`` says whether the fit will have validation data
    (``preparation.has_validation``).
    """
    _check_device(estimator.device)
    _check_callbacks(estimator.callbacks)
    scorers = make_scorers(metric_names(estimator), estimator._target().metric_context)
    train_scorers = scorers if estimator.metrics is not None else {}
    monitor = canonical_key(estimator.monitor)
    if uses_monitor(estimator):
        if monitor.startswith("valid_") and not has_validation:
            raise ValueError(
                f"patience, checkpoint_dir and lr_schedule='plateau' watch "
                f"monitor={estimator.monitor!r}, which needs validation data: set "
                "validation_fraction (e.g. 0.1), pass fit(..., validation_data="
                "(X_val, y_val)), or monitor='train_loss'."
            )
        _check_monitor(estimator, monitor, scorers, train_scorers, has_validation)
    elif monitor_required(estimator):
        # A monitor the user chose must act: restore_best_weights reads it.
        _check_monitor(estimator, monitor, scorers, train_scorers, has_validation)
    _check_lr_schedule_arguments(estimator)
    if not builds_own_components(estimator):
        check_optimizer_arguments(estimator)
    if estimator.checkpoint_dir is not None:
        check_checkpoint_dir(estimator.checkpoint_dir)


def recorded_keys(scorers, train_scorers, has_validation):
    """The history keys a fit records for these metrics."""
    keys = {"train_loss"} | {f"train_{name}" for name in train_scorers}
    if has_validation:
        keys |= {"valid_loss"} | {f"valid_{name}" for name in scorers}
        if "accuracy" in scorers:
            keys.add("valid_acc")  # skorch's name, recorded beside ours
    return keys


def _check_monitor(estimator, monitor, scorers, train_scorers, has_validation):
    known = recorded_keys(scorers, train_scorers, has_validation)
    user_keys, opaque = _user_callback_keys(estimator.callbacks)
    if monitor in known | user_keys or opaque:
        return  # an opaque user callback may record it: checked after epoch 1
    close = difflib.get_close_matches(monitor, sorted(known | user_keys), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"monitor={estimator.monitor!r} is not recorded by this fit.{hint} "
        f"Recorded keys: {sorted(known | user_keys)}. Add the metric to "
        "metrics=[...] (recorded as train_<name> and valid_<name>), or give "
        "validation data for valid_* keys (validation_fraction or "
        "fit(..., validation_data=...))."
    )


def _check_lr_schedule_arguments(estimator):
    if estimator.lr_schedule is not None:
        return
    given = sorted(estimator.get_params_for("lr_schedule"))
    if given:
        names = ", ".join(f"lr_schedule__{name}" for name in given)
        raise ValueError(
            f"{names} given, but lr_schedule=None: set lr_schedule (e.g. "
            "'step', 'cosine', 'plateau') for them to act."
        )


def check_optimizer_arguments(estimator):
    """``optimizer__*`` must be arguments the optimizer in use takes.

    skorch's default optimizer is SGD, which takes ``momentum`` and
    ``nesterov``; Adam does not (the default here, ``AdamOrSGD``, builds SGD
    when they are given). Also warn of an ``lr`` meant for SGD given to Adam.
    """
    optimizer = optimizer_class(estimator)
    given = estimator.get_params_for("optimizer")
    name = getattr(optimizer, "__name__", repr(optimizer))
    accepted = _keyword_arguments(optimizer)
    if accepted is not None:
        valid = sorted((accepted - {"params", "self"}) | {"param_groups"})
        unknown = sorted(key for key in given if key not in valid)
        if unknown:
            hint = ""
            if set(unknown) <= _keyword_arguments(torch.optim.SGD):
                hint = (
                    f" The optimizer here is {name} (skorch's default is SGD): "
                    "pass optimizer=torch.optim.SGD to use "
                    + ", ".join(unknown)
                    + " (with lr=0.01, skorch's default rate)."
                )
            raise ValueError(
                f"Invalid parameter {unknown[0]!r} for optimizer {name} (given as "
                f"optimizer__{unknown[0]}). Valid parameters are: {valid!r}.{hint}"
            )
    lr = learning_rate(estimator)
    if optimizer in _ADAM and sgd_sized(lr):
        warnings.warn(
            f"lr={lr} is large for {name}, a rate meant for SGD (skorch's "
            f"default optimizer): {name} moves each weight by about lr per "
            "step, and training may collapse. Pass an lr near 1e-3 for "
            f"{name}, or optimizer=torch.optim.SGD (the default optimizer, "
            "AdamOrSGD, chooses SGD for such rates).",
            UserWarning,
            stacklevel=6,  # the user's fit
        )


_ADAM = (torch.optim.Adam, torch.optim.AdamW)


def _keyword_arguments(factory):
    """The names ``factory`` takes, or None when it takes any (``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind != p.VAR_POSITIONAL}


def _user_callback_keys(callbacks):
    """Names user scoring callbacks record, and whether others might record more."""
    keys, opaque = set(), False
    if callbacks in (None, "disable"):
        return keys, opaque
    for item in callbacks:
        callback = item[1] if isinstance(item, tuple) else item
        name = getattr(callback, "name", None)
        if isinstance(name, str):
            keys.add(name)
        elif isinstance(callback, Callback) or callback is not None:
            opaque = opaque or hasattr(callback, "on_epoch_end")
    return keys, opaque


def _check_callbacks(callbacks):
    if callbacks in (None, "disable"):
        return
    for item in callbacks:
        callback = item
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[0], str):
                raise ValueError(
                    f"callbacks must hold callbacks or (name, callback) pairs, "
                    f"got {item!r}."
                )
            callback = item[1]
        if callback is None:
            continue
        is_class = isinstance(callback, type) and issubclass(callback, Callback)
        has_hooks = any(hasattr(callback, hook) for hook in _HOOKS)
        if not (is_class or has_hooks):
            raise ValueError(
                f"callbacks must hold skorch callbacks (or objects with their "
                f"on_* methods), got {callback!r}."
            )


def _check_device(device):
    if device in (None, "auto"):
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if kind == "meta":
        raise ValueError(
            "device='meta' holds no data and cannot train; use 'cpu', 'cuda', "
            "'mps' or 'auto'."
        )
