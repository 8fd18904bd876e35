"""Which callbacks act on each event, in which order, and Ctrl-C told apart.

``notify`` is called several times per batch; asking every callback each
time whether it does anything costs more than a small network's step. A
``HookIndex`` lists, once per state of ``callbacks_``, the callbacks that
act on each event, in the order they are called.
"""

import contextlib
import operator
import signal
import threading

from skorch.callbacks import Callback, PrintLog

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_grad_computed",
)
# Default callbacks that read what the user's callbacks record each epoch.
AFTER_USER_CALLBACKS = ("lr_schedule", "best_model")
# Events called in callbacks_ order: the best weights are back before the
# user's on_train_end (a TrainEndCheckpoint saves them, a Checkpoint with
# load_best loads its own over them). on_train_begin stays deferred: the
# best epoch is read from a history a LoadInitState may have just loaded.
IN_LIST_ORDER = ("on_train_end",)


class HookIndex:
    """The callbacks that act on each event, for one state of ``callbacks_``.

    ``describes`` checks per call that ``callbacks_`` still holds the same
    entries (the same ``(name, callback)`` tuples, by identity, in the same
    order): a comparison in C. Entries that are not tuples can change in
    place, so for those the callbacks themselves are compared.
    """

    __slots__ = ("entries", "mutable", "hooks")

    def __init__(self, callbacks_):
        entries = list(callbacks_)
        listed = [cb for _, cb in entries]
        self.entries = entries
        # The callbacks to compare when an entry is not a tuple; else None.
        self.mutable = (
            None if all(type(entry) is tuple for entry in entries) else listed
        )
        order = [cb for _, cb in execution_order(entries)]
        self.hooks = {
            hook: [
                cb
                for cb in (listed if hook in IN_LIST_ORDER else order)
                if acts_on(cb, hook)
            ]
            for hook in HOOKS
        }

    def describes(self, callbacks_):
        entries = self.entries
        if len(callbacks_) != len(entries):
            return False
        if self.mutable is None:
            return all(map(operator.is_, entries, callbacks_))
        return all(map(operator.is_, self.mutable, (cb for _, cb in callbacks_)))


def execution_order(entries):
    """``callbacks_`` in the order they are called each epoch and batch:
    ``lr_schedule`` and ``best_model`` after the user's callbacks, whose
    scores they may watch, and before the PrintLogs that skorch keeps last
    (to show the marks)."""
    deferred = [entry for entry in entries if entry[0] in AFTER_USER_CALLBACKS]
    rest = [entry for entry in entries if entry[0] not in AFTER_USER_CALLBACKS]
    tail = len(rest)
    while tail and isinstance(rest[tail - 1][1], PrintLog):
        tail -= 1
    return rest[:tail] + deferred + rest[tail:]


def acts_on(callback, hook):
    """Whether ``callback`` does anything on ``hook``.

    A callback that is not a skorch ``Callback`` (a Mock, an object with the
    hooks) is always called; one that overrides nothing of skorch's no-op
    never is; one with an ``acts_on(hook)`` method says itself.
    """
    if not isinstance(callback, Callback):
        return True
    if hook in getattr(callback, "__dict__", ()):  # set on the instance
        return True
    base = getattr(Callback, hook, None)
    if base is not None and getattr(type(callback), hook, None) is base:
        return False
    declared = getattr(callback, "acts_on", None)
    if callable(declared):
        return declared(hook)
    return True


class UserInterrupt:
    """Tells a Ctrl-C (SIGINT) apart from a callback's ``KeyboardInterrupt``."""

    def __init__(self):
        self.by_user = False

    @contextlib.contextmanager
    def watch(self):
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT)
        if not main or not callable(previous):  # ignored, or the OS default
            yield
            return

        def handler(signum, frame):
            # Python's handler raises KeyboardInterrupt; a library's may
            # wrap it, or only take note (then nothing was interrupted).
            self.by_user = True
            previous(signum, frame)
            self.by_user = False

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
