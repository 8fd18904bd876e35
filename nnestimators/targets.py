"""What varies by task: how ``y`` meets the network and outputs become predictions.

A fit builds one target object, the estimator's ``target_``: it learns what
it needs from ``y`` (the classes, the scale of the values), encodes ``y``
into what the loss sees, and decodes the network's outputs into what
``predict``, ``predict_proba`` and the metrics return. Checkpoints save it
whole (``get_state``), as plain data.

The interface every target implements:

============================  ================================================
``fit_encode(y, classes)``    learn from ``y`` (at the first fit) and encode it
``encode(y)``                 encode more ``y`` (validation data, ``partial_fit``)
``n_outputs``                 the number of outputs the module must give
``decode_batch(encoded)``     a batch's targets as callbacks see them (labels,
                              units of ``y``)
``metric_targets(encoded)``   ``y_true`` for scikit-learn's scorers
``metric_classes``            ``classes_`` the scorers see (codes), or None
``metric_context``            ``"binary"``, ``"multiclass"``, ``"multilabel"``,
                              ``"regression"``
``stratify_labels(encoded)``  labels to stratify a validation split by, or None
``outputs(raw, reading)``     the prediction methods' results for raw outputs
                              (``reading``: ``prediction.OutputReading``)
``get_state()``               plain data that ``from_state`` rebuilds it from
============================  ================================================

and, before any data is seen, ``task``, ``default_metrics`` and
``check_criterion(criterion, owner)``.

Implementations: ``LabelTarget`` (one class per sample, one output per
class), ``BinaryTarget`` (two classes, one logit), ``MultilabelTarget`` (an
indicator matrix, one logit per label) and ``ScaledTarget`` (regression,
standardised values).
"""

import numpy as np
import torch
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight

from . import validation

# The losses of regression, refused by classifiers.
_REGRESSION_LOSSES = (
    torch.nn.MSELoss,
    torch.nn.L1Loss,
    torch.nn.SmoothL1Loss,
    torch.nn.HuberLoss,
)
# Losses over one logit per sample, for two classes.
ONE_LOGIT_LOSSES = (torch.nn.BCEWithLogitsLoss, torch.nn.BCELoss)


def loss_class(criterion):
    """The class of a ``criterion`` parameter (a class, or an instance's)."""
    return criterion if isinstance(criterion, type) else type(criterion)


class Target:
    """The interface (see the module's docstring) and what targets share."""

    task = "classification"
    default_metrics = ("accuracy",)
    metric_context = "binary"
    metric_classes = None

    @classmethod
    def check_criterion(cls, criterion, owner):
        """Raise ``ValueError`` for a criterion this task cannot train with."""

    def stratify_labels(self, encoded):
        return None

    def loss_for(self, criterion):
        """The criterion to build for these targets (the parameter's, as given)."""
        return criterion

    def check_same_classes(self, classes):
        """``partial_fit``'s ``classes`` must be the first call's."""

    def check_warm_start(self, y):
        """``warm_start`` continues a fit whose targets ``y`` must match."""

    def get_state(self):
        return {"kind": self.kind, **self._state()}

    @staticmethod
    def from_state(state):
        """Rebuild a target from ``get_state()``'s plain data."""
        kind = state.get("kind") if isinstance(state, dict) else None
        cls = TARGET_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ValueError(f"unknown target kind {kind!r}")
        target = object.__new__(cls)
        target._restore({k: v for k, v in state.items() if k != "kind"})
        return target


# -- classification --------------------------------------------------------------


