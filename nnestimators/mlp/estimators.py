"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLP, trained by torch.

Change the import and nothing else: the constructor, the fitted attributes,
the warnings and the results are MLP's (same initial weights, same
early-stopping split, same updates; only the batch order is drawn by
torch). Three keyword-only parameters add what torch offers: ``device``,
``n_threads`` and ``checkpoint_dir``. The fit itself is ``fitting.py``.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import validate_data

from .fitting import BaseMLP
from .parameters import store_parameters
from .translate import STOCHASTIC_SOLVERS

_SHARED_PARAMETERS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        ``"sgd"`` and ``"adam"`` make MLP's exact updates; ``"lbfgs"`` runs
        scipy's L-BFGS-B on the full batch, as MLP does.
    alpha : float, default=0.0001
        Strength of the L2 penalty, in MLP's units: ``0.5 * alpha *
        sum(||W||^2)`` divided by each batch's rows (or weight sum).
    batch_size : int or "auto", default="auto"
        Rows per minibatch; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule of ``solver="sgd"``.
    learning_rate_init : float, default=0.001
        Initial learning rate (``"sgd"``, ``"adam"``).
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Epochs of one fit (``"sgd"``, ``"adam"``); iterations of ``"lbfgs"``.
    shuffle : bool, default=True
        Whether to shuffle the rows each epoch.
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, the early-stopping split and the seed of
        the batches' order.
    tol : float, default=1e-4
        Smallest improvement of the loss (or validation score) that counts.
    verbose : bool, default=False
        Print MLP's progress lines.
    warm_start : bool, default=False
        Continue from the fitted weights with a fresh solver.
    momentum : float, default=0.9
        Momentum of ``"sgd"``, in [0, 1].
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``"sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their
        score stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share held out with ``early_stopping``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical stability term.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping.
    max_fun : int, default=15000
        Loss evaluations of ``"lbfgs"``.
    device : str, torch.device or None, default="cpu"
        Where the network trains: ``"cpu"`` (MLP's behaviour), ``"cuda"``,
        or ``"auto"`` for the GPU when there is one.
    n_threads : int, "auto" or None, default="auto"
        Torch threads (the package's rule for ``"auto"``); None leaves
        torch's setting.
    checkpoint_dir : str, path-like or None, default=None
        Write each fit's best model so far into a folder of its own there;
        ``from_checkpoint`` loads it."""

_SHARED_ATTRIBUTES = """\
    loss_ : float
        The loss of the last epoch (``"lbfgs"``: at the solution).
    best_loss_ : float or None
        The smallest training loss; None with ``early_stopping``.
    loss_curve_ : list of float
        The loss of each epoch since the last first pass (stochastic solvers).
    validation_scores_ : list of float or None
        The validation score of each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        The best validation score with ``early_stopping``.
    t_ : int
        Training samples seen by the solver.
    coefs_ : list of ndarray of shape (n_units[i], n_units[i + 1])
        The weight matrices, views of ``net_``'s parameters on the CPU.
    intercepts_ : list of ndarray of shape (n_units[i + 1],)
        The bias vectors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.
    n_iter_ : int
        Epochs (or ``"lbfgs"`` iterations) of the last fit.
    n_layers_ : int
        Number of layers.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        The output activation.
    net_ : MLPBinaryNet, MLPClassNet or MLPRegressionNet
        The package estimator that trained the weights (``history_`` is its
        history)."""


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""scikit-learn's multi-layer perceptron classifier, trained by torch.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same
    parameters, defaults, fitted attributes and warnings. One logistic unit
    for binary targets, softmax for multiclass, a logistic unit per label
    for a multilabel indicator matrix.

    Parameters
    ----------
{_SHARED_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels.
{_SHARED_ATTRIBUTES}

    See Also
    --------
    MLPRegressor : The regressor.
    NNClassifier : The package's classifier for any torch module.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from nnestimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        device="cpu",
        n_threads="auto",
        checkpoint_dir=None,
    ):
        store_parameters(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @available_if(lambda mlp: mlp.solver in STOCHASTIC_SOLVERS)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over X and y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Every class of the problem; required on the first call, as ``y``
            may not show them all.

        Returns
        -------
        self : object
            The trained model.
        """
        if _first_partial_fit(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; two for a binary target
            (one logistic unit), even when fitted on a single class. In the
            dtype of X, as MLP's.
        """
        X = self._net_input(X)
        return self.net_.predict_proba(X).astype(X.dtype, copy=False)

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def predict(self, X):
        """Predict with the multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (an indicator matrix for multilabel).
        """
        return self._labels_from_proba(self.predict_proba(X))

    # -- what the fit asks of a classifier -----------------------------------------

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
            return X, y
        classes = unique_labels(y)
        if self.warm_start:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {classes}"
                )
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(
                "`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}."
            )
        return X, y

    def _task(self):
        kind = self._label_binarizer.y_type_
        if kind == "multiclass":
            return "multiclass"
        return "multilabel" if kind.startswith("multilabel") else "binary"

    def _n_outputs(self, y):
        task = self._task()
        if task == "multiclass":
            return len(self.classes_)
        return y.shape[1] if task == "multilabel" else 1

    def _out_activation(self):
        return "softmax" if self._task() == "multiclass" else "logistic"

    def _net_target(self, y):
        """Labels as ``net_`` learns them: class codes, 0/1, or the indicators."""
        task = self._task()
        if task == "multiclass":
            return np.searchsorted(self.classes_, y)
        if task == "multilabel":
            return y
        return self._label_binarizer.transform(y).ravel()

    def _stratify(self, y):
        # MLP stratifies with one output unit only, on the binarized labels.
        if self.n_outputs_ != 1:
            return None
        return self._label_binarizer.transform(y).astype(bool)

    def _validation_scorer(self, y_val, weights_val):
        def score(raw):
            return float(
                accuracy_score(
                    y_val, self._labels_from_logits(raw), sample_weight=weights_val
                )
            )

        return score

    def _labels_from_logits(self, raw):
        task = self._task()
        if task == "multiclass":
            return self.classes_[raw.argmax(dim=1).numpy()]
        positive = (raw > 0).numpy().astype(int)
        if task == "multilabel":
            return positive
        return self._label_binarizer.inverse_transform(positive.reshape(-1))

    def _labels_from_proba(self, proba):
        task = self._task()
        if task == "multiclass":
            return self.classes_[proba.argmax(axis=1)]
        if task == "multilabel":
            return (proba > 0.5).astype(int)
        return self._label_binarizer.inverse_transform(proba[:, 1])

    def _label_record(self):
        return {
            "classes": self.classes_,
            "kind": self._label_binarizer.y_type_,
        }

    def _restore_labels(self, labels):
        classes = np.asarray(labels["classes"])
        binarizer = LabelBinarizer()
        if labels["kind"].startswith("multilabel"):
            binarizer.fit(np.eye(len(classes), dtype=int))  # k >= 2 labels
        else:
            binarizer.fit(classes)
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""scikit-learn's multi-layer perceptron regressor, trained by torch.

    A drop-in for ``sklearn.neural_network.MLPRegressor``: the same
    parameters, defaults, fitted attributes and warnings.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default="squared_error"
        The loss; ``"poisson"`` gives an exponential output.
{_SHARED_PARAMETERS}

    Attributes
    ----------
{_SHARED_ATTRIBUTES}

    See Also
    --------
    MLPClassifier : The classifier.
    NNRegressor : The package's regressor for any torch module.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from nnestimators import MLPRegressor
    >>> X, y = make_regression(n_samples=200, random_state=1)
    >>> reg = MLPRegressor(max_iter=500, random_state=1).fit(X, y / 100)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        device="cpu",
        n_threads="auto",
        checkpoint_dir=None,
    ):
        store_parameters(self, locals())

    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over X and y.

        As in scikit-learn, it is there for every solver: with ``"lbfgs"``
        it runs the solver to the end from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The trained model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict with the multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, in the dtype of X.
        """
        X = self._net_input(X)
        return self.net_.predict(X).astype(X.dtype, copy=False)

    # -- what the fit asks of a regressor --------------------------------------------

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _task(self):
        return self.loss

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _net_target(self, y):
        return y

    def _validation_scorer(self, y_val, weights_val):
        def score(raw):
            values = raw.double().numpy()
            if self.loss == "poisson":
                values = np.exp(values)
            if y_val.ndim == 1:
                values = values.reshape(-1)
            return float(r2_score(y_val, values, sample_weight=weights_val))

        return score


def _first_partial_fit(mlp, classes):
    """Whether this is the first ``partial_fit`` (then ``classes`` is required);
    later calls may only repeat the same ``classes``."""
    known = getattr(mlp, "classes_", None)
    if known is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is None:
        return False
    if known is not None:
        if not np.array_equal(known, unique_labels(classes)):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to "
                f"partial_fit, was: {known!r}"
            )
        return False
    mlp.classes_ = unique_labels(classes)
    return True
