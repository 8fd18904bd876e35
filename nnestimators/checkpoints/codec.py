"""Plain JSON and tensors for parameter values, and back."""

import functools
import importlib
import inspect
import os
import pathlib

import numpy as np
import torch

PLAIN_TYPES = (type(None), bool, int, float, str)


class NotSaveable(Exception):
    """A value with no plain-data form; the message says why."""


def describe_not_saved(reasons):
    """``"name (why), ..."`` for a dict of parameter name -> why not stored."""
    return ", ".join(f"{name} ({why})" for name, why in reasons.items())


# -- encoding ------------------------------------------------------------------


def encode(value, tensors):
    """Return ``value`` as JSON-ready data; tensors go to ``tensors``.

    Raises ``NotSaveable`` for values that cannot be rebuilt from plain data.
    """
    if type(value) in PLAIN_TYPES:
        return value
    if type(value) is list:
        return [encode(item, tensors) for item in value]
    if type(value) is tuple:
        return {"__tuple__": [encode(item, tensors) for item in value]}
    if isinstance(value, dict):
        return _encode_dict(value, tensors)
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value, tensors)
    if isinstance(value, type) or _is_named_callable(value):
        return {"__import__": import_path(value)}
    return _encode_object(value, tensors)


def _encode_dict(value, tensors):
    plain_keys = all(
        type(key) is str and not (key.startswith("__") and key.endswith("__"))
        for key in value
    )
    if plain_keys:
        return {key: encode(item, tensors) for key, item in value.items()}
    # Keys that JSON would turn into strings, or that look like our markers.
    return {
        "__dict__": [
            [encode(key, tensors), encode(item, tensors)] for key, item in value.items()
        ]
    }


def _encode_ndarray(value, tensors):
    flat = value.ravel()
    if value.dtype.kind in "mM":  # datetimes: numpy parses their text back
        flat = flat.astype(str)
    return {
        "__ndarray__": [encode(item, tensors) for item in flat.tolist()],
        "dtype": value.dtype.str,
        "shape": list(value.shape),
    }


def _encode_numpy_scalar(value, tensors):
    if value.dtype.kind in "mM":
        raise NotSaveable(f"a numpy {value.dtype} scalar is not supported")
    return {"__numpy__": encode(value.item(), tensors), "dtype": value.dtype.str}


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
    return {"__random_state__": encode(value.get_state(), tensors)}


def _encode_partial(value, tensors):
    return {
        "__partial__": encode(value.func, tensors),
        "args": encode(list(value.args), tensors),
        "keywords": encode(dict(value.keywords), tensors),
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


def import_path(obj):
    """Return ``"module:qualname"`` that imports back to ``obj`` itself."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise NotSaveable(f"{obj!r} has no import path")
    if "<lambda>" in qualname:
        raise NotSaveable("a lambda has no import path")
    if "<locals>" in qualname:
        raise NotSaveable(
            f"{qualname} is defined inside a function and has no import path"
        )
    path = f"{module}:{qualname}"
    try:
        found = resolve(path)
    except (ImportError, AttributeError):
        found = None
    if found is not obj and found != obj:
        raise NotSaveable(f"{path} does not import back to {obj!r}")
    return path


def _encode_object(value, tensors):
    """An object rebuilt as ``type(value)(**params)``, when that is faithful."""
    cls = type(value)
    path = import_path(cls)
    params = _constructor_params(value)
    encoded = {}
    for name, item in params.items():
        try:
            encoded[name] = encode(item, tensors)
        except NotSaveable as reason:
            raise NotSaveable(
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
        raise NotSaveable(f"an instance of {cls.__name__} has no attributes") from None
    public -= {k for k in public if k.endswith("_")}
    if isinstance(value, torch.nn.Module):
        public.discard("training")  # every module has it; not an argument
    extra = sorted(public - set(params))
    if extra:
        raise NotSaveable(
            f"an instance of {cls.__name__} holds state beyond its constructor "
            f"arguments ({', '.join(extra)})"
        )
    return params


def _params_from_signature(value):
    cls = type(value)
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        raise NotSaveable(f"{cls.__name__} has no inspectable constructor") from None
    params = {}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise NotSaveable(f"{cls.__name__} takes *args or **kwargs")
        if p.kind is p.POSITIONAL_ONLY or not hasattr(value, p.name):
            raise NotSaveable(
                f"an instance of {cls.__name__} does not keep its argument {p.name}"
            )
        params[p.name] = getattr(value, p.name)
    return params


# -- decoding ------------------------------------------------------------------


def decode(value, tensors):
    """Inverse of ``encode``."""
    if type(value) is list:
        return [decode(item, tensors) for item in value]
    if type(value) is not dict:
        return value
    for marker, decoder in _DECODERS.items():
        if marker in value:
            return decoder(value, tensors)
    return {key: decode(item, tensors) for key, item in value.items()}


def _decode_tuple(value, tensors):
    return tuple(decode(value["__tuple__"], tensors))


def _decode_dict(value, tensors):
    return {
        decode(key, tensors): decode(item, tensors) for key, item in value["__dict__"]
    }


def _decode_ndarray(value, tensors):
    dtype = np.dtype(value["dtype"])
    items = decode(value["__ndarray__"], tensors)
    if dtype.kind == "O":
        # Filled element by element so that list items stay single elements.
        array = np.empty(len(items), dtype=object)
        array[:] = items
    else:
        array = np.array(items, dtype=dtype)
    return array.reshape(value["shape"])


def _decode_numpy_scalar(value, tensors):
    return np.dtype(value["dtype"]).type(decode(value["__numpy__"], tensors))


def _decode_tensor(value, tensors):
    tensor = tensors[value["__tensor__"]]
    device = value.get("device", "cpu")
    return tensor.to(device) if device_available(device) else tensor


def _decode_torch_dtype(value, tensors):
    dtype = getattr(torch, value["__torch_dtype__"], None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown torch dtype {value['__torch_dtype__']!r}")
    return dtype


def _decode_path(value, tensors):
    return pathlib.Path(value["__path__"])


def _decode_random_state(value, tensors):
    random_state = np.random.RandomState()
    random_state.set_state(decode(value["__random_state__"], tensors))
    return random_state


def _decode_import(value, tensors):
    return resolve(value["__import__"])


def _decode_partial(value, tensors):
    return functools.partial(
        decode(value["__partial__"], tensors),
        *decode(value["args"], tensors),
        **decode(value["keywords"], tensors),
    )


def _decode_object(value, tensors):
    cls = resolve(value["__object__"])
    if not isinstance(cls, type):
        raise ValueError(f"{value['__object__']} is not a class")
    return cls(**decode(value["params"], tensors))


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


def resolve(path):
    """Import ``"module:qualname"``."""
    module_name, _, qualname = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def device_available(device):
    """Whether torch can place a tensor on ``device`` here."""
    try:
        torch.empty(0, device=device)
    except Exception:  # torch raises AssertionError, RuntimeError, NotImplementedError
        return False
    return True
