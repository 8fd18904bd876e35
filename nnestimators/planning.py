"""What one call of ``fit`` or ``partial_fit`` decides before it trains.

The seed, the validation share, the batch sizes and the number of epochs
are decided once, from the parameters and the size of the data, into the
call's ``FitSession``.
"""

import numpy as np

from .optimizers import trains_at_sgd_rate
from .prediction import OutputReading
from .preparation import validation_fraction
from .runtime import draw_seed
from .session import FitSession
from .training.loop import planned_epochs, resolved_batch_size


def plan_fit(net, kind, dataset, given, epochs, reset, split_y):
    """The ``FitSession`` of one call.

    Parameters
    ----------
    net : NNEstimator
    kind : {"fit", "partial_fit"}
    dataset : Dataset or PendingDataset
        The training data (its rows, before any split).
    given : PendingDataset or None
        ``validation_data``, encoded.
    epochs : int or None
        Epochs asked for (``fit(..., epochs=n)``, ``partial_fit``), or None
        for ``max_epochs``.
    reset : bool
        Whether the call starts a new fit (else it continues the history).
    split_y : ndarray or None
        The ``y`` given beside a torch ``Dataset``, for a ``train_split``.
    """
    done = 0 if reset else len(net.__dict__.get("history_") or ())
    n_rows = len(dataset)
    fraction = 0.0 if given is not None else validation_fraction(net, n_rows)
    n_train = max(1, n_rows - int(np.ceil(fraction * n_rows)))
    batch_size = resolved_batch_size(
        net.batch_size, n_train, training=True, sgd_rate=trains_at_sgd_rate(net)
    )
    if batch_size == -1:
        batch_size = n_train
    # A schedule spans max_epochs, whatever one partial_fit call trains;
    # fit(X, y, epochs=n) trains and schedules n.
    schedule_epochs = planned_epochs(net.max_epochs, n_train, batch_size)
    if kind == "fit" and epochs is not None:
        schedule_epochs = epochs
    epochs = schedule_epochs if epochs is None else epochs
    valid_batch_size = resolved_batch_size(net.batch_size, n_train, training=False)
    return FitSession(
        kind=kind,
        device=net.device_,
        seed=_derive_seed(draw_seed(net.random_state), done),
        train_batch_size=batch_size,
        valid_batch_size=valid_batch_size,
        epochs=epochs,
        final_epoch=done + epochs,
        schedule_epochs=schedule_epochs,
        validation=given,
        validation_fraction=fraction,
        split_y=split_y,
        # partial_fit never restores: the next call continues from here.
        restore_best=kind == "fit",
        iterator_batch_sizes={
            # -1 stays -1: the iterator takes the length of the training
            # split, which a train_split decides later (skorch's reading).
            "iterator_train": -1 if net.batch_size == -1 else batch_size,
            "iterator_valid": valid_batch_size,
        },
        reading=OutputReading(net),
    )


def _derive_seed(seed, epochs_done):
    # Continued training (partial_fit, warm_start) gets fresh but reproducible
    # batches and dropout masks.
    if epochs_done == 0:
        return seed
    return int(np.random.SeedSequence([seed, epochs_done]).generate_state(1)[0])
