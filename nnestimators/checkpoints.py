"""Checkpoints of the best model of a fit, stored as plain data and tensors.

With ``checkpoint_dir`` set, every fit writes its best model so far into a
folder of its own, created atomically, so that concurrent fits (a grid search
with ``n_jobs``, Dask workers, several processes) never share one::

    checkpoint_dir/
        NNClassifier-20250131-142501-k2j5x0aq/   one fit: ``checkpoint_path_``
            checkpoint.pt     everything needed to rebuild the fitted estimator
            estimator.json    the same configuration, for people and tools
        NNClassifier-20250131-142502-9c1dh3vz/   another fit
            ...

``checkpoint.pt`` is the checkpoint. Each new best replaces it in a single
``os.replace`` of a fully written temporary file (``.tmp-*`` in the same
folder), so a crash or a full disk while writing leaves the previous best
intact. It is a dict that ``torch.load(path, weights_only=True)`` reads:

``"format"``, ``"format_version"``
    ``"nnestimators.checkpoint"`` and the layout version (1).
``"config"``
    JSON text: ``"class"`` (import path of the estimator class),
    ``"params"`` (``get_params(deep=False)`` encoded as below),
    ``"not_saved"`` (parameter name -> why it could not be stored),
    ``"fitted"`` (``classes_``, ``n_features_in_``, ``feature_names_in_``,
    ``input_shape_``, ``n_outputs_``, ``device_``, ``best_epoch_``, ...),
    ``"training"`` (epochs, best epoch, monitor and its best value) and
    ``"versions"`` (of the libraries that wrote it).
``"history"``
    JSON text: the training history, one object per epoch.
``"module"``
    The module's ``state_dict``: the weights of the best epoch.
``"optimizer"``, ``"lr_scheduler"``
    Their ``state_dict``, so that ``warm_start`` resumes training; None when
    absent.
``"tensors"``
    Tensors that parameters hold (``criterion__weight``, say), referred to
    from the JSON by position.

``estimator.json`` holds the ``"config"`` text, indented. It is written
after ``checkpoint.pt`` and never read back.

In the JSON, values other than None, booleans, numbers, strings, lists and
dicts with string keys are written as one-key objects: ``{"__tuple__":
[...]}``, ``{"__dict__": [[key, value], ...]}``, ``{"__ndarray__": [...],
"dtype": ..., "shape": ...}``, ``{"__numpy__": value, "dtype": ...}``,
``{"__tensor__": position, ...}``, ``{"__torch_dtype__": name}``,
``{"__path__": text}``, ``{"__random_state__": state}``, ``{"__import__":
"module:qualname"}`` for classes and functions, ``{"__partial__": ...}`` for
``functools.partial``, and ``{"__object__": "module:qualname", "params":
{...}}`` for objects rebuilt from their constructor arguments (the
``nnestimators.augment`` classes, skorch callbacks, scikit-learn style
objects).

Loading never unpickles: it imports the classes and functions the file
names and calls them as ``fit`` would, so treat a checkpoint from elsewhere
as you would a configuration file. A parameter with no such form (a lambda,
a function defined inside another function, an object holding other state)
is listed in ``"not_saved"`` and must be passed again to
``from_checkpoint``.
"""

import contextlib
import functools
import importlib
import inspect
import json
import os
import pathlib
import pickle
import tempfile
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
from skorch.history import History

from . import __version__
from .runtime import resolve_device, resolve_n_threads, seeded, torch_threads
from .training.monitor import lower_is_better
from .training.schedules import make_scheduler

__all__ = ["write_checkpoint", "load_checkpoint"]

CHECKPOINT_FILE = "checkpoint.pt"
DESCRIPTION_FILE = "estimator.json"
FORMAT = "nnestimators.checkpoint"
FORMAT_VERSION = 1

