"""Where parameters live: scikit-learn's storage rules on top of skorch's routing.

The parameters are the named arguments of the estimator's constructor (and,
for a subclass whose ``__init__`` forwards ``**kwargs``, of its parents'),
stored untouched as attributes; scikit-learn's rule. Routed arguments
(``module__*``, ``optimizer__*``, ``callbacks__*``, ...) and anything
unknown live in a private dict, so that scikit-learn's
``check_no_attributes_set_in_init`` holds, yet they read as attributes, are
returned by ``get_params`` and survive ``clone`` (an unknown name then fails
at ``fit`` in skorch's words instead of being silently dropped). Whatever
else is set on the estimator (in ``fit``, by a callback) is state.
"""

import difflib
import inspect
import os
import warnings
from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions
from skorch.utils import params_for

from .mlp.mapping import nn_parameter_hints

# skorch parameters these estimators take as keywords, stored as attributes.
SKORCH_KEYWORDS = frozenset(
    {
        "iterator_train",
        "iterator_valid",
        "dataset",
        "use_caching",
        "torch_load_kwargs",
        "classes",
    }
)
# Keys skorch's own __init__ accepts for its internal bookkeeping.
_SKORCH_STATE = frozenset({"history", "initialized_", "virtual_params_"})


class IntegerInterval(Interval):
    """scikit-learn's ``Interval(Integral, ...)`` without booleans.

    Python's ``True`` is the integer 1, which ``Interval`` accepts: with it
    ``n_threads=True`` would silently mean one thread.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)


# Every parameter's valid values, checked once at fit (scikit-learn's way).
PARAMETER_CONSTRAINTS = {
    "module": [type, torch.nn.Module, callable],
    "criterion": [type, torch.nn.Module, callable],
    "optimizer": [type, callable],
    "lr": [Interval(Real, 0, None, closed="left")],
    "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
        Options(Integral, {-1}),
    ],
    "validation_fraction": [Interval(Real, 0, 1, closed="left"), None],
    "metrics": [list, tuple, dict, str, callable, None],
    "monitor": [str],
    "patience": [Interval(Integral, 0, None, closed="left"), None],
    "min_delta": [Interval(Real, 0, None, closed="left")],
    "restore_best_weights": ["boolean"],
    "checkpoint_dir": [str, os.PathLike, None],
    "lr_schedule": [str, type, None],
    "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
    "augment": [callable, None],
    "device": [str, torch.device, None],
    "n_threads": [
        IntegerInterval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "partial_fit_epochs": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"max_epochs", "auto"}),
    ],
    "callbacks": [list, tuple, StrOptions({"disable"}), None],
    "train_split": [callable, None, Options(bool, {False})],
    "predict_nonlinearity": [callable, StrOptions({"auto"}), None],
    "compile": ["boolean"],
}


def store_params(estimator, params):
    """Store constructor arguments untouched (scikit-learn's convention)."""
    kwargs = params.pop("kwargs", {})
    for name, value in params.items():
        if name not in ("self", "__class__"):
            object.__setattr__(estimator, name, value)
    routed = estimator.__dict__.setdefault("_routed", {})
    for name, value in kwargs.items():
        if name in SKORCH_KEYWORDS:
            object.__setattr__(estimator, name, value)
        elif name == "history" and value is not None:
            # skorch's: a History instance the net records into.
            object.__setattr__(estimator, "history_", value)
        elif name in _SKORCH_STATE:
            continue
        else:
            routed[name] = value


class ParametersMixin:
    """Parameter storage, names, ``set_params`` and the name checks.

    ``_parameter_hints`` maps names the estimator does not take to a hint
    naming the equivalent setting: ``MLPClassifier``'s names, from the one
    table of ``nnestimators.mlp.mapping``.
    """

    _parameter_hints = nn_parameter_hints()

    def __getattr__(self, name):
        # Only reached when normal lookup fails: routed parameters.
        routed = self.__dict__.get("_routed")
        if routed is not None and name in routed:
            return routed[name]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def __setattr__(self, name, value):
        if "__" in name and not name.startswith("_"):
            self.__dict__.setdefault("_routed", {})[name] = value
        elif name.startswith("_") or name in signature_names(type(self)):
            object.__setattr__(self, name, value)
        else:
            # skorch's hook registers torch components (module_, ...).
            super().__setattr__(name, value)

    def __delattr__(self, name):
        routed = self.__dict__.get("_routed", {})
        if name in routed:
            del routed[name]
        else:
            super().__delattr__(name)

    @property
    def _params_to_validate(self):
        # skorch's bookkeeping of routed names, derived from where they live.
        return {k for k in self._routed_params() if not self._is_nested(k)}

    @_params_to_validate.setter
    def _params_to_validate(self, value):
        pass  # derived, see the getter

    def _routed_params(self):
        # skorch's set_params writes callbacks__* straight into __dict__.
        params = {k: v for k, v in self.__dict__.items() if "__" in k}
        params.update(self.__dict__.get("_routed", {}))
        return params

    def _get_params_for(self, prefix):
        return params_for(prefix, self._routed_params())

    def _get_param_names(self):
        names = set(signature_names(type(self)))
        names.update(k for k in SKORCH_KEYWORDS if k in self.__dict__)
        names.update(self._routed_params())
        return sorted(names)

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if "_requested_device" in self.__dict__:
            # While the net works, self.device reads the resolved device.
            params["device"] = self.__dict__["_requested_device"]
        session = self.__dict__.get("fit_session_")
        if deep and session is not None:
            # skorch's ProgressBar reads batch sizes from get_params; during
            # a fit it sees the numbers "auto" stands for.
            for name, size in session.iterator_batch_sizes.items():
                params.setdefault(f"{name}__batch_size", size)
        return params

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        session = self.__dict__.get("fit_session_")
        if session is not None and prefix in session.iterator_batch_sizes:
            # A get_iterator override reads the batch size where skorch's
            # does; during a fit it is the number "auto" stands for.
            params.setdefault("batch_size", session.iterator_batch_sizes[prefix])
        return params

    def set_params(self, **params):
        """Set parameters; ``module__*``, ``optimizer__*``, ``callbacks__*`` included.

        An unknown name raises ``ValueError`` at once, as scikit-learn does.
        Before the first fit nothing is built: values are only stored. On an
        initialized net, ``module__*`` and ``criterion__*`` rebuild those
        parts as skorch does, with a warning when trained weights are lost.
        """
        names = set(self._get_param_names())
        for key in params:
            self._check_settable(key, names)
        self._check_callback_names(params)
        # Parameters of a parameter that is itself an estimator-like object
        # (augment__max_shift, say) go to that object, as scikit-learn does.
        nested = {k: v for k, v in params.items() if self._is_nested(k)}
        BaseEstimator.set_params(self, **nested)
        params = {k: v for k, v in params.items() if k not in nested}
        if not params:
            return self
        if self.initialized_:
            self._warn_reinitialization(params)
            return super().set_params(**params)
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _check_settable(self, key, names):
        if key in names or self._is_nested(key):
            return
        if "__" in key and self._prefix_of(key) is not None:
            return
        raise ValueError(
            f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
            + self._hint(key, names | set(self._prefixes()))
            + f"Valid parameters are: {sorted(signature_names(type(self)))}, "
            "and routed names such as module__<name>."
        )

    def _hint(self, key, candidates):
        hint = self._parameter_hints.get(key)
        if hint is not None:
            return f"({hint}) "
        return _did_you_mean(key, candidates)

    def _check_callback_names(self, params):
        """``callbacks__<name>[__<param>]`` must name a callback, as in skorch;
        a callback set to None has no parameters to set."""
        keys = [key for key in params if key.startswith("callbacks__")]
        if not keys or "callbacks" in params:  # new callbacks: names follow them
            return
        if self.callbacks == "disable":
            names = set()
        else:
            names = {name for name, _ in self._uniquely_named_callbacks()}
        removed = {**self._routed_params(), **params}
        for key in keys:
            name, _, param = key[len("callbacks__") :].partition("__")
            gone = removed.get(f"callbacks__{name}", True) is None
            if param and gone:
                raise ValueError(
                    f"Trying to set a parameter for callback {name} which does "
                    "not exist."
                )
            if name in names:
                continue
            what = "a parameter for callback" if param else "callback"
            raise ValueError(
                f"Trying to set {what} {name} which does not exist. The callbacks "
                f"are {sorted(names)} (callbacks__<name> replaces one)."
            )

    def _is_nested(self, key):
        owner = key.split("__", 1)[0]
        if "__" not in key or owner not in signature_names(type(self)):
            return False
        value = getattr(self, owner, None)
        return hasattr(value, "set_params") and not isinstance(value, type)

    def _prefixes(self):
        return set(self.prefixes_) | {"module", "criterion", "optimizer"}

    def _prefix_of(self, key):
        head = key.split("__", 1)[0]
        return head if head in self._prefixes() else None

    def _validate_params(self):
        """skorch's check at ``initialize``: a warning for shuffled validation
        batches, then the names (``_check_param_names``)."""
        if self._routed_params().get("iterator_valid__shuffle"):
            warnings.warn(
                "You set iterator_valid__shuffle=True; this is most likely not "
                "what you want because the values returned by predict and "
                "predict_proba will be shuffled.",
                UserWarning,
                stacklevel=3,
            )
        self._check_param_names()

    def _check_param_names(self):
        """skorch's check of routed and unknown names, with suggestions.

        Misspelt prefixes (``modul__dropout``) and missing double
        underscores get a suggestion; names the estimator does not take but
        ``_parameter_hints`` knows get the hint.
        """
        known = set(signature_names(type(self))) | SKORCH_KEYWORDS
        prefixes = sorted(self._prefixes(), key=lambda p: (-len(p), p))
        unexpected, suggestions = [], []
        for key in sorted(self.__dict__.get("_routed", {})):
            if key in known or self._is_nested(key):
                continue
            prefix = next((p for p in prefixes if key.startswith(p)), None)
            if prefix is not None:
                if not key.startswith(prefix + "__"):
                    suffix = key[len(prefix) :].lstrip("_")
                    suggestions.append((key, f"{prefix}__{suffix}"))
                continue
            head, _, rest = key.partition("__")
            close = difflib.get_close_matches(head, prefixes, n=1, cutoff=0.6)
            if rest and close:
                suggestions.append((key, f"{close[0]}__{rest}"))
            else:
                unexpected.append(key)
        messages = []
        if unexpected:
            messages.append(
                f"__init__() got unexpected argument(s) {', '.join(unexpected)}. "
                "Either you made a typo, or you added new arguments in a "
                "subclass; if that is the case, the subclass should deal with "
                "the new arguments explicitly."
            )
            messages.extend(
                f"{key}: {self._parameter_hints[key]}"
                for key in unexpected
                if key in self._parameter_hints
            )
        messages.extend(
            f"Got an unexpected argument {key}, did you mean {suggestion}?"
            for key, suggestion in sorted(suggestions)
        )
        if self.use_caching not in ("auto", False, True):
            messages.append(
                f"Incorrect value for use_caching used ('{self.use_caching}'), "
                "use one of: auto, False, True"
            )
        if messages:
            raise ValueError("\n".join(messages))

    def _warn_reinitialization(self, params):
        # skorch rebuilds the module for module*; criterion* rebuilds the
        # criterion and the optimizer only, and the weights stay.
        rebuilds = {k for k in params if k.split("__", 1)[0] == "module"}
        if rebuilds and self.__dict__.get("history_"):
            warnings.warn(
                f"Re-initializing module because the following parameters were "
                f"re-set: {', '.join(sorted(rebuilds))}. The trained weights are "
                "discarded; fit again before predicting.",
                UserWarning,
                stacklevel=3,
            )


def signature_names(cls):
    """Named constructor arguments of ``cls`` and of the classes it extends.

    A subclass whose ``__init__`` takes ``**kwargs`` and forwards them
    (skorch's documented pattern) keeps its parents' parameters.
    """
    cached = cls.__dict__.get("_signature_cache")
    if cached is not None:
        return cached
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith(("skorch", "builtins")):
            continue
        if klass.__module__.startswith("sklearn"):
            continue
        parameters = inspect.signature(init).parameters
        names.update(
            name
            for name, p in parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break  # this __init__ does not forward to its parents
    cached = frozenset(names)
    type.__setattr__(cls, "_signature_cache", cached)
    return cached


def _did_you_mean(key, candidates):
    head, _, rest = key.partition("__")
    if rest:
        close = difflib.get_close_matches(head, sorted(candidates), n=1, cutoff=0.6)
        if close:
            return f"(did you mean {close[0]}__{rest}?) "
    close = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    return f"(did you mean {close[0]}?) " if close else ""
