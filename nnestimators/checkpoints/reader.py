"""Rebuilding a fitted estimator from its checkpoint folder."""

import functools
import json
import os
import pickle
import warnings

import torch
from skorch.history import History

from ..runtime import resolve_device, resolve_n_threads, seeded, torch_threads
from ..training.schedules import make_scheduler
from .archive import check_archive
from .codec import (
    Decoder,
    Malformed,
    describe_not_saved,
    device_available,
    known_device,
)
from .errors import CheckpointError, CorruptCheckpointError, UntrustedCheckpointError
from .integrity import verify
from .layout import CHECKPOINT_FILE, FORMAT, FORMAT_VERSION
from .limits import Budget, check_payload, tensor_cap
from .trust import TrustPolicy, object_path, short_name, untrusted_error

# Parameters a checkpoint never sets: where a loaded estimator writes is the
# caller's choice alone.
NOT_RESTORED = ("checkpoint_dir",)
# How from_checkpoint(checkpoint_dir, which=...) picks among several fits.
WHICH = (None, "latest", "earliest")


def load_checkpoint(
    cls,
    path,
    *,
    family=(),
    library=(),
    restore_options=None,
    trusted=None,
    which=None,
    **params,
):
    """Rebuild a fitted estimator from a checkpoint folder.

    Loading imports and calls nothing the caller did not trust. The file
    names classes as data; only those of the built-in allow-list (``torch.nn``
    modules and losses, ``torch.optim`` optimizers and schedulers,
    ``nnestimators.modules`` and ``nnestimators.augment``), those in
    ``trusted`` and those passed again in ``params`` are used. Anything else
    raises ``UntrustedCheckpointError`` before it is imported. The file's
    checksums are verified first: a damaged file raises
    ``CorruptCheckpointError``.

    Parameters
    ----------
    cls : type
        The estimator class asked for; the checkpoint must hold an instance
        of it or of a subclass (which is then returned).
    family : iterable of classes
        The estimator classes the checkpoint may hold, handed in by the
        estimators (nothing here imports them). The estimator rebuilt sets
        its fitted state itself, from plain data: its
        ``_restore_fitted(fitted, format_version)``.
    library : iterable of classes
        The package's own classes (modules, augmentations) parameters may
        name, besides torch's.
    restore_options : dict, default=None
        Passed to the estimator's ``_restore_fitted``.
    path : str or path-like
        A fit's checkpoint folder (``checkpoint_path_``), its
        ``checkpoint.pt``, or a ``checkpoint_dir``: holding one fit, or
        several with ``which`` saying which to load.
    trusted : list of classes and functions, default=None
        Classes and functions, defined at the top level of a module, that
        the checkpoint may name besides the built-in allow-list: your own
        module class, say. They are matched by identity, never imported.
    which : {None, "latest", "earliest"}, default=None
        For a ``checkpoint_dir`` holding several fits: ``"latest"`` loads
        the fit whose checkpoint was written last (re-running a notebook
        cell), ``"earliest"`` the one written first. None refuses such a
        folder, listing its fits, so that nothing is loaded by surprise.
    **params
        Parameters overriding the saved ones, which are then not read at
        all; required for those the checkpoint lists as not saved. The
        classes and functions among them are trusted as well.

    Returns
    -------
    estimator : object
        A fitted estimator with the checkpoint's weights, optimizer state and
        history; ``set_params(warm_start=True).fit(X, y)`` continues training.
    """
    policy = TrustPolicy(trusted, params, family=family, library=library)
    folder = _find_fit_folder(path, which)
    file = os.path.join(folder, CHECKPOINT_FILE)
    payload, size = _read_payload(file)
    config, history = _read_config(payload, file)
    # What rebuilding may allocate, set by the file: the JSON's arrays by
    # its length, the modules its parameters build by the tensor data.
    budget = Budget(len(payload["config"]) + len(payload["history"]), tensor_cap(size))
    decoders = functools.partial(Decoder, payload["tensors"], budget=budget)
    estimator_class = _checked_class(config["class"], cls, folder, policy)
    refused = {}
    fitted = _decode_fitted(config, decoders, refused, file)
    history = _decode_data("history", history, decoders, refused, file)
    saved = _decode_params(config, decoders, params, estimator_class, policy, refused)
    if refused:
        raise untrusted_error(estimator_class, folder, refused)
    estimator = estimator_class(**{**saved, **params})
    fitted["device_"] = _loading_device(fitted.get("device_", "cpu"), params)
    try:
        estimator._restore_fitted(
            fitted, payload.get("format_version", 0), **(restore_options or {})
        )
    except CheckpointError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its fitted state is malformed ({exc})."
        ) from None
    _check_module_size(estimator, budget, file)
    try:
        with (
            torch_threads(resolve_n_threads(estimator.n_threads)),
            seeded(0, estimator.device_),  # leaves the caller's random state alone
        ):
            estimator.initialize()
    except CheckpointError:
        raise
    except (ValueError, TypeError, AttributeError, RuntimeError) as exc:
        # Trusted classes with values that do not fit them (lr=NaN, an
        # augmentation among the callbacks): what torch or skorch says, as
        # the loader's error.
        raise CorruptCheckpointError(
            f"{file} is not loaded: the estimator its parameters describe "
            f"cannot be built ({type(exc).__name__}: {exc}). A parameter "
            "given to from_checkpoint replaces the saved one."
        ) from exc
    estimator.history_ = History(history)
    try:
        _restore_state(estimator, payload)
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its weights or optimizer state do not fit the "
            f"network its parameters build ({type(exc).__name__}: {exc})."
        ) from None
    estimator.checkpoint_path_ = folder
    return estimator


