"""Rebuilding a fitted estimator from its checkpoint folder."""

import json
import os
import pickle
import warnings

import torch
from skorch.history import History

from ..runtime import resolve_device, resolve_n_threads, seeded, torch_threads
from ..training.monitor import lower_is_better
from ..training.schedules import make_scheduler
from .codec import decode, describe_not_saved, device_available, resolve
from .layout import CHECKPOINT_FILE, FORMAT, FORMAT_VERSION


def load_checkpoint(cls, path, **params):
    """Rebuild a fitted estimator from a checkpoint folder.

    Parameters
    ----------
    cls : type
        The estimator class asked for; the checkpoint must hold an instance
        of it or of a subclass (which is then returned).
    path : str or path-like
        A fit's checkpoint folder (``checkpoint_path_``), its
        ``checkpoint.pt``, or a ``checkpoint_dir`` holding exactly one fit.
    **params
        Parameters overriding the saved ones; required for those the
        checkpoint lists as not saved.

    Returns
    -------
    estimator : object
        A fitted estimator with the checkpoint's weights, optimizer state and
        history; ``set_params(warm_start=True).fit(X, y)`` continues training.
    """
    folder = _find_fit_folder(path)
    payload = _read_payload(os.path.join(folder, CHECKPOINT_FILE))
    config = json.loads(payload["config"])
    tensors = payload["tensors"]
    estimator_class = _checked_class(config["class"], cls, folder)
    saved = _decode_params(config, tensors, params, estimator_class)
    estimator = estimator_class(**{**saved, **params})
    _restore_fitted(estimator, config, tensors, params)
    with (
        torch_threads(resolve_n_threads(estimator.n_threads)),
        seeded(0, estimator.device_),  # leaves the caller's random state alone
    ):
        estimator.initialize()
    estimator.history_ = History(decode(json.loads(payload["history"]), tensors))
    _restore_state(estimator, payload)
    estimator.checkpoint_path_ = folder
    # A warm-started fit of the loaded estimator continues in this folder.
    estimator._checkpoint_history = estimator.history_
    return estimator


def _find_fit_folder(path):
    """Return the fit folder that ``path`` names or, in a checkpoint_dir, holds."""
    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path) and os.path.basename(path) == CHECKPOINT_FILE:
        return os.path.dirname(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No checkpoint folder {path!r}.")
    if os.path.isfile(os.path.join(path, CHECKPOINT_FILE)):
        return path
    fits = sorted(
        entry.path
        for entry in os.scandir(path)
        if entry.is_dir() and os.path.isfile(os.path.join(entry.path, CHECKPOINT_FILE))
    )
    if not fits:
        raise FileNotFoundError(
            f"No checkpoint in {path!r}: expected a fit's folder holding "
            f"{CHECKPOINT_FILE}, or a checkpoint_dir with one such folder."
        )
    if len(fits) > 1:
        listing = "\n".join(f"  {fit}" for fit in fits)
        raise ValueError(
            f"{path!r} holds the checkpoints of {len(fits)} fits; pass the folder "
            f"of one of them:\n{listing}"
        )
    return fits[0]


def _read_payload(file):
    try:
        # weights_only: tensors and plain values only, never pickled objects.
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{file} holds Python objects other than tensors and plain values. "
            "nnestimators checkpoints never do, and loading it could run code, "
            "so it is not loaded."
        ) from exc
    except (RuntimeError, EOFError) as exc:
        raise ValueError(f"{file} cannot be read as a checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{file} is not an nnestimators checkpoint.")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{file} was written by a newer nnestimators (checkpoint format "
            f"{payload['format_version']}); upgrade nnestimators to load it."
        )
    return payload


def _checked_class(path, cls, folder):
    if path == f"{cls.__module__}:{cls.__qualname__}":
        return cls
    try:
        recorded = resolve(path)
    except (ImportError, AttributeError):
        raise ValueError(
            f"The checkpoint in {folder!r} holds a {path}, which cannot be imported "
            "here."
        ) from None
    if not (isinstance(recorded, type) and issubclass(recorded, cls)):
        name = getattr(recorded, "__name__", path)
        raise ValueError(
            f"The checkpoint in {folder!r} holds a {name}, not a {cls.__name__}; "
            f"load it with {name}.from_checkpoint."
        )
    return recorded


def _decode_params(config, tensors, overrides, estimator_class):
    """Decode the saved parameters that ``overrides`` does not replace."""
    missing = {
        name: why for name, why in config["not_saved"].items() if name not in overrides
    }
    if missing:
        raise ValueError(_pass_again_message(estimator_class, missing, "cannot store"))
    params, failed = {}, {}
    for name, value in config["params"].items():
        if name in overrides:
            continue
        try:
            params[name] = decode(value, tensors)
        except Exception as exc:  # an import or constructor of the user's code
            failed[name] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise ValueError(_pass_again_message(estimator_class, failed, "cannot rebuild"))
    return params


def _pass_again_message(estimator_class, reasons, verb):
    name = estimator_class.__name__
    arguments = ", ".join(f"{param}=..." for param in reasons)
    return (
        f"The checkpoint {verb} {name}'s parameter"
        f"{'s' if len(reasons) > 1 else ''} {describe_not_saved(reasons)}; pass "
        f"{'it' if len(reasons) == 1 else 'them'} again: "
        f"{name}.from_checkpoint(path, {arguments})."
    )


def _restore_fitted(estimator, config, tensors, overrides):
    fitted = {name: decode(value, tensors) for name, value in config["fitted"].items()}
    fitted["device_"] = _loading_device(fitted.get("device_", "cpu"), overrides)
    for name, value in fitted.items():
        setattr(estimator, name, value)


def _loading_device(recorded, overrides):
    """The device to load on: an explicit ``device``, else the recorded one."""
    if "device" in overrides:
        return resolve_device(overrides["device"])
    if device_available(recorded):
        return recorded
    warnings.warn(
        f"The checkpoint was trained on device_={recorded!r}, which is not "
        "available here; it is loaded on the CPU.",
        UserWarning,
        stacklevel=5,
    )
    return "cpu"


def _restore_state(estimator, payload):
    """Load the weights, then the optimizer and scheduler states, in torch's order."""
    estimator.module_.load_state_dict(payload["module"])
    scheduler_state = payload.get("lr_scheduler")
    # Building a scheduler resets the optimizer's learning rate, so it comes
    # first and the saved optimizer state then puts the rate back.
    scheduler = _rebuild_scheduler(estimator, scheduler_state)
    if payload.get("optimizer") is not None:
        estimator.optimizer_.load_state_dict(payload["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(scheduler_state)
        estimator.lr_scheduler_ = scheduler


def _rebuild_scheduler(estimator, scheduler_state):
    if scheduler_state is None or estimator.lr_schedule is None:
        return None
    return make_scheduler(
        estimator.lr_schedule,
        estimator.optimizer_,
        estimator.get_params_for("lr_schedule"),
        lower_is_better=lower_is_better(estimator.monitor),
        # Only a default: the saved state sets the schedule's length.
        max_epochs=max(1, len(estimator.history_)),
    )
