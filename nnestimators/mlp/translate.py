"""MLP's parameters as the settings of the drop-in's ``net_`` (``mapping.MAPPING``).

``net_params`` is the one translation: the drop-ins call it at each fit,
the tests compare it with ``MAPPING``. What MLP decides outside any
parameter (initialisation, the early-stopping split, the stopping rules)
the drop-in and ``MLPControl`` do themselves, so the net is told only to
train: no validation split, no metrics, no early stopping, no progress
lines, no divergence error (MLP trains through non-finite losses, then
raises its own error).
"""

import warnings

import numpy as np
import torch

from .control import MLPControl
from .losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    SummedBinaryLogLoss,
    poisson_mean,
)
from .nets import MLPBinaryNet, MLPClassNet, MLPRegressionNet
from .network import MLPNetwork
from .solvers import MLPSGD, MLPAdam, ScipyLBFGS

STOCHASTIC_SOLVERS = ("sgd", "adam")
# MLP's batch_size="auto".
AUTO_BATCH_ROWS = 200
# Default callbacks of the package's estimators that MLP's training has no
# use for (each costs time every epoch on small networks).
_UNUSED_CALLBACKS = (
    "valid_loss",
    "metrics",
    "lr_schedule",
    "gradient_clip",
    "divergence",
    "print_log",
)
# The net class and criterion for each kind of target.
_TASKS = {
    "binary": (MLPBinaryNet, torch.nn.BCEWithLogitsLoss),
    "multiclass": (MLPClassNet, torch.nn.CrossEntropyLoss),
    "multilabel": (MLPClassNet, SummedBinaryLogLoss),
    "squared_error": (MLPRegressionNet, HalfSquaredError),
    "poisson": (MLPRegressionNet, HalfPoissonDeviance),
}


def mlp_batch_rows(batch_size, n_samples):
    """MLP's batch size: ``"auto"`` is ``min(200, n)``; others are clipped to
    ``[1, n]``, with MLP's warning when they were larger."""
    if batch_size == "auto":
        return min(AUTO_BATCH_ROWS, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is "
            "going to be clipped",
            UserWarning,
            stacklevel=4,
        )
    return int(np.clip(batch_size, 1, n_samples))


def hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list, with MLP's check."""
    sizes = hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    if any(size <= 0 for size in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(size) for size in sizes]


def net_class(task):
    """The class of ``net_`` for a task (see ``_TASKS``)."""
    return _TASKS[task][0]


def net_params(mlp, *, task, n_features, n_outputs, n_train, dtype, seed):
    """The parameters of the drop-in ``mlp``'s ``net_`` for one fit.

    Parameters
    ----------
    mlp : MLPClassifier or MLPRegressor
        The drop-in, read for its parameters.
    task : {"binary", "multiclass", "multilabel", "squared_error", "poisson"}
        What the output layer predicts.
    n_features, n_outputs : int
        The network's input and output widths.
    n_train : int
        Training rows (``batch_size="auto"`` depends on them).
    dtype : {"float32", "float64"}
        The dtype of X, in which MLP trains.
    seed : int
        Seed of the batches' order.

    Returns
    -------
    params : dict
    """
    params = {
        "module": MLPNetwork,
        "module__n_features": n_features,
        "module__n_outputs": n_outputs,
        "module__hidden_layer_sizes": tuple(hidden_sizes(mlp.hidden_layer_sizes)),
        "module__activation": mlp.activation,
        "module__dtype": dtype,
        "criterion": _TASKS[task][1],
        "alpha": float(mlp.alpha),
        "lr": float(mlp.learning_rate_init),
        "validation_fraction": 0.0,
        "metrics": [],
        "monitor": "validation_score" if _scores_validation(mlp) else "train_loss",
        "patience": None,
        "restore_best_weights": False,
        "checkpoint_dir": mlp.checkpoint_dir,
        "device": mlp.device,
        "n_threads": mlp.n_threads,
        "random_state": seed,
        "verbose": 0,
        "warm_start": True,  # the drop-in decides when to start afresh
        "partial_fit_epochs": 1,  # MLP's partial_fit: one pass
    }
    params.update({f"callbacks__{name}": None for name in _UNUSED_CALLBACKS})
    if mlp.checkpoint_dir is None:
        params["callbacks__best_model"] = None
    if task == "binary":
        params["classes"] = np.arange(2)  # one logistic unit, even for one class
    elif task == "multiclass":
        params["classes"] = np.arange(n_outputs)
    if task == "poisson":
        params["predict_nonlinearity"] = poisson_mean
    if task in ("squared_error", "poisson"):
        params["standardize_target"] = False
    params.update(_solver_params(mlp, n_train))
    return params


def _scores_validation(mlp):
    return bool(mlp.early_stopping) and mlp.solver in STOCHASTIC_SOLVERS


def _solver_params(mlp, n_train):
    if mlp.solver == "lbfgs":
        return {
            "optimizer": ScipyLBFGS,
            "optimizer__max_iter": mlp.max_iter,
            "optimizer__max_fun": mlp.max_fun,
            "optimizer__tol": mlp.tol,
            "max_epochs": 1,
            "batch_size": -1,
            "iterator_train__shuffle": False,
        }
    params = {
        "max_epochs": mlp.max_iter,
        "batch_size": mlp_batch_rows(mlp.batch_size, n_train),
        "iterator_train__shuffle": bool(mlp.shuffle),
        "callbacks": [("mlp_control", control(mlp))],
    }
    if mlp.solver == "sgd":
        params.update(
            optimizer=MLPSGD,
            optimizer__momentum=mlp.momentum,
            optimizer__nesterov=bool(mlp.nesterovs_momentum),
        )
    else:
        params.update(
            optimizer=MLPAdam,
            optimizer__betas=(mlp.beta_1, mlp.beta_2),
            optimizer__eps=mlp.epsilon,
        )
    return params


def control(mlp):
    """The ``MLPControl`` for the drop-in's stochastic solver."""
    return MLPControl(
        tol=mlp.tol,
        n_iter_no_change=mlp.n_iter_no_change,
        max_iter=mlp.max_iter,
        schedule=mlp.learning_rate if mlp.solver == "sgd" else "constant",
        learning_rate_init=float(mlp.learning_rate_init),
        power_t=mlp.power_t,
        verbose=bool(mlp.verbose),
    )
