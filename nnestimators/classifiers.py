"""Classifiers: any labels in, the same labels out."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier
from skorch.dataset import Dataset
from skorch.utils import data_from_dataset

from . import validation
from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimatorMixin
from .mlp_attributes import LogProbaMixin
from .modules import MLP
from .parameters import store_params as _store_params
from .training.outputs import recognise, to_probabilities


class _ClassifierMixin(LogProbaMixin, NNEstimatorMixin):
    """Label encoding and decoding shared by both classifiers."""

    _parameter_constraints = {
        **NNEstimatorMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _regression = False
    _binary = False
    _recognises_outputs = True

    def _independent_outputs(self):
        """Whether outputs score classes independently (sigmoid, not softmax)."""
        return self._one_logit() or self._is_multilabel()

    def _one_logit(self):
        """Whether the module gives one logit per sample for two classes.

        ``NNBinaryClassifier`` always; ``NNClassifier`` with a binary
        cross-entropy criterion (``BCEWithLogitsLoss``/``BCELoss``) on
        single-label targets, as skorch's ``NeuralNetClassifier`` takes it.
        """
        return self._binary or (
            _takes_one_logit(self.criterion) and not self._is_multilabel()
        )

    @property
    def classes_(self):
        """The class labels, in the order of ``predict_proba``'s columns."""
        try:
            return self.__dict__["_classes"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute 'classes_' before fit."
            ) from None

    @classes_.setter
    def classes_(self, value):
        self._classes = value

    def _encode_target(self, y, *, reset, classes, sample_weight=None):
        if reset:
            declared = self._declared_classes(y, classes)
            if declared is not None:
                known = declared
            else:
                known = None if classes is None else np.unique(classes)
            self.classes_, codes = self._encode_labels(y, known)
            self._multilabel = codes.ndim == 2
        else:
            _, codes = self._encode_labels(y, self.classes_)
            if (codes.ndim == 2) != self._is_multilabel():
                raise ValueError(
                    f"{type(self).__name__} was fitted on "
                    + ("multilabel" if self._is_multilabel() else "single-label")
                    + " targets; y here is not."
                )
            if (
                self.warm_start
                and not self._is_multilabel()
                and classes is None
                and self.classes is None
            ):
                self._check_warm_start_classes(y)
        if self._one_logit() and codes.ndim == 1:
            self._check_one_logit_classes()
        if self._one_logit() or codes.ndim == 2:
            return codes.astype(np.float32)
        return codes

    def _check_one_logit_classes(self):
        n_classes = len(self.classes_)
        if not self._binary and n_classes > 2:
            name = _criterion_name(self.criterion)
            raise ValueError(
                f"criterion={name} takes one logit per sample, for two classes "
                f"(or multilabel targets); y has {n_classes} classes. Use "
                "criterion=torch.nn.CrossEntropyLoss (the default) for more."
            )

    def _encode_labels(self, y, classes):
        """``validation.encode_labels`` for classes in any order.

        Codes index ``classes`` as given (``classes=`` keeps its order, as
        for a torch Dataset); the lookup itself needs them sorted.
        """
        if classes is None:
            return validation.encode_labels(self, y, binary=self._binary)
        classes = np.asarray(classes)
        order = np.argsort(classes, kind="stable")
        found, codes = validation.encode_labels(
            self, y, classes=classes[order], binary=self._binary
        )
        if codes.ndim == 2:  # multilabel: one column per label, as given
            return found, codes
        return classes, order[codes]

    def _declared_classes(self, y, classes):
        """The ``classes=`` parameter as the full label set, checked against y.

        ``None`` when not given; then the classes come from ``y`` (or from
        ``partial_fit``'s ``classes``), as in scikit-learn.
        """
        if self.classes is None:
            return None
        declared = np.asarray(self.classes)
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
        kind = type_of_target(y, input_name="y")
        if kind in ("binary", "multiclass"):
            seen = np.unique(y)
            missing = seen[~np.isin(seen, declared)]
            if len(missing):
                raise ValueError(
                    "`y` has classes not in `self.classes`. `self.classes` has "
                    f"{declared}. 'y' has {seen}."
                )
        return declared

    def _check_same_classes(self, classes):
        # The classes parameter fixes classes_' order; compare label sets.
        if classes is None:
            return
        known = getattr(self, "classes_", None)
        given = np.unique(classes)
        if known is not None and not np.array_equal(given, np.unique(known)):
            raise ValueError(
                f"classes={given.tolist()!r} is not the same as on the first call "
                f"to partial_fit, which was {np.asarray(known).tolist()!r}."
            )

    def _loss_weights(self, X, y, targets, sample_weight, streaming=False):
        # Labels named by the classes parameter need not all be in one chunk.
        streaming = streaming or self.classes is not None
        return super()._loss_weights(X, y, targets, sample_weight, streaming)

    def _check_warm_start_classes(self, y):
        seen = np.unique(y)
        if self.__dict__.get("_fit_kind") == "fit" and len(seen) != len(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_!r}, `y` "
                f"has {seen!r}."
            )

    def _is_multilabel(self):
        return self.__dict__.get("_multilabel", False)

    def _record_shapes(self, X, targets):
        self.n_outputs_ = 1 if self._one_logit() else len(self.classes_)

    def _metric_context(self):
        if self._is_multilabel():
            return "multilabel"
        n_classes = len(self.__dict__.get("_classes", ()))
        return "multiclass" if n_classes > 2 else "binary"

    def _decode_batch_targets(self, codes):
        classes = self._known_classes()
        if classes is None or self._is_multilabel():
            return codes
        if classes.dtype.kind in "iub" and np.array_equal(
            classes, np.arange(len(classes))
        ):
            return codes
        labels = classes[codes.long().cpu().numpy()]
        if labels.dtype.kind in "iufb":
            return torch.as_tensor(labels)
        return labels

    def _known_classes(self):
        known = self.__dict__.get("_classes")
        if known is not None:
            return known
        if self.classes is not None:
            return np.asarray(self.classes)
        return None

    def _check_criterion(self):
        criterion = self.criterion
        kind = criterion if isinstance(criterion, type) else type(criterion)
        regression_losses = (
            torch.nn.MSELoss,
            torch.nn.L1Loss,
            torch.nn.SmoothL1Loss,
            torch.nn.HuberLoss,
        )
        # One logit per sample is a fine input for these in the binary case.
        if (
            not self._binary
            and isinstance(kind, type)
            and issubclass(kind, regression_losses)
        ):
            raise ValueError(
                f"criterion={kind.__name__} is a regression loss; "
                f"{type(self).__name__} needs a classification loss on logits "
                + (
                    "(BCEWithLogitsLoss)."
                    if self._binary
                    else "(CrossEntropyLoss, or BCEWithLogitsLoss for multilabel)."
                )
            )
        if (
            self._binary
            and isinstance(kind, type)
            and issubclass(kind, torch.nn.CrossEntropyLoss | torch.nn.NLLLoss)
        ):
            raise ValueError(
                f"criterion={kind.__name__} expects one output per class, but "
                "NNBinaryClassifier's module returns one logit per sample; use "
                "BCEWithLogitsLoss (the default), or NNClassifier for "
                "CrossEntropyLoss."
            )

    def initialize_criterion(self):
        """Build ``criterion_``; multilabel targets use ``BCEWithLogitsLoss``."""
        if self._is_multilabel() and self.criterion is torch.nn.CrossEntropyLoss:
            kwargs = self.get_params_for("criterion")
            self.criterion_ = torch.nn.BCEWithLogitsLoss(**kwargs)
            self._user_weights_losses = False
            return self
        return super().initialize_criterion()

    def _record_dataset_targets(self, dataset, first_y, y=None):
        if self.classes is not None:
            self.classes_ = np.asarray(self.classes)
        elif y is not None:
            self.classes_ = np.unique(np.asarray(y))
        else:
            if isinstance(dataset, Dataset):
                _, labels = data_from_dataset(dataset)
            else:
                labels = [dataset[i][1] for i in range(len(dataset))]
            self.classes_ = np.unique(np.asarray(torch.as_tensor(np.asarray(labels))))
        self.n_outputs_ = 1 if self._one_logit() else len(self.classes_)

    def _default_metrics(self):
        return ["accuracy"]

    def _metric_targets(self, targets):
        return targets.astype(np.int64)

    def _metric_classes(self):
        classes = self._known_classes()
        return None if classes is None else np.arange(len(classes))

    def _module_probabilities(self, raw):
        """The module's outputs as probabilities, when they are some (else None).

        A module ending in softmax, sigmoid or log_softmax (``module_outputs_``)
        gives its own probabilities; ``predict_nonlinearity`` other than
        ``"auto"`` is applied as given instead.
        """
        if self.predict_nonlinearity != "auto":
            return None
        kind = self.__dict__.get("module_outputs_")
        if kind is None and not self._independent_outputs():
            kind, _ = recognise(raw)  # a net no fit or probe has read: values
        return to_probabilities(kind, raw)

    def _proba(self, raw):
        # In float64, so that rows sum to one as scikit-learn's metrics expect.
        module_proba = self._module_probabilities(raw.double())
        if module_proba is not None:
            if self._one_logit():
                module_proba = module_proba.reshape(-1)
                module_proba = torch.stack((1 - module_proba, module_proba), 1)
            return module_proba.numpy()
        if self._is_multilabel():
            return torch.sigmoid(raw.double()).numpy()
        if self._one_logit() and raw.dim() == 2 and raw.shape[1] == 1:
            raw = raw.reshape(-1)  # skorch's nonlinearity takes one per sample
        proba = self._get_predict_nonlinearity()(raw.double())
        return np.asarray(proba, dtype=np.float64)

    def _codes(self, proba):
        if self._is_multilabel():
            return (proba > 0.5).astype(np.int64)
        return proba.argmax(axis=1)

    def _frozen_outputs(self, raw):
        proba = self._proba(raw)
        return {"predict_proba": proba, "predict": self._codes(proba)}

    def predict_proba(self, X):
        """Return class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._proba(self._raw_outputs(X))

    def predict(self, X):
        """Return the predicted class labels, in the original label type.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels, or an indicator matrix for multilabel targets.
        """
        codes = self._codes(self.predict_proba(X))
        classes = self._known_classes()
        if classes is None or self._is_multilabel():
            return codes  # skorch's convention before classes are known
        return classes[codes]


class NNClassifier(_ClassifierMixin, NeuralNetClassifier):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    __doc__ = f"""A PyTorch network as a scikit-learn multi-class classifier.

    Takes any labels scikit-learn accepts (strings, integers, booleans) and
    returns them from ``predict``; the module receives ``n_features``,
    ``input_shape`` and ``n_outputs`` (the number of classes) when its
    constructor asks for them, and returns logits.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MLP
        The network; its arguments as ``module__name=value``. A class is
        built with the shapes inferred from the data; an instance is copied
        at each fit, which starts from its weights (a pretrained network is
        fine-tuned, the instance itself is never trained).
    criterion : type or torch.nn.Module, default=torch.nn.CrossEntropyLoss
        Loss on the logits, built as skorch builds it (a class with the
        ``criterion__*`` arguments); weights apply to any loss with a
        ``reduction``. A module ending in ``softmax`` trains as in skorch
        (``NLLLoss`` on the log of its probabilities, with a one-line
        warning; ``criterion=torch.nn.NLLLoss`` says so and is silent), one
        ending in ``log_softmax`` trains with either loss, and
        ``predict_proba`` returns the module's probabilities; see
        ``module_outputs_``.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_outputs_ : {{"logits", "probabilities", "log_probabilities"}}
        What the module returns, read once from the first training batch's
        autograd graph (the last operation of ``forward``: softmax, sigmoid,
        log_softmax), or from the values where no graph names it. It
        decides what the criterion is given and what ``predict_proba``
        returns. A net restored with ``initialize()`` and ``load_params``
        reads it from one row at its first prediction.
{FITTED_ATTRIBUTES}
    See Also
    --------
    NNBinaryClassifier : Two classes, one logit, ``decision_function``.
    NNRegressor : Regression.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nnestimators import NNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NNClassifier(random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        class_weight=None,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs="auto",
        batch_size="auto",
        validation_fraction=None,
        metrics=None,
        monitor="valid_loss",
        patience=None,
        min_delta=0.0,
        restore_best_weights=True,
        checkpoint_dir=None,
        lr_schedule=None,
        gradient_clip=None,
        augment=None,
        device="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        partial_fit_epochs=1,
        callbacks=None,
        train_split=None,
        predict_nonlinearity="auto",
        compile=False,
        **kwargs,
    ):
        _store_params(self, locals())


