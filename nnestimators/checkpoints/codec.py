"""Plain JSON and tensors for parameter values, and back."""

import functools
import importlib
import inspect
import math
import os
import pathlib
import re

import numpy as np
import torch

from .limits import Budget

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
    raise NotSaveable(
        "a functools.partial is not stored: loading rebuilds no partials from a file"
    )


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


class Malformed(Exception):
    """JSON that ``encode`` never writes: the checkpoint is damaged."""


_REFUSED = object()  # stands for a refused value while decoding goes on


class Decoder:
    """Inverse of ``encode`` for one checkpoint, under a trust policy.

    Parameters
    ----------
    tensors : list of torch.Tensor
        The checkpoint's ``"tensors"``.
    policy : TrustPolicy or None
        None decodes plain data only: numbers, strings, lists, dicts,
        tuples, arrays, numpy scalars and tensors. With a policy, the values
        of parameters may also name classes (and functions the caller
        trusted); nothing is imported, the policy looks names up among
        objects that exist already.

    ``decode`` never raises for an untrusted name: it records the refusal in
    ``refused`` (a list of ``(kind, detail)``) and goes on, so that one error
    can list them all. It raises ``Malformed`` for JSON ``encode`` never writes.
    """

    def __init__(self, tensors, policy=None, budget=None):
        self.tensors = tensors
        self.policy = policy
        self.budget = Budget() if budget is None else budget
        self.refused = []

    def decode(self, value):
        if type(value) is list:
            return [self.decode(item) for item in value]
        if type(value) is not dict:
            if type(value) not in PLAIN_TYPES:
                raise Malformed(f"unexpected {type(value).__name__}")
            return value
        markers = [key for key in value if key.startswith("__") and key.endswith("__")]
        if not markers:
            return {key: self.decode(item) for key, item in value.items()}
        if len(markers) > 1:
            raise Malformed(f"several markers {markers}")
        [marker] = markers
        decoder = _DATA_DECODERS.get(marker)
        if decoder is None and self.policy is not None:
            decoder = _PARAMETER_DECODERS.get(marker)
        if decoder is None:
            if marker in _PARAMETER_DECODERS:  # an object where data belongs
                self.refused.append(("data", _describe_refused(marker, value)))
                return _REFUSED
            raise Malformed(f"unknown marker {marker}")
        return decoder(self, value)

    def _field(self, value, key, kind):
        item = value.get(key)
        if type(item) is not kind:
            raise Malformed(f"{key} is {item!r}")
        return item

    def _tuple(self, value):
        return tuple(self.decode(self._field(value, "__tuple__", list)))

    def _dict(self, value):
        pairs = self._field(value, "__dict__", list)
        decoded = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise Malformed("a __dict__ entry is not a [key, value] pair")
            key = self.decode(pair[0])
            if key is _REFUSED:
                continue
            try:
                decoded[key] = self.decode(pair[1])
            except TypeError:  # an unhashable key
                raise Malformed(f"unhashable key {key!r}") from None
        return decoded

    def _ndarray(self, value):
        dtype = numpy_dtype(self._field(value, "dtype", str))
        shape = self._field(value, "shape", list)
        items = self._field(value, "__ndarray__", list)
        # The declared shape and dtype are checked against the items present
        # before anything is allocated for them.
        if len(shape) > _MAX_NDIM or not all(type(n) is int and n >= 0 for n in shape):
            raise Malformed(f"an array of shape {shape!r}")
        if math.prod(shape) != len(items):
            raise Malformed(f"an array of shape {shape} holding {len(items)} items")
        try:
            self.budget.spend_array(len(items) * dtype.itemsize)
        except ValueError as exc:
            raise Malformed(str(exc)) from None
        items = self.decode(items)
        if _holds_refused(items):
            return _REFUSED
        if dtype.kind == "O":
            # Filled element by element so that list items stay single elements.
            array = np.empty(len(items), dtype=object)
            array[:] = items
        else:
            array = np.array(items, dtype=dtype)
        return array.reshape(shape)

    def _numpy_scalar(self, value):
        dtype = numpy_dtype(self._field(value, "dtype", str))
        if dtype.kind == "O":
            raise Malformed("an object numpy scalar")
        return dtype.type(self.decode(value.get("__numpy__")))

    def _tensor(self, value):
        position = self._field(value, "__tensor__", int)
        if not 0 <= position < len(self.tensors):
            raise Malformed(f"no tensor at position {position}")
        tensor = self.tensors[position]
        device = value.get("device", "cpu")
        if type(device) is not str or not known_device(device):
            raise Malformed(f"device is {device!r}")
        return tensor.to(device) if device_available(device) else tensor

    def _torch_dtype(self, value):
        name = self._field(value, "__torch_dtype__", str)
        dtype = TORCH_DTYPES.get(name)
        if dtype is None:
            raise Malformed(f"unknown torch dtype {name!r}")
        return dtype

    def _path(self, value):
        return pathlib.Path(self._field(value, "__path__", str))

    def _random_state(self, value):
        state = self.decode(value.get("__random_state__"))
        random_state = np.random.RandomState()
        try:
            random_state.set_state(state)
        except (TypeError, ValueError) as exc:
            raise Malformed(f"a random state that numpy refuses ({exc})") from None
        return random_state

    def _import(self, value):
        path = value.get("__import__")
        obj = self.policy.lookup(path, need_class=False)
        if obj is None:
            self.refused.append(("name", _text(path)))
            return _REFUSED
        return obj

    def _partial(self, value):
        self.refused.append(("partial", "functools.partial"))
        return _REFUSED

    def _object(self, value):
        path = value.get("__object__")
        cls = self.policy.lookup(path, need_class=True)
        if cls is None:  # its arguments are not even decoded
            self.refused.append(("name", _text(path)))
            return _REFUSED
        params = self.decode(self._field(value, "params", dict))
        if _holds_refused(params):
            return _REFUSED
        if issubclass(cls, torch.nn.Module):
            try:
                self.budget.check_module(lambda: cls(**params), f"the {path}")
            except ValueError as exc:
                raise Malformed(str(exc)) from None
        return cls(**params)