class ClassTarget(Target):
    """Labels in, the same labels out: what the three classification targets share.

    Parameters
    ----------
    owner : str
        The estimator's class name, for messages.
    declared : array-like or None
        The ``classes`` parameter: the full label set, in its order.
    """

    def __init__(self, owner, declared=None):
        self.owner = owner
        self.declared = None if declared is None else np.asarray(declared)
        self.classes_ = None

    @classmethod
    def check_criterion(cls, criterion, owner):
        kind = loss_class(criterion)
        if isinstance(kind, type) and issubclass(kind, _REGRESSION_LOSSES):
            raise ValueError(
                f"criterion={kind.__name__} is a regression loss; {owner} needs a "
                "classification loss on logits (CrossEntropyLoss, or "
                "BCEWithLogitsLoss for multilabel)."
            )

    @property
    def n_classes(self):
        return len(self.classes_)

    @property
    def metric_classes(self):
        return None if self.classes_ is None else np.arange(self.n_classes)

    @property
    def metric_context(self):
        if self.classes_ is None:
            return "binary"  # unknown before a fit: names are checked alike
        return "multiclass" if self.n_classes > 2 else "binary"

    def fit_encode(self, y, classes=None, sample_weight=None):
        declared = self._declared(y, classes)
        known = declared if declared is not None else classes
        if known is not None and declared is None:
            known = np.unique(known)
        self.classes_, codes = self._encode_labels(y, known)
        self._check_fitted_classes()
        return self._as_targets(codes)

    def encode(self, y):
        _, codes = self._encode_labels(y, self.classes_)
        return self._as_targets(codes)

    def fit_classes(self, classes):
        """Fit on a label set alone: data whose targets are codes already."""
        self.classes_ = np.asarray(classes)
        return self

    def _check_fitted_classes(self):
        pass

    def _as_targets(self, codes):
        if codes.ndim == 2:
            raise ValueError(
                f"{self.owner} was fitted on single-label targets; y here is "
                "multilabel."
            )
        return codes

    _binary_only = False

    def _encode_labels(self, y, classes):
        """``validation.encode_labels`` for classes in any order.

        Codes index ``classes`` as given (``classes=`` keeps its order); the
        lookup itself needs them sorted.
        """
        if classes is None:
            return validation.encode_labels(self, y, binary=self._binary_only)
        classes = np.asarray(classes)
        order = np.argsort(classes, kind="stable")
        found, codes = validation.encode_labels(
            self, y, classes=classes[order], binary=self._binary_only
        )
        if codes.ndim == 2:  # multilabel: one column per label, as given
            return found, codes
        return classes, order[codes]

    def _declared(self, y, classes):
        """The ``classes`` parameter as the full label set, checked against y."""
        declared = self.declared
        if declared is None:
            return None
        if declared.ndim != 1:
            raise ValueError(
                f"classes must be a 1d array-like of labels, got shape "
                f"{declared.shape}."
            )
        unique = np.unique(declared)
        if len(unique) != len(declared):
            raise ValueError(
                f"classes={declared.tolist()!r} names a label more than once."
            )
        if classes is not None and not np.array_equal(unique, np.unique(classes)):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} given to partial_fit is "
                f"not the same as the classes parameter, {declared.tolist()!r}."
            )
        if type_of_target(y, input_name="y") in ("binary", "multiclass"):
            seen = np.unique(y)
            missing = seen[~np.isin(seen, declared)]
            if len(missing):
                raise ValueError(
                    "`y` has classes not in `self.classes`. `self.classes` has "
                    f"{declared}. 'y' has {seen}."
                )
        return declared

    def check_same_classes(self, classes):
        if classes is None or self.classes_ is None:
            return
        given = np.unique(classes)
        if not np.array_equal(given, np.unique(self.classes_)):
            raise ValueError(
                f"classes={given.tolist()!r} is not the same as on the first call "
                f"to partial_fit, which was {np.asarray(self.classes_).tolist()!r}."
            )

    def check_warm_start(self, y):
        if self.declared is not None:
            return  # the classes parameter names every class
        seen = np.unique(y)
        if len(seen) != self.n_classes:
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_!r}, `y` "
                f"has {seen!r}."
            )

    def decode_batch(self, encoded):
        classes = self.classes_
        if classes is None:
            return encoded
        if classes.dtype.kind in "iub" and np.array_equal(
            classes, np.arange(len(classes))
        ):
            return encoded
        labels = classes[encoded.long().cpu().numpy()]
        if labels.dtype.kind in "iufb":
            return torch.as_tensor(labels)
        return labels

    def metric_targets(self, encoded):
        return encoded.astype(np.int64)

    def stratify_labels(self, encoded):
        return encoded.cpu().numpy()

    def labels(self, codes):
        """Labels for class codes (codes while no classes are known)."""
        return codes if self.classes_ is None else self.classes_[codes]

    def outputs(self, raw, reading):
        proba = self.probabilities(raw, reading)
        return {"predict_proba": proba, "predict": self.codes(proba, reading)}

    def codes(self, proba, reading):
        return proba.argmax(axis=1)

    def _state(self):
        return {
            "owner": self.owner,
            "declared": self.declared,
            "classes": self.classes_,
        }

    def _restore(self, state):
        self.owner = state["owner"]
        self.declared = state["declared"]
        self.classes_ = state["classes"]


class LabelTarget(ClassTarget):
    """One label per sample, one output (logit or probability) per class."""

    kind = "labels"

    @property
    def n_outputs(self):
        return self.n_classes

    def probabilities(self, raw, reading):
        own = reading.own_probabilities(raw.double())
        if own is not None:
            return own.numpy()
        return np.asarray(reading.nonlinearity(raw.double()), dtype=np.float64)


