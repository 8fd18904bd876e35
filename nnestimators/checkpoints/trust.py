"""What a checkpoint may name: a built-in allow-list plus what the caller trusts.

A checkpoint refers to classes by their ``"module:qualname"`` text. That text
is data: it is looked up, as a whole, in a table of classes that are already
imported (the allow-list below, and the objects the caller passed). Nothing
is imported, and no attribute is followed, on behalf of the file; what is not
in the table is refused before any of it is touched.

The allow-list holds classes only, each one a subclass of its family:

* ``torch.nn`` modules, losses included;
* ``torch.optim`` optimizers and ``torch.optim.lr_scheduler`` schedulers;
* the package's own classes its caller hands in (``library``: the
  ``nnestimators.modules`` and ``nnestimators.augment`` classes);
* for the checkpoint's own class only, the estimator classes its caller
  hands in (``family``: ``NNClassifier``, ``NNBinaryClassifier``,
  ``NNRegressor``, ...).

Nothing here imports the package's classes: the estimators hand them in.
The caller adds to the list with ``trusted=[MyNet, my_function, ...]`` and
with the classes and functions it passes again as parameters
(``module=MyNet``).
"""

import functools
import types

import torch
from torch.optim import lr_scheduler

from .errors import UntrustedCheckpointError


def object_path(obj):
    """``"module:qualname"`` as ``obj`` itself declares it, or None.

    Nothing is imported: this is the name the table is keyed by.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if type(module) is not str or type(qualname) is not str:
        return None
    return f"{module}:{qualname}"


def _public_subclasses(namespace, base):
    for name in dir(namespace):
        if name.startswith("_"):
            continue
        obj = getattr(namespace, name, None)
        if isinstance(obj, type) and issubclass(obj, base):
            yield obj


@functools.cache
def torch_classes():
    """The allow-listed torch classes parameters may name, by ``"module:qualname"``."""
    families = (
        (torch.nn, torch.nn.Module),
        (torch.optim, torch.optim.Optimizer),
        (lr_scheduler, (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau)),
    )
    allowed = {}
    for namespace, base in families:
        for cls in _public_subclasses(namespace, base):
            path = object_path(cls)
            if path is not None:
                allowed[path] = cls
    return allowed


def _by_path(classes):
    return {object_path(cls): cls for cls in classes if object_path(cls) is not None}


def _is_trustable(obj):
    """Classes and named functions can be trusted; instances and partials cannot."""
    if isinstance(obj, type):
        return True
    if isinstance(obj, types.FunctionType | types.BuiltinFunctionType):
        qualname = getattr(obj, "__qualname__", "")
        return "<lambda>" not in qualname and "<locals>" not in qualname
    return False


def _callables_in(value):
    """The classes and functions in a parameter value, through lists and dicts."""
    if _is_trustable(value):
        yield value
    elif type(value) in (list, tuple):
        for item in value:
            yield from _callables_in(item)
    elif type(value) is dict:
        for item in value.values():
            yield from _callables_in(item)


class TrustPolicy:
    """The classes and functions one ``load_checkpoint`` call may use.

    Parameters
    ----------
    trusted : iterable of classes and functions, or None
        What the caller trusts beyond the allow-list.
    params : dict
        The parameters the caller passes; the classes and functions among
        their values are trusted as well.
    family : iterable of classes, default=()
        The estimator classes a checkpoint may hold.
    library : iterable of classes, default=()
        The package's classes parameters may name (modules, augmentations).
    """

    def __init__(self, trusted=None, params=None, family=(), library=()):
        self._family = _by_path(family)
        self._library = _by_path(library)
        self._trusted = {}
        for obj in _checked_trusted(trusted):
            self._trusted[object_path(obj)] = obj
        for value in (params or {}).values():
            for obj in _callables_in(value):
                path = object_path(obj)
                if path is not None:
                    self._trusted.setdefault(path, obj)

    def lookup(self, path, *, need_class):
        """The object ``path`` names, if trusted; else None. Imports nothing.

        Built-in entries are all classes; trusted functions are returned
        only when ``need_class`` is false.
        """
        if type(path) is not str:
            return None
        obj = self._trusted.get(path)
        if obj is None:
            obj = self._library.get(path) or torch_classes().get(path)
        if obj is None or (need_class and not isinstance(obj, type)):
            return None
        return obj

    def lookup_estimator_class(self, path):
        """The estimator class ``path`` names, if built in or trusted."""
        if type(path) is not str:
            return None
        cls = self._family.get(path) or self._trusted.get(path)
        return cls if isinstance(cls, type) else None


def _checked_trusted(trusted):
    if trusted is None:
        return []
    if isinstance(trusted, type) or callable(trusted) or isinstance(trusted, str):
        trusted = [trusted]
    try:
        entries = list(trusted)
    except TypeError:
        raise TypeError(
            f"trusted must be a list of classes or functions, not {trusted!r}."
        ) from None
    for obj in entries:
        if isinstance(obj, str):
            raise TypeError(
                f"trusted lists {obj!r}, a string; list the class or function "
                "itself (trusted=[MyNet]), which you import yourself."
            )
        if not _is_trustable(obj) or object_path(obj) is None:
            raise TypeError(
                f"trusted lists {obj!r}; only classes and functions defined at "
                "the top level of a module can be trusted."
            )
    return entries


def short_name(path):
    """``"Popen"`` for ``"subprocess:Popen"``: the name to write in ``trusted``."""
    return path.rpartition(":")[2].rpartition(".")[2] or path


def untrusted_error(estimator_class, folder, refused):
    """The error for a checkpoint that names what the caller did not trust.

    ``refused`` maps a field (``"module"``, ``"fitted classes_"``) to a list
    of ``(kind, detail)``: ``"name"`` for a class or function name that is not
    trusted, ``"partial"`` and ``"data"`` for what no trust can rebuild.
    """
    name = estimator_class.__name__
    lines, names, fixable, data = [], [], [], []
    for field, entries in refused.items():
        for kind, detail in entries:
            if kind == "name":
                lines.append(f"  {field}: {detail}")
                names.append(detail)
            elif kind == "partial":
                lines.append(
                    f"  {field}: a functools.partial, never rebuilt from a file"
                )
            else:
                lines.append(f"  {field}: {detail}")
        if field.startswith(("fitted ", "history")):
            data.append(field)
        else:
            fixable.append(field)
    message = [
        f"The checkpoint in {folder!r} names classes or functions that are not "
        "trusted, so it was not loaded; nothing it names was imported or called:",
        *lines,
    ]
    if data:
        message.append(
            f"{', '.join(data)} must be plain data (numbers, strings, arrays) in a "
            "checkpoint nnestimators writes: this file was tampered with or is "
            "corrupt. Do not use it."
        )
    else:
        arguments = ", ".join(f"{field}=..." for field in fixable)
        unique = list(dict.fromkeys(short_name(path) for path in names))
        partials = any(kind == "partial" for e in refused.values() for kind, _ in e)
        message.append(
            "If you trust where this checkpoint comes from, pass these parameters "
            f"again: {name}.from_checkpoint(path, {arguments})"
        )
        if unique:
            which = (
                "or, for the parameters that name a class or function, list what "
                "you trust"
                if partials
                else "or list the classes and functions you trust"
            )
            message[-1] += (
                f", {which}: {name}.from_checkpoint(path, trusted=[{', '.join(unique)}])"
            )
        message[-1] += "."
    return UntrustedCheckpointError("\n".join(message))
