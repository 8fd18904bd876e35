"""Classifiers: any labels in, the same labels out.

The label work (encoding, the classes, decoding outputs) is the fitted
``target_`` (``targets.py``): a ``LabelTarget``, a ``BinaryTarget`` for one
logit per sample or a ``MultilabelTarget``. These classes hold the
signature, the documentation, the tags and the public prediction methods.
"""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier

from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimator
from .modules import MLP
from .optimizers import AdamOrSGD
from .parameters import store_params as _store_params
from .targets import BinaryTarget, LabelTarget, classification_target


class _Classifier(NNEstimator):
    """The prediction methods both classifiers share."""

    _parameter_constraints = {
        **NNEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _target_class = LabelTarget

    @property
    def classes_(self):
        """The class labels, in the order of ``predict_proba``'s columns."""
        target = self.__dict__.get("target_")
        if target is None:
            raise AttributeError(
                f"{type(self).__name__} has no attribute 'classes_' before fit."
            )
        return target.classes_

    def _new_target(self, y):
        return classification_target(
            type(self).__name__,
            y,
            declared=self.classes,
            binary=False,
            criterion=self.criterion,
        )

    def _unfitted_target(self):
        target = self._new_target(None)
        return target if self.classes is None else target.fit_classes(self.classes)

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
        return self._target().probabilities(self._raw_outputs(X), self._reading())

    def predict(self, X):
        """Return the predicted class labels, in the original label type.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels, or an indicator matrix for multilabel targets; class
            codes while no classes are known (skorch's convention).
        """
        target, reading = self._target(), self._reading()
        proba = target.probabilities(self._raw_outputs(X), reading)
        return target.labels(target.codes(proba, reading))

    def predict_log_proba(self, X):
        """Return the log of ``predict_proba(X)``, columns ordered as ``classes_``.

        As ``MLPClassifier.predict_log_proba``: ``np.log`` of the
        probabilities, without clipping, so a probability that is exactly 0
        gives ``-inf`` (``np.log(predict_proba(X))`` holds exactly).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)


class NNClassifier(_Classifier, NeuralNetClassifier):
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
        optimizer=AdamOrSGD,
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
        partial_fit_epochs="auto",
        callbacks=None,
        train_split=None,
        predict_nonlinearity="auto",
        compile=False,
        **kwargs,
    ):
        _store_params(self, locals())


class NNBinaryClassifier(_Classifier, NeuralNetBinaryClassifier):
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

    _parameter_constraints = {
        **_Classifier._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="both")],
    }
    _target_class = BinaryTarget

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.BCEWithLogitsLoss,
        class_weight=None,
        threshold=0.5,
        optimizer=AdamOrSGD,
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
        partial_fit_epochs="auto",
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

    def _new_target(self, y):
        return BinaryTarget(type(self).__name__, self.classes)

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
        return self._target().logits(self._raw_outputs(X), self._reading())
