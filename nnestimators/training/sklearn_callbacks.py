"""scikit-learn's experimental callback API (``sklearn.callback``), epoch by epoch.

``estimator.set_callbacks(ProgressBar(), ScoringMonitor(...))`` works on the
estimators, and callbacks that ``GridSearchCV`` or ``cross_validate``
propagate reach each fit. A fit is one task whose subtasks are its epochs;
a callback asking to stop ends training as early stopping does. On
scikit-learn versions without ``sklearn.callback`` nothing here is used.
"""

import contextlib

from skorch.callbacks import Callback

from ..session import current_session, stop_after_this_epoch

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - older scikit-learn

    class CallbackSupportMixin:  # noqa: D101 - an empty stand-in
        pass

    callback_management_context = None

SKLEARN_CALLBACKS = callback_management_context is not None


def has_sklearn_callbacks(estimator):
    """Whether scikit-learn callbacks were set or propagated to ``estimator``."""
    return callback_management_context is not None and bool(
        estimator.__dict__.get("_skl_callbacks")
    )


@contextlib.contextmanager
def fit_task(estimator, X, y, epochs):
    """The fit as scikit-learn's root callback task, torn down however it ends.

    The fit's session keeps ``(X, y)`` for the epochs' subtasks.
    """
    if not has_sklearn_callbacks(estimator):
        yield
        return
    current_session(estimator).fit_data = (X, y)
    with callback_management_context(estimator):
        context = estimator._init_callback_context(max_subtasks=epochs)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        yield
        context.call_on_fit_task_end(
            estimator=estimator, X=X, y=y, reconstruction_attributes=lambda: {}
        )


class EpochTasks(Callback):
    """Each epoch as a subtask of the fit's scikit-learn callback context.

    The training data of the fit is handed to scikit-learn callbacks
    (``ScoringMonitor`` scores the estimator on it after each epoch).
    """

    def on_epoch_begin(self, net, **kwargs):
        context = net.__dict__.get("_callback_fit_ctx")
        self.context_ = (
            None if context is None else context.subcontext(task_name="epoch")
        )
        if self.context_ is not None:
            X, y = current_session(net).fit_data
            self.context_.call_on_fit_task_begin(estimator=net, X=X, y=y)

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "context_", None) is None:
            return
        X, y = current_session(net).fit_data
        stop = self.context_.call_on_fit_task_end(
            estimator=net, X=X, y=y, reconstruction_attributes=lambda: {}
        )
        if stop:
            stop_after_this_epoch(net)
