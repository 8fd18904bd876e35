"""Where parameters live: scikit-learn's storage rules on top of skorch's routing.

Constructor arguments are stored untouched. Named parameters are plain
attributes; routed ones (``module__*``, ``optimizer__*``, ``callbacks__*``,
...) and anything unknown live in a private dict, so that scikit-learn's
``check_no_attributes_set_in_init`` holds, yet they read as attributes, are
returned by ``get_params`` and survive ``clone`` (an unknown name then fails
at ``fit`` in skorch's words instead of being silently dropped).
"""

import contextlib
import difflib
import functools
import inspect

from sklearn.base import BaseEstimator

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


def store_params(estimator, params):
    """Store constructor arguments untouched (scikit-learn's convention)."""
    kwargs = params.pop("kwargs", {})
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
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


def _constructing(init):
    """Wrap a class's own ``__init__`` to count nested constructions.

    Attributes set while any ``__init__`` runs are parameters (skorch's way
    for subclasses: ``self.lambda1 = lambda1``); those set afterwards (in
    ``fit``, ``initialize``, a callback) are state.
    """

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        with _nested(self, _DEPTH):
            init(self, *args, **kwargs)

    __init__.__wrapped_for_params__ = True
    return __init__


@contextlib.contextmanager
def _nested(estimator, key):
    """Count, in the instance, how many blocks of one kind are running."""
    state = estimator.__dict__
    state[key] = state.get(key, 0) + 1
    try:
        yield
    finally:
        # Removed at 0: the count never reaches a pickle or a clone.
        depth = estimator.__dict__.get(key, 1) - 1
        if depth > 0:
            estimator.__dict__[key] = depth
        else:
            estimator.__dict__.pop(key, None)


# Instance keys: how many __init__ are running; whether set_params is setting.
_DEPTH = "_init_depth"
_SETTING = "_setting_params"


class ParametersMixin:
    """Parameter storage, names, ``set_params`` and the name checks."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__wrapped_for_params__", False):
            type.__setattr__(cls, "__init__", _constructing(init))

    def _is_parameter_write(self, name):
        # In an __init__ or set_params; or a name that already is a parameter.
        state = self.__dict__
        return (
            state.get(_DEPTH, 0) > 0
            or state.get(_SETTING, 0) > 0
            or (name in state and name not in state.get("_state_names", ()))
        )

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
        elif (
            name.startswith("_")
            or name in signature_names(type(self))
            or "_routed" not in self.__dict__  # a subclass's __init__, before ours
        ):
            object.__setattr__(self, name, value)
        else:
            if not name.endswith("_") and not self._is_parameter_write(name):
                # State a subclass keeps (self.epochs_seen in a callback,
                # self.n_rows in its fit), set outside any __init__ and not by
                # set_params: clone must not pass it to __init__.
                self.__dict__.setdefault("_state_names", set()).add(name)
            # skorch's hook registers torch components (module_, ...) as before.
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
        from skorch.utils import params_for

        return params_for(prefix, self._routed_params())

    def _get_param_names(self):
        names = set(signature_names(type(self)))
        # A subclass may set parameters of its own in __init__ (skorch's way).
        state = self.__dict__.get("_state_names", ())
        names.update(
            k
            for k in self.__dict__
            if not k.startswith("_")
            and not k.endswith("_")
            and k != "forward_iter"
            and k not in state
        )
        names.update(self._routed_params())
        return sorted(names)

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if "_requested_device" in self.__dict__:
            # While the net works, self.device reads the resolved device.
            params["device"] = self.__dict__["_requested_device"]
        fitting = self.__dict__.get("_fitting_batch_sizes")
        if deep and fitting:
            # skorch's ProgressBar reads batch sizes from get_params; during
            # a fit it sees the numbers "auto" stands for.
            for name, size in fitting.items():
                params.setdefault(f"{name}__batch_size", size)
        return params

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        fitting = self.__dict__.get("_fitting_batch_sizes")
        if fitting and prefix in fitting:
            # A get_iterator override reads the batch size where skorch's
            # does; during a fit it is the number "auto" stands for.
            params.setdefault("batch_size", fitting[prefix])
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
        self._check_removed_callbacks(params)
        # Parameters of a parameter that is itself an estimator-like object
        # (augment__max_shift, say) go to that object, as scikit-learn does.
        nested = {k: v for k, v in params.items() if self._is_nested(k)}
        BaseEstimator.set_params(self, **nested)
        params = {k: v for k, v in params.items() if k not in nested}
        if not params:
            return self
        if self.initialized_:
            self._warn_reinitialization(params)
            with self._setting_parameters():
                super().set_params(**params)
            return self
        with self._setting_parameters():
            for key, value in params.items():
                setattr(self, key, value)
        return self

    def _setting_parameters(self):
        return _nested(self, _SETTING)

    def _check_settable(self, key, names):
        if key in names or self._is_nested(key):
            return
        if "__" in key and self._prefix_of(key) is not None:
            return
        raise ValueError(
            f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
            + _did_you_mean(key, names | set(self._prefixes()))
            + f"Valid parameters are: {sorted(signature_names(type(self)))}, "
            "and routed names such as module__<name>."
        )

    def _check_removed_callbacks(self, params):
        # skorch's rule: a callback set to None has no parameters to set, and
        # set_params names only callbacks the net has.
        self._check_callback_names(params)
        removed = {**self._routed_params(), **params}
        for key in params:
            parts = key.split("__")
            if len(parts) == 3 and parts[0] == "callbacks":
                owner = "callbacks__" + parts[1]
                if owner in removed and removed[owner] is None:
                    raise ValueError(
                        f"Trying to set a parameter for callback {parts[1]} "
                        "which does not exist."
                    )

    def _check_callback_names(self, params):
        """``callbacks__<name>[__<param>]`` must name a callback, as in skorch."""
        keys = [key for key in params if key.startswith("callbacks__")]
        if not keys or "callbacks" in params:  # new callbacks: names follow them
            return
        if self.callbacks == "disable":
            names = set()
        else:
            names = {name for name, _ in self._uniquely_named_callbacks()}
        for key in keys:
            name, _, param = key[len("callbacks__") :].partition("__")
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

    def _check_param_names(self):
        """Routed and unknown names, in skorch's words.

        A routed-looking name with a misspelt prefix (``modul__dropout``)
        gets a suggestion as a missing double underscore does.
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
            f"Got an unexpected argument {key}, did you mean {suggestion}?"
            for key, suggestion in sorted(suggestions)
        )
        if messages:
            raise ValueError("\n".join(messages))

    def _validate_params(self):
        # skorch's check at initialize; ours gives suggestions for typos.
        self._check_param_names()
        super()._validate_params()

    def _warn_reinitialization(self, params):
        # skorch rebuilds the module for module*; criterion* rebuilds the
        # criterion and the optimizer only, and the weights stay.
        rebuilds = {k for k in params if k.split("__", 1)[0] == "module"}
        trained = bool(getattr(self, "history_", None))
        if rebuilds and trained:
            import warnings

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