def _text(path):
    return path if type(path) is str else repr(path)


def _describe_refused(marker, value):
    named = value.get(marker)
    if marker == "__partial__":
        return "a functools.partial, which is not plain data"
    return f"{_text(named)}, which is not plain data"


def _holds_refused(value):
    if value is _REFUSED:
        return True
    if type(value) in (list, tuple):
        return any(_holds_refused(item) for item in value)
    if type(value) is dict:
        return any(_holds_refused(item) for item in value.values())
    return False


# Plain data: what fitted attributes and the history may hold.
_DATA_DECODERS = {
    "__tuple__": Decoder._tuple,
    "__dict__": Decoder._dict,
    "__ndarray__": Decoder._ndarray,
    "__numpy__": Decoder._numpy_scalar,
    "__tensor__": Decoder._tensor,
}
# Parameters may also hold these; names go through the trust policy.
_PARAMETER_DECODERS = {
    "__torch_dtype__": Decoder._torch_dtype,
    "__path__": Decoder._path,
    "__random_state__": Decoder._random_state,
    "__import__": Decoder._import,
    "__partial__": Decoder._partial,
    "__object__": Decoder._object,
}


def holds_refused(value):
    """Whether a decoded value contains a refused entry."""
    return _holds_refused(value)


def resolve(path):
    """Import ``"module:qualname"``.

    Only for checking, when writing, that a live object's own name leads back
    to it; never for names read from a file.
    """
    module_name, _, qualname = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# -- closed tables of the names a file may hold -----------------------------------

# torch's dtypes by the name encode writes (str(dtype) less "torch."), read
# once from torch's namespace: a name from a file is looked up here, never
# resolved as an attribute of torch.
TORCH_DTYPES = {
    str(value).removeprefix("torch."): value
    for value in vars(torch).values()
    if isinstance(value, torch.dtype)
}

# numpy dtypes as ``dtype.str`` writes them for the arrays encode stores:
# booleans, integers, floats, text, objects, datetimes and durations. No
# structured or sub-array dtypes, whose size is not one element's.
_NUMPY_DTYPE = re.compile(
    r"[<>|=](b1|[iu][1248]|f(2|4|8|12|16)|O|U[0-9]{1,9}"
    r"|[Mm]8(\[[0-9]{0,9}(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?)"
)
_MAX_NDIM = 32


def numpy_dtype(text):
    """The numpy dtype ``text`` names, if it is in the table; else ``Malformed``."""
    if not _NUMPY_DTYPE.fullmatch(text):
        raise Malformed(f"an array dtype {text!r}, which nnestimators never writes")
    try:
        return np.dtype(text)
    except (TypeError, ValueError) as exc:  # a size too large, or this platform lacks
        raise Malformed(f"an array dtype {text!r} that numpy refuses ({exc})") from None


# The devices nnestimators trains on: a type, and an optional index.
_DEVICE = re.compile(r"(cpu|cuda|mps|xpu)(:[0-9]{1,3})?")


def known_device(device):
    """Whether ``device`` is text of the device table (nothing is called)."""
    return type(device) is str and _DEVICE.fullmatch(device) is not None


def device_available(device):
    """Whether torch can place a tensor on ``device`` here."""
    if not known_device(device):
        return False
    try:
        torch.empty(0, device=device)
    except Exception:  # torch raises AssertionError, RuntimeError, NotImplementedError
        return False
    return True