# Fitted attributes that, with the parameters, rebuild the estimator.
_FITTED = (
    "classes_",
    "n_features_in_",
    "feature_names_in_",
    "input_shape_",
    "n_outputs_",
    "device_",
    "best_epoch_",
    "_target_ndim",
)
_PLAIN_TYPES = (type(None), bool, int, float, str)
_TMP_PREFIX = ".tmp-"


# -- writing ------------------------------------------------------------------


def write_checkpoint(estimator, checkpoint_dir, current_path=None):
    """Write the estimator's current state as its fit's checkpoint.

    The first call of a fit creates the fit's own folder in
    ``checkpoint_dir``; later calls of the same fit (including fits continued
    with ``warm_start``) replace the checkpoint in that folder atomically.

    Parameters
    ----------
    estimator : NNEstimatorMixin
        An initialized estimator (during or after fit).
    checkpoint_dir : str or path-like
        Folder holding one sub-folder per fit; created if missing.
    current_path : str or None, default=None
        The folder this fit wrote to before (``checkpoint_path_``), if any.

    Returns
    -------
    path : str
        The fit's checkpoint folder.
    """
    if not estimator.initialized_:
        raise ValueError(
            f"This {type(estimator).__name__} has no weights to save yet; call "
            "fit before writing a checkpoint."
        )
    payload, config = _payload(estimator)
    folder = _owned_folder(estimator, checkpoint_dir, current_path)
    if folder is None:
        folder = _new_fit_folder(estimator, checkpoint_dir)
        _warn_not_saved(estimator, config["not_saved"])
    _write_atomically(
        os.path.join(folder, CHECKPOINT_FILE),
        functools.partial(_save_payload, payload),
    )
    description = json.dumps(config, indent=2).encode()
    _write_atomically(
        os.path.join(folder, DESCRIPTION_FILE), lambda file: file.write(description)
    )
    # Remember which fit owns the folder: a new fit (fresh history) gets its own.
    estimator._checkpoint_history = estimator.history_
    return folder


def _owned_folder(estimator, checkpoint_dir, current_path):
    """The folder this fit already writes to, or None on the fit's first write."""
    same_fit = getattr(estimator, "_checkpoint_history", None) is estimator.history_
    if same_fit and _is_fit_folder_of(current_path, checkpoint_dir):
        return os.fspath(current_path)
    return None


def _new_fit_folder(estimator, checkpoint_dir):
    os.makedirs(checkpoint_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # mkdtemp picks a fresh name and creates it in one step: no two fits,
    # threads or processes can get the same folder.
    folder = tempfile.mkdtemp(
        dir=checkpoint_dir, prefix=f"{type(estimator).__name__}-{stamp}-"
    )
    return os.path.abspath(folder)


def _is_fit_folder_of(path, checkpoint_dir):
    if path is None or not os.path.isdir(path):
        return False
    parent = pathlib.Path(path).resolve().parent
    return parent == pathlib.Path(checkpoint_dir).resolve()


def _warn_not_saved(estimator, not_saved):
    if not_saved:
        warnings.warn(
            f"Checkpoints of this {type(estimator).__name__} cannot store "
            f"{_describe_not_saved(not_saved)}; pass "
            f"{'it' if len(not_saved) == 1 else 'them'} again to from_checkpoint.",
            UserWarning,
            stacklevel=4,
        )


def _payload(estimator):
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
    return payload, config


def _config(estimator, tensors):
    params, not_saved = _encode_params(estimator, tensors)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": _import_path(type(estimator)),
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
            params[name] = _encode(value, tensors)
        except _NotSaveable as reason:
            not_saved[name] = str(reason)
    return params, not_saved


def _encode_fitted(estimator, tensors):
    fitted = {}
    for name in _FITTED:
        if not hasattr(estimator, name):
            continue
        try:
            fitted[name] = _encode(getattr(estimator, name), tensors)
        except _NotSaveable as reason:
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
        "best_epoch": _encode(best_epoch, tensors),
        "monitor": _encode_lenient(monitor, tensors),
        "best_value": _encode_lenient(best_value, tensors),
    }


