"""What a report was made with: library versions, and readable parameter values."""

from __future__ import annotations

import platform
import re
from importlib.metadata import PackageNotFoundError, version

from .. import __version__

# The distributions whose versions a report records, by display name.
LIBRARIES = {
    "nnestimators": "nnestimators",
    "torch": "torch",
    "skorch": "skorch",
    "scikit-learn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
}

# ``<function f at 0x7f3a...>``, ``<Foo object at 0x...>``: addresses change
# from run to run and tell a reader nothing.
_FUNCTION_REPR = re.compile(r"<function (\S+) at 0x[0-9a-fA-F]+>")
_ADDRESS = re.compile(r"\s+at 0x[0-9a-fA-F]+")


def library_versions():
    """Versions of Python and the libraries a report depends on.

    Returns
    -------
    versions : dict of str to str
        ``"nnestimators"``, ``"torch"``, ``"skorch"``, ``"scikit-learn"``,
        ``"numpy"``, ``"pandas"`` and ``"Python"``; ``"not installed"`` for a
        missing distribution.

    Examples
    --------
    >>> sorted(library_versions())[:3]
    ['Python', 'nnestimators', 'numpy']
    """
    versions = {}
    for name, distribution in LIBRARIES.items():
        try:
            versions[name] = version(distribution)
        except PackageNotFoundError:
            versions[name] = _imported_version(name)
    versions["Python"] = platform.python_version()
    return versions


def _imported_version(name):
    """``__version__`` of a module on the path but not installed (a checkout)."""
    if name != "nnestimators":
        return "not installed"
    return __version__


def without_addresses(text):
    """``text`` without the memory addresses of Python's default reprs.

    Examples
    --------
    >>> without_addresses("FunctionTransformer(func=<function f at 0x7f33a1>)")
    'FunctionTransformer(func=f)'
    >>> without_addresses("<scipy.stats.rv_frozen object at 0x7f33a1>")
    '<scipy.stats.rv_frozen object>'
    """
    return _ADDRESS.sub("", _FUNCTION_REPR.sub(r"\1", text))


def readable_value(value):
    """A parameter value as a reader wants it: names for functions and classes.

    Examples
    --------
    >>> readable_value((128, 64))
    '(128, 64)'
    >>> readable_value(0.0031622776)
    '0.00316'
    >>> import torch
    >>> readable_value(torch.nn.ReLU)
    'torch.nn.ReLU'
    """
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, type):
        module = value.__module__
        # torch.nn.modules.activation.ReLU is better known as torch.nn.ReLU.
        if module.startswith("torch.nn.modules"):
            module = "torch.nn"
        return f"{module}.{value.__qualname__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return value.__qualname__
    return without_addresses(repr(value) if not isinstance(value, str) else value)