class NNBinaryClassifier(_ClassifierMixin, NeuralNetBinaryClassifier):
    __doc__ = f"""A PyTorch network as a scikit-learn binary classifier.

    The module returns one logit per sample (``n_outputs=1``);
    ``predict_proba`` gives two columns aligned with ``classes_``,
    ``decision_function`` the logit, so it works with
    ``TunedThresholdClassifierCV`` and ``CalibratedClassifierCV``.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MLP
        The network; its arguments as ``module__name=value``. A class is
        built with the shapes inferred from the data; an instance is copied
        at each fit, which starts from its weights (a pretrained network is
        fine-tuned, the instance itself is never trained).
    criterion : type or torch.nn.Module, default=torch.nn.BCEWithLogitsLoss
        Loss on the logit, built as skorch builds it; weights apply to any
        loss with a ``reduction``. A module ending in ``sigmoid`` trains as
        in skorch (``BCELoss`` on its probabilities, with a one-line
        warning; ``criterion=torch.nn.BCELoss`` says so and is silent), and
        ``predict_proba`` returns its probabilities; see ``module_outputs_``.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    threshold : float, default=0.5
        ``predict`` gives ``classes_[1]`` where its probability exceeds this.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; the second is the positive class.
    module_outputs_ : {{"logits", "probabilities", "log_probabilities"}}
        What the module returns, read once from the first training batch's
        autograd graph (the last operation of ``forward``: softmax, sigmoid,
        log_softmax), or from the values where no graph names it. It
        decides what the criterion is given and what ``predict_proba``
        returns. A net restored with ``initialize()`` and ``load_params``
        reads it from one row at its first prediction.
{FITTED_ATTRIBUTES}
    See Also
    --------
    NNClassifier : Any number of classes.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nnestimators import NNBinaryClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NNBinaryClassifier(random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.95
    True
    """

    _binary = True
    _parameter_constraints = {
        **_ClassifierMixin._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.BCEWithLogitsLoss,
        class_weight=None,
        threshold=0.5,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs="auto",
        batch_size="auto",
        validation_fraction=None,
        metrics=None,
        monitor="valid_loss",
        patience=None,
        min_delta=0.0,
        restore_best_weights=True,
        checkpoint_dir=None,
        lr_schedule=None,
        gradient_clip=None,
        augment=None,
        device="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        partial_fit_epochs=1,
        callbacks=None,
        train_split=None,
        predict_nonlinearity="auto",
        compile=False,
        **kwargs,
    ):
        _store_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = False
        return tags

    def infer(self, x, **fit_params):
        """Run the module on one batch and return one logit per sample."""
        output = super().infer(x, **fit_params)
        logits, rest = (
            (output[0], output[1:]) if isinstance(output, tuple) else (output, None)
        )
        if logits.dim() > 2 or (logits.dim() == 2 and logits.shape[1] != 1):
            # skorch's words: its users' code may look for them.
            raise ValueError(
                "Expected module output to have shape (n,) or (n, 1), got "
                f"{tuple(logits.shape)} instead"
            )
        logits = logits.reshape(-1)
        return logits if rest is None else (logits, *rest)

    def _codes(self, proba):
        return (proba[:, 1] > self.threshold).astype(np.int64)

    def _frozen_outputs(self, raw):
        outputs = super()._frozen_outputs(raw)
        outputs["decision_function"] = self._logits(raw)
        return outputs

    def _logits(self, raw):
        raw = raw.double()
        proba = self._module_probabilities(raw)
        return (raw if proba is None else torch.logit(proba)).numpy()

    def decision_function(self, X):
        """Return the logit of the positive class, ``classes_[1]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        logits : ndarray of shape (n_samples,)
            The module's outputs, or the logit of them for a module that
            returns probabilities (ends in sigmoid).
        """
        return self._logits(self._raw_outputs(X))


_ONE_LOGIT_LOSSES = (torch.nn.BCEWithLogitsLoss, torch.nn.BCELoss)


def _takes_one_logit(criterion):
    kind = criterion if isinstance(criterion, type) else type(criterion)
    return isinstance(kind, type) and issubclass(kind, _ONE_LOGIT_LOSSES)


def _criterion_name(criterion):
    kind = criterion if isinstance(criterion, type) else type(criterion)
    return getattr(kind, "__name__", repr(criterion))