class BinaryTarget(ClassTarget):
    """Two classes, one logit (or probability) per sample for ``classes_[1]``.

    Parameters
    ----------
    owner, declared
        As ``ClassTarget``.
    loss_name : str or None
        The one-logit criterion an ``NNClassifier`` was given
        (``BCEWithLogitsLoss``), named when ``y`` has more classes; None for
        ``NNBinaryClassifier``, which refuses them in scikit-learn's words.
    """

    kind = "binary"
    n_outputs = 1

    def __init__(self, owner, declared=None, loss_name=None):
        super().__init__(owner, declared)
        self.loss_name = loss_name

    @classmethod
    def check_criterion(cls, criterion, owner):
        # One logit per sample: any loss of one value per sample will do
        # (a regression loss too), but not a loss over one output per class.
        kind = loss_class(criterion)
        if isinstance(kind, type) and issubclass(
            kind, torch.nn.CrossEntropyLoss | torch.nn.NLLLoss
        ):
            raise ValueError(
                f"criterion={kind.__name__} expects one output per class, but "
                f"{owner}'s module returns one logit per sample; use "
                "BCEWithLogitsLoss (the default), or NNClassifier for "
                "CrossEntropyLoss."
            )

    @property
    def _binary_only(self):
        return self.loss_name is None

    @property
    def metric_context(self):
        return "binary"

    def _check_fitted_classes(self):
        if self.loss_name is not None and self.n_classes > 2:
            raise ValueError(
                f"criterion={self.loss_name} takes one logit per sample, for two "
                f"classes (or multilabel targets); y has {self.n_classes} "
                "classes. Use criterion=torch.nn.CrossEntropyLoss (the default) "
                "for more."
            )

    def _as_targets(self, codes):
        return super()._as_targets(codes).astype(np.float32)

    def probabilities(self, raw, reading):
        raw = raw.double()
        own = reading.own_probabilities(raw)
        if own is not None:
            own = own.reshape(-1)
            return torch.stack((1 - own, own), 1).numpy()
        if raw.dim() == 2 and raw.shape[1] == 1:
            raw = raw.reshape(-1)  # skorch's nonlinearity takes one per sample
        return np.asarray(reading.nonlinearity(raw), dtype=np.float64)

    def logits(self, raw, reading):
        """The logit of ``classes_[1]``: the outputs, or the logit of their own
        probabilities (a module ending in sigmoid)."""
        raw = raw.double()
        own = reading.own_probabilities(raw)
        return (raw if own is None else torch.logit(own)).numpy()

    def codes(self, proba, reading):
        return (proba[:, 1] > reading.threshold).astype(np.int64)

    def outputs(self, raw, reading):
        outputs = super().outputs(raw, reading)
        outputs["decision_function"] = self.logits(raw, reading)
        return outputs

    def _state(self):
        return {**super()._state(), "loss_name": self.loss_name}

    def _restore(self, state):
        super()._restore(state)
        self.loss_name = state["loss_name"]


class MultilabelTarget(ClassTarget):
    """An indicator matrix: one independent logit (or probability) per label."""

    kind = "multilabel"
    metric_context = "multilabel"

    @property
    def n_outputs(self):
        return self.n_classes

    def _as_targets(self, codes):
        if codes.ndim != 2:
            raise ValueError(
                f"{self.owner} was fitted on multilabel targets; y here is not."
            )
        return codes.astype(np.float32)

    def loss_for(self, criterion):
        # The default per-class loss becomes one logit per label.
        if criterion is torch.nn.CrossEntropyLoss:
            return torch.nn.BCEWithLogitsLoss
        return criterion

    def check_warm_start(self, y):
        pass  # the indicator's width is checked by encode

    def decode_batch(self, encoded):
        return encoded

    def metric_targets(self, encoded):
        return encoded.astype(np.int64)

    def stratify_labels(self, encoded):
        return None  # indicator rows are split plainly

    def labels(self, codes):
        return codes

    def probabilities(self, raw, reading):
        own = reading.own_probabilities(raw.double())
        if own is not None:
            return own.numpy()
        return torch.sigmoid(raw.double()).numpy()

    def codes(self, proba, reading):
        return (proba > 0.5).astype(np.int64)


def classification_target(owner, y, *, declared, binary, criterion):
    """The target a classifier's fit on ``y`` needs.

    ``binary`` is ``NNBinaryClassifier``'s one logit; an ``NNClassifier``
    given a one-logit criterion (``BCEWithLogitsLoss``) on single-label
    targets takes one logit too, as skorch's classifier does. ``y`` is None
    for a torch ``Dataset``, whose labels are codes already.
    """
    if binary:
        return BinaryTarget(owner, declared)
    if y is not None and type_of_target(y, input_name="y") == "multilabel-indicator":
        return MultilabelTarget(owner, declared)
    kind = loss_class(criterion)
    if isinstance(kind, type) and issubclass(kind, ONE_LOGIT_LOSSES):
        return BinaryTarget(owner, declared, loss_name=kind.__name__)
    return LabelTarget(owner, declared)


