"""Classifiers: any labels in, the same labels out."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier
from skorch.dataset import Dataset
from skorch.utils import data_from_dataset

from . import validation
from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimatorMixin, _store_params
from .modules import MLP


class _ClassifierMixin(NNEstimatorMixin):
    """Label encoding and decoding shared by both classifiers."""

    _parameter_constraints = {
        **NNEstimatorMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _regression = False
    _binary = False

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
            known = None if classes is None else np.unique(classes)
            self.classes_, codes = validation.encode_labels(
                self, y, classes=known, binary=self._binary
            )
        else:
            _, codes = validation.encode_labels(self, y, classes=self.classes_)
        return codes.astype(np.float32) if self._binary else codes

    def _record_shapes(self, X, targets):
        self.n_outputs_ = 1 if self._binary else len(self.classes_)

    def _record_dataset_targets(self, dataset, first_y):
        if isinstance(dataset, Dataset):
            _, labels = data_from_dataset(dataset)
        else:
            labels = [dataset[i][1] for i in range(len(dataset))]
        self.classes_ = np.unique(np.asarray(torch.as_tensor(np.asarray(labels))))
        self.n_outputs_ = 1 if self._binary else len(self.classes_)

    def _default_metrics(self):
        return ["accuracy"]

    def _metric_targets(self, targets):
        return targets.astype(np.int64)

    def _metric_classes(self):
        return np.arange(len(self.classes_))

    def _proba(self, raw):
        # In float64, so that rows sum to one as scikit-learn's metrics expect.
        proba = self._get_predict_nonlinearity()(raw.double())
        return np.asarray(proba, dtype=np.float64)

    def _codes(self, proba):
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
        y : ndarray of shape (n_samples,)
        """
        codes = self._codes(self.predict_proba(X))
        return self.classes_[codes]


class NNClassifier(_ClassifierMixin, NeuralNetClassifier):
    __doc__ = f"""A PyTorch network as a scikit-learn multi-class classifier.

    Takes any labels scikit-learn accepts (strings, integers, booleans) and
    returns them from ``predict``; the module receives ``n_features``,
    ``input_shape`` and ``n_outputs`` (the number of classes) when its
    constructor asks for them, and returns logits.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MLP
        The network; its arguments as ``module__name=value``.
    criterion : type, default=torch.nn.CrossEntropyLoss
        Loss on the logits, built with ``reduction="none"`` so that sample
        weights apply.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
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
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
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
        The network; its arguments as ``module__name=value``.
    criterion : type, default=torch.nn.BCEWithLogitsLoss
        Loss on the logit, built with ``reduction="none"`` so that sample
        weights apply.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    threshold : float, default=0.5
        ``predict`` gives ``classes_[1]`` where its probability exceeds this.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; the second is the positive class.
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
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
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
        return tags

    def infer(self, x, **fit_params):
        """Run the module on one batch and return one logit per sample."""
        output = super().infer(x, **fit_params)
        logits, rest = (
            (output[0], output[1:]) if isinstance(output, tuple) else (output, None)
        )
        if logits.dim() > 2 or (logits.dim() == 2 and logits.shape[1] != 1):
            raise ValueError(
                "NNBinaryClassifier's module must return one logit per sample, "
                f"shape (n,) or (n, 1); got {tuple(logits.shape)}."
            )
        logits = logits.reshape(-1)
        return logits if rest is None else (logits, *rest)

    def _codes(self, proba):
        return (proba[:, 1] > self.threshold).astype(np.int64)

    def _frozen_outputs(self, raw):
        outputs = super()._frozen_outputs(raw)
        outputs["decision_function"] = raw.numpy().astype(np.float64)
        return outputs

    def decision_function(self, X):
        """Return the logit of the positive class, ``classes_[1]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        logits : ndarray of shape (n_samples,)
        """
        return self._raw_outputs(X).numpy().astype(np.float64)