def _check_module_size(estimator, budget, file):
    """Refuse parameters that would build a module far larger than the
    checkpoint's weights, before it is built (``module__hidden_units``)."""

    def build():
        with estimator._current_init_context("module"):  # skorch's guard
            estimator.initialize_module()
        return estimator.module_

    try:
        budget.check_module(build, "the module")
    except ValueError as exc:
        raise CorruptCheckpointError(f"{file} is not loaded: {exc}.") from None
    finally:
        estimator.__dict__.pop("module_", None)  # the probe's; initialize builds


def _find_fit_folder(path, which=None):
    """Return the fit folder that ``path`` names or, in a checkpoint_dir, holds."""
    if which not in WHICH:
        raise ValueError(f"which must be None, 'latest' or 'earliest', got {which!r}.")
    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path) and os.path.basename(path) == CHECKPOINT_FILE:
        return os.path.dirname(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No checkpoint folder {path!r}.")
    if os.path.isfile(os.path.join(path, CHECKPOINT_FILE)):
        return path
    fits = _fits_by_time(path)
    if not fits:
        raise FileNotFoundError(
            f"No checkpoint in {path!r}: expected a fit's folder holding "
            f"{CHECKPOINT_FILE}, or a checkpoint_dir with one such folder."
        )
    if len(fits) > 1 and which is None:
        listing = "\n".join(f"  {fit}" for fit in fits)
        raise ValueError(
            f"{path!r} holds the checkpoints of {len(fits)} fits (listed from the "
            "earliest written to the latest); pass which='latest' to load the "
            "latest, which='earliest' for the earliest, or the folder of one of "
            f"them:\n{listing}"
        )
    return fits[-1] if which == "latest" else fits[0]


def _fits_by_time(checkpoint_dir):
    """The fit folders in ``checkpoint_dir``, the earliest written checkpoint first.

    Ties (a copy that reset the times) go by folder name, whose date and
    time say when each fit started.
    """
    fits = []
    for entry in os.scandir(checkpoint_dir):
        file = os.path.join(entry.path, CHECKPOINT_FILE)
        if entry.is_dir() and os.path.isfile(file):
            fits.append((os.stat(file).st_mtime_ns, entry.path))
    return [folder for _, folder in sorted(fits)]


def _read_payload(file):
    # Whole, CRCs intact, members and pickle as torch.save writes them,
    # before torch reads a byte of it.
    size = check_archive(file)
    try:
        # weights_only: tensors and plain values only, never pickled objects;
        # sparse tensors are checked to index within their shape.
        with torch.sparse.check_sparse_tensor_invariants():
            payload = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" not in str(exc) and "global" not in str(exc):
            raise CorruptCheckpointError(
                f"{file} is corrupt: torch cannot read its content ({exc})."
            ) from exc
        raise CorruptCheckpointError(
            f"{file} holds Python objects other than tensors and plain values. "
            "nnestimators checkpoints never do: the file is corrupt or was not "
            "written by nnestimators, and loading it could run code, so it is "
            "not loaded."
        ) from exc
    except Exception as exc:  # torch's reader: RuntimeError, OSError, KeyError...
        raise CorruptCheckpointError(
            f"{file} is corrupt: torch cannot read it ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CorruptCheckpointError(
            f"{file} is not an nnestimators checkpoint: it has no "
            f"format={FORMAT!r} entry. It is corrupt, or another file saved under "
            "that name."
        )
    version = payload.get("format_version", 0)
    if type(version) is not int:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its format_version is {version!r}."
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file} was written by a newer nnestimators (checkpoint format "
            f"{version}); upgrade nnestimators to load it."
        )
    check_payload(payload, size, file)  # bounded before anything walks it
    if version >= 2:
        verify(payload, file)
    else:
        warnings.warn(
            f"{file} was written by an older nnestimators, before checkpoints "
            "held checksums: it cannot be checked for corruption.",
            UserWarning,
            stacklevel=4,
        )
    for key in ("config", "history"):
        if type(payload.get(key)) is not str:
            raise CorruptCheckpointError(f"{file} is corrupt: it has no {key} text.")
    if not isinstance(payload.get("tensors"), list | tuple):
        raise CorruptCheckpointError(f"{file} is corrupt: it has no tensors list.")
    return payload, size


# Each entry of the configuration that loading reads, and its JSON type.
_CONFIG_ENTRIES = {"class": str, "params": dict, "not_saved": dict, "fitted": dict}