# -- regression ----------------------------------------------------------------


# "auto" standardises a user module's targets beyond this mean or spread.
AUTO_SCALE_LIMIT = 10.0


class ScaledTarget(Target):
    """Values in, values out, trained as ``(y - mean_) / scale_``.

    Parameters
    ----------
    standardize : bool or "auto"
        Whether to standardise (weighted by ``sample_weight``); False trains
        on ``y`` as given. ``"auto"`` standardises for the package's own
        modules (``own_module``), and for others when ``y``'s mean or spread
        exceeds ``AUTO_SCALE_LIMIT``.
    own_module : bool
        Whether the module is one of ``nnestimators.modules``.
    """

    kind = "values"
    task = "regression"
    default_metrics = ()
    metric_context = "regression"

    def __init__(self, standardize=True, own_module=True):
        self.standardize = standardize
        self.own_module = own_module
        self.mean_ = self.scale_ = None
        self.ndim_ = 1

    def fit_encode(self, y, classes=None, sample_weight=None):
        values = _as_columns(y)
        self.ndim_ = np.ndim(y)
        mean, scale = _statistics(values, sample_weight, self.standardize is not False)
        far_from_unit = np.max(np.maximum(np.abs(mean), scale)) > AUTO_SCALE_LIMIT
        if self.standardize == "auto" and not (self.own_module or far_from_unit):
            mean, scale = np.zeros_like(mean), np.ones_like(scale)
        self.mean_, self.scale_ = mean, scale
        return self._scaled(values)

    def fit_identity(self, ndim, n_outputs):
        """Fit for data whose targets are used as they are (a torch Dataset)."""
        self.ndim_ = ndim
        self.mean_, self.scale_ = np.zeros(n_outputs), np.ones(n_outputs)
        return self

    def encode(self, y):
        values = _as_columns(y)
        if values.shape[1] != self.n_outputs:
            raise ValueError(
                f"y has {values.shape[1]} targets, but the estimator was fitted "
                f"with {self.n_outputs}."
            )
        return self._scaled(values)

    def _scaled(self, values):
        return ((values - self.mean_) / self.scale_).astype(np.float32)

    @property
    def n_outputs(self):
        return len(self.mean_)

    @property
    def is_identity(self):
        return bool(np.all(self.mean_ == 0) and np.all(self.scale_ == 1))

    def decode_batch(self, encoded):
        if self.mean_ is None or self.is_identity:
            return encoded
        values = encoded.double().reshape(len(encoded), -1).cpu().numpy()
        values = values * self.scale_ + self.mean_
        return torch.as_tensor(values.reshape(encoded.shape), dtype=torch.float32)

    def metric_targets(self, encoded):
        values = encoded * self.scale_ + self.mean_
        return values.ravel() if self.ndim_ == 1 else values

    def values(self, raw, dtype=np.float64):
        """Outputs in the units and shape of ``y`` (``float32`` on request)."""
        values = raw.numpy().astype(np.float64).reshape(len(raw), -1)
        if self.mean_ is not None:
            values = values * self.scale_ + self.mean_
        if self.ndim_ == 1 and values.shape[1] == 1:
            values = values.reshape(len(values))
        return values.astype(dtype, copy=False)

    def outputs(self, raw, reading):
        raw = torch.as_tensor(reading.nonlinearity(raw)).float()
        return {"predict": self.values(raw)}

    def _state(self):
        return {
            "standardize": self.standardize,
            "own_module": self.own_module,
            "mean": self.mean_,
            "scale": self.scale_,
            "ndim": self.ndim_,
        }

    def _restore(self, state):
        self.standardize = state["standardize"]
        self.own_module = state["own_module"]
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale"], dtype=np.float64)
        self.ndim_ = int(state["ndim"])


def _as_columns(y):
    return np.asarray(y, dtype=np.float64).reshape(len(y), -1)


def _statistics(values, sample_weight, standardize):
    """Mean and scale the network learns targets in (0 and 1 when not scaled)."""
    n_targets = values.shape[1]
    if not standardize:
        return np.zeros(n_targets), np.ones(n_targets)
    # Weighted, so that integer weights and repeated rows agree.
    weights = None
    if sample_weight is not None:
        weights = _check_sample_weight(sample_weight, values, ensure_non_negative=True)
        weights = weights if weights.sum() > 0 else None  # refused later
    mean = np.average(values, axis=0, weights=weights)
    scale = np.sqrt(np.average((values - mean) ** 2, axis=0, weights=weights))
    return mean, np.where(scale > 0, scale, 1.0)


# Checkpoints name a target by its kind; nothing else is looked up.
TARGET_KINDS = {
    cls.kind: cls for cls in (LabelTarget, BinaryTarget, MultilabelTarget, ScaledTarget)
}