def _encode_history_row(row, tensors):
    return {str(key): _encode_lenient(value, tensors) for key, value in row.items()}


def _encode_lenient(value, tensors):
    # The history is a record, not code: what has no plain form is kept as text.
    try:
        return _encode(value, tensors)
    except _NotSaveable:
        return repr(value)


def _versions():
    return {
        "nnestimators": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def _module_state(estimator):
    state = estimator.module_.state_dict()
    if not _is_plain(state):
        raise ValueError(
            f"Cannot write a checkpoint: the state_dict of {type(estimator).__name__}"
            "'s module holds objects other than tensors and plain values."
        )
    return state


def _optional_state(estimator, name):
    component = getattr(estimator, name, None)
    if component is None:
        return None
    try:
        return _plain_state(component.state_dict())
    except _NotSaveable as reason:
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
    if isinstance(value, torch.Tensor | torch.Size) or type(value) in _PLAIN_TYPES:
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
    loading refuses them. Raises ``_NotSaveable`` naming any other object.
    """
    if isinstance(value, np.generic):
        return _plain_state(value.item())
    if isinstance(value, torch.Tensor | torch.Size) or type(value) in _PLAIN_TYPES:
        return value
    if type(value) in (list, tuple):
        return type(value)(_plain_state(item) for item in value)
    if isinstance(value, dict):
        return {_plain_state(k): _plain_state(v) for k, v in value.items()}
    raise _NotSaveable(type(value).__name__)


def _save_payload(payload, file):
    torch.save(payload, file)


def _write_atomically(path, write):
    """Write a file through ``write(file)`` so that it appears whole or not at all."""
    folder = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(
        dir=folder, prefix=_TMP_PREFIX, suffix="-" + os.path.basename(path)
    )
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder):
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- encoding values as JSON ---------------------------------------------------


class _NotSaveable(Exception):
    """A value with no plain-data form; the message says why."""


def _encode(value, tensors):
    """Return ``value`` as JSON-ready data; tensors go to ``tensors``.

    Raises ``_NotSaveable`` for values that cannot be rebuilt from plain data.
    """
    if type(value) in _PLAIN_TYPES:
        return value
    if type(value) is list:
        return [_encode(item, tensors) for item in value]
    if type(value) is tuple:
        return {"__tuple__": [_encode(item, tensors) for item in value]}
    if isinstance(value, dict):
        return _encode_dict(value, tensors)
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value, tensors)
    if isinstance(value, type) or _is_named_callable(value):
        return {"__import__": _import_path(value)}
    return _encode_object(value, tensors)


def _encode_dict(value, tensors):
    plain_keys = all(
        type(key) is str and not (key.startswith("__") and key.endswith("__"))
        for key in value
    )
    if plain_keys:
        return {key: _encode(item, tensors) for key, item in value.items()}
    # Keys that JSON would turn into strings, or that look like our markers.
    return {
        "__dict__": [
            [_encode(key, tensors), _encode(item, tensors)]
            for key, item in value.items()
        ]
    }


def _encode_ndarray(value, tensors):
    flat = value.ravel()
    if value.dtype.kind in "mM":  # datetimes: numpy parses their text back
        flat = flat.astype(str)
    return {
        "__ndarray__": [_encode(item, tensors) for item in flat.tolist()],
        "dtype": value.dtype.str,
        "shape": list(value.shape),
    }


def _encode_numpy_scalar(value, tensors):
    if value.dtype.kind in "mM":
        raise _NotSaveable(f"a numpy {value.dtype} scalar is not supported")
    return {"__numpy__": _encode(value.item(), tensors), "dtype": value.dtype.str}


def _encode_tensor(value, tensors):
    tensors.append(value.detach().cpu())
    return {
        "__tensor__": len(tensors) - 1,
        "dtype": str(value.dtype),
        "shape": list(value.shape),
        "device": str(value.device),
    }


def _encode_torch_dtype(value, tensors):
    return {"__torch_dtype__": str(value).removeprefix("torch.")}


def _encode_path(value, tensors):
    return {"__path__": os.fspath(value)}


def _encode_random_state(value, tensors):
    return {"__random_state__": _encode(value.get_state(), tensors)}


def _encode_partial(value, tensors):
    return {
        "__partial__": _encode(value.func, tensors),
        "args": _encode(list(value.args), tensors),
        "keywords": _encode(dict(value.keywords), tensors),
    }


_ENCODERS = (
    (np.ndarray, _encode_ndarray),
    (np.generic, _encode_numpy_scalar),
    (torch.Tensor, _encode_tensor),
    (torch.dtype, _encode_torch_dtype),
    (pathlib.PurePath, _encode_path),
    (np.random.RandomState, _encode_random_state),
    (functools.partial, _encode_partial),
)


def _is_named_callable(value):
    return callable(value) and hasattr(value, "__qualname__")


def _import_path(obj):
    """Return ``"module:qualname"`` that imports back to ``obj`` itself."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise _NotSaveable(f"{obj!r} has no import path")
    if "<lambda>" in qualname:
        raise _NotSaveable("a lambda has no import path")
    if "<locals>" in qualname:
        raise _NotSaveable(
            f"{qualname} is defined inside a function and has no import path"
        )
    path = f"{module}:{qualname}"
    try:
        found = _resolve(path)
    except (ImportError, AttributeError):
        found = None
    if found is not obj and found != obj:
        raise _NotSaveable(f"{path} does not import back to {obj!r}")
    return path


def _encode_object(value, tensors):
    """An object rebuilt as ``type(value)(**params)``, when that is faithful."""
    cls = type(value)
    path = _import_path(cls)
    params = _constructor_params(value)
    encoded = {}
    for name, item in params.items():
        try:
            encoded[name] = _encode(item, tensors)
        except _NotSaveable as reason:
            raise _NotSaveable(
                f"{cls.__name__}'s argument {name} cannot be stored: {reason}"
            ) from None
    return {"__object__": path, "params": encoded}


def _constructor_params(value):
    """The object's constructor arguments, read back from its attributes.

    Only objects whose public state is exactly their arguments qualify:
    ``get_params`` objects (scikit-learn's convention) and classes whose
    ``__init__`` stores each argument under its own name. Attributes ending
    in ``_`` (state learnt in fit) are left out, as ``sklearn.clone`` does.
    """
    cls = type(value)
    if callable(getattr(value, "get_params", None)):
        params = dict(value.get_params(deep=False))
    else:
        params = _params_from_signature(value)
    try:
        public = {k for k in vars(value) if not k.startswith("_")}
    except TypeError:
        raise _NotSaveable(f"an instance of {cls.__name__} has no attributes") from None
    public -= {k for k in public if k.endswith("_")}
    if isinstance(value, torch.nn.Module):
        public.discard("training")  # every module has it; not an argument
    extra = sorted(public - set(params))
    if extra:
        raise _NotSaveable(
            f"an instance of {cls.__name__} holds state beyond its constructor "
            f"arguments ({', '.join(extra)})"
        )
    return params


def _params_from_signature(value):
    cls = type(value)
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        raise _NotSaveable(f"{cls.__name__} has no inspectable constructor") from None
    params = {}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise _NotSaveable(f"{cls.__name__} takes *args or **kwargs")
        if p.kind is p.POSITIONAL_ONLY or not hasattr(value, p.name):
            raise _NotSaveable(
                f"an instance of {cls.__name__} does not keep its argument {p.name}"
            )
        params[p.name] = getattr(value, p.name)
    return params


# -- decoding ------------------------------------------------------------------


def _decode(value, tensors):
    """Inverse of ``_encode``."""
    if type(value) is list:
        return [_decode(item, tensors) for item in value]
    if type(value) is not dict:
        return value
    for marker, decoder in _DECODERS.items():
        if marker in value:
            return decoder(value, tensors)
    return {key: _decode(item, tensors) for key, item in value.items()}


def _decode_tuple(value, tensors):
    return tuple(_decode(value["__tuple__"], tensors))


def _decode_dict(value, tensors):
    return {
        _decode(key, tensors): _decode(item, tensors) for key, item in value["__dict__"]
    }


def _decode_ndarray(value, tensors):
    dtype = np.dtype(value["dtype"])
    items = _decode(value["__ndarray__"], tensors)
    if dtype.kind == "O":
        # Filled element by element so that list items stay single elements.
        array = np.empty(len(items), dtype=object)
        array[:] = items
    else:
        array = np.array(items, dtype=dtype)
    return array.reshape(value["shape"])


def _decode_numpy_scalar(value, tensors):
    return np.dtype(value["dtype"]).type(_decode(value["__numpy__"], tensors))


def _decode_tensor(value, tensors):
    tensor = tensors[value["__tensor__"]]
    device = value.get("device", "cpu")
    return tensor.to(device) if _device_available(device) else tensor


def _decode_torch_dtype(value, tensors):
    dtype = getattr(torch, value["__torch_dtype__"], None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown torch dtype {value['__torch_dtype__']!r}")
    return dtype


def _decode_path(value, tensors):
    return pathlib.Path(value["__path__"])


def _decode_random_state(value, tensors):
    random_state = np.random.RandomState()
    random_state.set_state(_decode(value["__random_state__"], tensors))
    return random_state


def _decode_import(value, tensors):
    return _resolve(value["__import__"])


def _decode_partial(value, tensors):
    return functools.partial(
        _decode(value["__partial__"], tensors),
        *_decode(value["args"], tensors),
        **_decode(value["keywords"], tensors),
    )


def _decode_object(value, tensors):
    cls = _resolve(value["__object__"])
    if not isinstance(cls, type):
        raise ValueError(f"{value['__object__']} is not a class")
    return cls(**_decode(value["params"], tensors))


_DECODERS = {
    "__tuple__": _decode_tuple,
    "__dict__": _decode_dict,
    "__ndarray__": _decode_ndarray,
    "__numpy__": _decode_numpy_scalar,
    "__tensor__": _decode_tensor,
    "__torch_dtype__": _decode_torch_dtype,
    "__path__": _decode_path,
    "__random_state__": _decode_random_state,
    "__import__": _decode_import,
    "__partial__": _decode_partial,
    "__object__": _decode_object,
}


def _resolve(path):
    """Import ``"module:qualname"``."""
    module_name, _, qualname = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# -- loading -------------------------------------------------------------------


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
    estimator.history_ = History(_decode(json.loads(payload["history"]), tensors))
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
        recorded = _resolve(path)
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
            params[name] = _decode(value, tensors)
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
        f"{'s' if len(reasons) > 1 else ''} {_describe_not_saved(reasons)}; pass "
        f"{'it' if len(reasons) == 1 else 'them'} again: "
        f"{name}.from_checkpoint(path, {arguments})."
    )


def _describe_not_saved(reasons):
    return ", ".join(f"{name} ({why})" for name, why in reasons.items())


def _restore_fitted(estimator, config, tensors, overrides):
    fitted = {name: _decode(value, tensors) for name, value in config["fitted"].items()}
    fitted["device_"] = _loading_device(fitted.get("device_", "cpu"), overrides)
    for name, value in fitted.items():
        setattr(estimator, name, value)


def _loading_device(recorded, overrides):
    """The device to load on: an explicit ``device``, else the recorded one."""
    if "device" in overrides:
        return resolve_device(overrides["device"])
    if _device_available(recorded):
        return recorded
    warnings.warn(
        f"The checkpoint was trained on device_={recorded!r}, which is not "
        "available here; it is loaded on the CPU.",
        UserWarning,
        stacklevel=5,
    )
    return "cpu"


def _device_available(device):
    try:
        torch.empty(0, device=device)
    except Exception:  # torch raises AssertionError, RuntimeError, NotImplementedError
        return False
    return True


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
