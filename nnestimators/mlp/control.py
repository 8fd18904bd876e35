"""MLP's epoch bookkeeping: its solver state and the callback that keeps it.

``MLPState`` is what MLP's solver keeps from one first pass to the next
(``warm_start`` fits and ``partial_fit`` calls add to it). ``MLPControl``,
a skorch callback, updates it at each epoch's end with MLP's rules: the
no-improvement count on the training loss or on the validation score, the
``invscaling`` and ``adaptive`` learning rates, the stop, the best weights
restored after early stopping, MLP's verbose lines and its
``ConvergenceWarning``.
"""

import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from ..session import stop_after_this_epoch

# The bookkeeping MLPState holds, in the order MLP documents it.
STATE_FIELDS = (
    "t_",
    "n_iter_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "no_improvement_count",
)
# Below this learning rate, the adaptive schedule stops instead of dividing.
_SMALLEST_ADAPTIVE_RATE = 1e-6


class MLPState:
    """MLP's solver state that outlives one fit.

    Parameters
    ----------
    early_stopping : bool
        Whether the fits score a validation split (then ``best_loss_`` is
        None and the validation scores are kept).
    """

    def __init__(self, early_stopping):
        self.t_ = 0
        self.n_iter_ = 0
        self.loss_ = None
        self.loss_curve_ = []
        self.no_improvement_count = 0
        if early_stopping:
            self.best_loss_ = None
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self.best_weights = None  # the module's state at the best validation score

    def to_plain(self):
        """The bookkeeping as plain data (for checkpoints)."""
        return {name: getattr(self, name) for name in STATE_FIELDS}

    @classmethod
    def from_plain(cls, data):
        """The state ``to_plain`` gave."""
        state = cls(early_stopping=data["validation_scores_"] is not None)
        for name in STATE_FIELDS:
            setattr(state, name, data[name])
        state.loss_curve_ = list(state.loss_curve_)
        if state.validation_scores_ is not None:
            state.validation_scores_ = list(state.validation_scores_)
        return state


class MLPControl(Callback):
    """MLP's rules at each epoch's end, as a skorch callback.

    The settings are MLP's parameters. What one fit needs besides them is
    set by the drop-in before training (``start``) and dropped when it ends.

    Parameters
    ----------
    tol : float
        Smallest improvement that counts.
    n_iter_no_change : int or float
        Epochs without improvement before stopping (or, with the adaptive
        schedule, before dividing the learning rate by 5).
    max_iter : int
        Epochs of one fit; reaching it warns with ``ConvergenceWarning``.
    schedule : {"constant", "invscaling", "adaptive"}
        The learning-rate schedule (MLP's ``learning_rate`` with ``"sgd"``).
    learning_rate_init : float
        The initial learning rate.
    power_t : float
        Exponent of the ``invscaling`` schedule.
    verbose : bool
        Print MLP's progress lines.
    """

    def __init__(
        self,
        tol=1e-4,
        n_iter_no_change=10,
        max_iter=200,
        schedule="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        verbose=False,
    ):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_iter = max_iter
        self.schedule = schedule
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.verbose = verbose

    def acts_on(self, hook):
        """Epochs and fits only: nothing per batch."""
        return hook in ("on_train_begin", "on_epoch_end", "on_train_end")

    def start(self, state, n_train, incremental, validation=None, score=None):
        """What the next fit needs.

        Parameters
        ----------
        state : MLPState
            The solver state the fit updates.
        n_train : int
            Training rows (``t_`` counts samples).
        incremental : bool
            Whether this is ``partial_fit`` (one epoch, never a warning).
        validation : tensor or None
            The early-stopping split's X, in the module's dtype.
        score : callable or None
            Turns the module's outputs on ``validation`` into MLP's score.
        """
        self.state_ = state
        self.n_train_ = n_train
        self.incremental_ = incremental
        self.validation_ = validation
        self.score_ = score

    def on_train_begin(self, net, **kwargs):
        self.state_.n_iter_ = 0
        if self.validation_ is not None and self.state_.best_weights is None:
            self.state_.best_weights = _copy_weights(net.module_)

    def on_epoch_end(self, net, **kwargs):
        state = self.state_
        loss = np.float64(_epoch_loss(net.history[-1]))  # MLP's type
        state.n_iter_ += 1
        state.loss_ = loss
        state.t_ += self.n_train_
        state.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {state.n_iter_}, loss = {loss:.8f}")
        if self.validation_ is not None:
            self._count_on_validation(net)
        else:
            self._count_on_loss(loss)
        rates = net.optimizer_.param_groups
        if self.schedule == "invscaling":
            for group in rates:
                group["lr"] = self.learning_rate_init / (state.t_ + 1) ** self.power_t
        if state.no_improvement_count > self.n_iter_no_change:
            if self._lowers_rate(rates):
                return
            stop_after_this_epoch(net)
            return
        if not self.incremental_ and state.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )

    def on_train_end(self, net, **kwargs):
        best = self.state_.best_weights
        if self.validation_ is not None and best is not None:
            net.module_.load_state_dict(best)
        # Per-fit objects go (a drop-in must pickle after fit).
        self.validation_ = self.score_ = None

    def _count_on_validation(self, net):
        state = self.state_
        score = self._validation_score(net)
        state.validation_scores_.append(score)
        net.history.record("validation_score", score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < state.best_validation_score_ + self.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if score > state.best_validation_score_:
            state.best_validation_score_ = score
            state.best_weights = _copy_weights(net.module_)

    def _count_on_loss(self, loss):
        state = self.state_
        if loss > state.best_loss_ - self.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if loss < state.best_loss_:
            state.best_loss_ = loss

    def _validation_score(self, net):
        module = net.module_
        with torch.no_grad():
            raw = module(self.validation_)
        if not bool(torch.isfinite(raw).all()):
            return math.nan  # MLP trains on; its end-of-fit check decides
        return self.score_(raw.cpu())

    def _lowers_rate(self, rates):
        """MLP's stop: the adaptive schedule divides the rate by 5 instead
        (and resets the count) while the rate is above 1e-6."""
        what = "Validation score" if self.validation_ is not None else "Training loss"
        message = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change:d} consecutive epochs."
        )
        if self.schedule == "adaptive":
            if rates[0]["lr"] > _SMALLEST_ADAPTIVE_RATE:
                for group in rates:
                    group["lr"] /= 5.0
                self.state_.no_improvement_count = 0
                if self.verbose:
                    print(f"{message} Setting learning rate to {rates[0]['lr']:f}")
                return True
            message += " Learning rate too small."
        if self.verbose:
            print(message + " Stopping.")
        return False


def _epoch_loss(row):
    """MLP's epoch loss: the batches' losses weighted by their rows, even with
    sample weights (the package's ``train_loss`` weights them by weight sums)."""
    batches = row["batches"]
    sizes = [batch["train_batch_size"] for batch in batches]
    losses = [batch["train_loss"] for batch in batches]
    return float(np.dot(losses, sizes) / sum(sizes))


def _copy_weights(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