def _read_config(payload, file):
    """The configuration and history JSON, checked for the layout ``encode`` writes."""
    parsed = {}
    for key in ("config", "history"):
        try:
            parsed[key] = json.loads(payload[key])
        except (ValueError, RecursionError) as exc:  # ValueError: JSONDecodeError
            raise CorruptCheckpointError(
                f"{file} is corrupt: its {key} is not valid JSON ({exc})."
            ) from None
    config, history = parsed["config"], parsed["history"]
    if type(config) is not dict:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its config is {type(config).__name__}, not an object."
        )
    for key, kind in _CONFIG_ENTRIES.items():
        if type(config.get(key)) is not kind:
            found = (
                "missing" if key not in config else f"a {type(config[key]).__name__}"
            )
            raise CorruptCheckpointError(
                f"{file} is corrupt: its config's {key!r} entry is {found}, not a "
                f"{kind.__name__}."
            )
    if not all(type(why) is str for why in config["not_saved"].values()):
        raise CorruptCheckpointError(f"{file} is corrupt: its not_saved is malformed.")
    if type(history) is not list or not all(type(row) is dict for row in history):
        raise CorruptCheckpointError(
            f"{file} is corrupt: its history is not a list of epochs."
        )
    return config, history


def _checked_class(path, cls, folder, policy):
    """The estimator class the checkpoint names, if trusted; imports nothing."""
    if path == object_path(cls):
        return cls
    recorded = policy.lookup_estimator_class(path)
    if recorded is None:
        name = short_name(path)
        raise UntrustedCheckpointError(
            f"The checkpoint in {folder!r} holds a {path}, which is not one of "
            "nnestimators' estimators, so it was not loaded and nothing was "
            f"imported. If you trust where it comes from, load it with "
            f"{name}.from_checkpoint(path), or pass "
            f"{cls.__name__}.from_checkpoint(path, trusted=[{name}])."
        )
    if not (isinstance(recorded, type) and issubclass(recorded, cls)):
        name = recorded.__name__
        raise CheckpointError(
            f"The checkpoint in {folder!r} holds a {name}, not a {cls.__name__}; "
            f"load it with {name}.from_checkpoint."
        )
    return recorded


def _decode_data(field, value, decoders, refused, file):
    """Decode what must be plain data; objects in it are refused.

    ``decoders(policy=None)`` makes a ``Decoder`` for the checkpoint.
    """
    decoder = decoders()
    try:
        decoded = decoder.decode(value)
    except (Malformed, TypeError, ValueError) as exc:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its {field} is malformed ({exc})."
        ) from None
    if decoder.refused:
        refused[field] = decoder.refused
    return decoded


def _decode_fitted(config, decoders, refused, file):
    fitted = {}
    for name, value in config["fitted"].items():
        fitted[name] = _decode_data(f"fitted {name}", value, decoders, refused, file)
    device = fitted.get("device_", "cpu")
    if type(device) is not str or not known_device(device):
        raise CorruptCheckpointError(
            f"{file} is corrupt: its device_ {device!r} is not a device "
            "nnestimators trains on."
        )
    return fitted


def _decode_params(config, decoders, overrides, estimator_class, policy, refused):
    """Decode the saved parameters that ``overrides`` does not replace.

    Names the policy does not trust are not imported: they go to ``refused``.
    """
    missing = {
        name: why
        for name, why in config["not_saved"].items()
        if name not in overrides and name not in NOT_RESTORED
    }
    if missing:
        raise CheckpointError(
            _pass_again_message(estimator_class, missing, "cannot store")
        )
    params, failed = {}, {}
    for name, value in config["params"].items():
        if name in overrides or name in NOT_RESTORED:
            continue  # the caller's value: the saved one is not even decoded
        decoder = decoders(policy)
        try:
            params[name] = decoder.decode(value)
        except Exception as exc:  # malformed, or a trusted constructor refusing
            failed[name] = f"{type(exc).__name__}: {exc}"
        if decoder.refused:
            refused[name] = decoder.refused
            failed.pop(name, None)
    if failed and not refused:
        raise CheckpointError(
            _pass_again_message(estimator_class, failed, "cannot rebuild")
        )
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


def _restore_extra_modules(estimator, states):
    """Weights of the modules a subclass builds besides ``module_``."""
    if states is None:
        return
    built = {name for name in estimator._modules if name != "module"}
    if not isinstance(states, dict) or set(states) != built:
        raise ValueError(
            f"The checkpoint holds the modules {sorted(states or {})} besides "
            f"module, but {type(estimator).__name__} builds {sorted(built)}: it "
            "was written by another version of this class."
        )
    for name, state in states.items():
        getattr(estimator, name + "_").load_state_dict(state)


def _restore_state(estimator, payload):
    """Load the weights, then the optimizer and scheduler states, in torch's order."""
    estimator.module_.load_state_dict(payload["module"])
    _restore_extra_modules(estimator, payload.get("extra_modules"))
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
        # Only defaults: the saved state sets the direction (a plateau's
        # mode) and the schedule's length.
        lower_is_better=True,
        max_epochs=max(1, len(estimator.history_)),
    )
