"""What one call of ``fit`` or ``partial_fit`` holds while it runs.

Everything a fit decides once — the device, the seed, the batch sizes, the
number of epochs, where validation data comes from, whether the best
weights are restored — and what changes batch by batch lives in one
``FitSession``, the estimator's ``fit_session_`` while the call runs and
gone on every way out of it, so that ``clone``, pickling and scikit-learn's
checks never see it. Callbacks read it by that public name.
"""

import contextlib
from dataclasses import dataclass, field

import torch

from .data import indexed_device


@dataclass
class BatchState:
    """What the current batch carries besides ``(X, y)``, for the loss and metrics.

    ``targets`` are the encoded targets (class codes, indicator rows or
    standardised values), ``weights`` the loss weights (``sample_weight``
    times class weights, or None), ``metric_weights`` the user's
    ``sample_weight`` of these rows (or None); ``encoded`` says the targets
    were encoded by the estimator (class codes are then never negative).
    """

    targets: object
    weights: object = None
    metric_weights: object = None
    encoded: bool = False


@dataclass
class FitSession:
    """One call of ``fit`` (``kind="fit"``) or ``partial_fit``.

    Attributes
    ----------
    kind : {"fit", "partial_fit"}
    device : str
        Where the module trains (``device_``).
    seed : int
        Seed of this call's weight initialisation, dropout and shuffling.
    train_batch_size : int
        Rows per optimiser step.
    valid_batch_size : int
        Rows per validation forward pass.
    epochs : int
        Epochs this call trains.
    final_epoch : int
        The history's length when the call has trained them all.
    schedule_epochs : int
        Epochs a learning-rate schedule spans (``max_epochs``).
    validation : Dataset or None
        Validation data given to the call (``validation_data``); None lets
        ``validation_fraction`` or ``train_split`` decide.
    validation_fraction : float
        The share of the rows held out (``preparation.validation_fraction``,
        decided once per call).
    split_y : ndarray or None
        The ``y`` given beside a torch ``Dataset``, for a ``train_split``.
    restore_best : bool
        Whether the best epoch's weights are put back at the end (``fit``
        does; ``partial_fit`` continues where it stopped).
    generator : torch.Generator
        Draws the batches' order.
    iterator_batch_sizes : dict
        The batch sizes ``get_params_for("iterator_train"/"iterator_valid")``
        report during the call (the numbers ``"auto"`` stands for).
    batch : BatchState or None
        The batch being processed.
    stop_requested : bool
        Set by ``stop_after_this_epoch``: training ends once every callback
        saw the epoch.
    reading : targets.OutputReading
        How the module's raw outputs are read as scores, for the metrics.
    """

    kind: str
    device: str
    seed: int
    train_batch_size: int
    valid_batch_size: int
    epochs: int
    final_epoch: int
    schedule_epochs: int
    validation: object = None
    validation_fraction: float = 0.0
    split_y: object = None
    restore_best: bool = True
    generator: torch.Generator = None
    iterator_batch_sizes: dict = field(default_factory=dict)
    batch: BatchState = None
    stop_requested: bool = False
    # Derived once per call: the indexed device, what get_loss gives the
    # criterion, which callbacks act on each event, the fit's (X, y).
    torch_device: torch.device = None
    loss_input: object = None
    loss_input_known: bool = False
    reduces_own_losses: bool = False
    reading: object = None
    hook_index: object = None
    fit_data: tuple = (None, None)

    def __post_init__(self):
        self.torch_device = indexed_device(self.device)
        if self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)


def stop_after_this_epoch(net):
    """End training once every callback has seen this epoch (Keras's ``stop_training``).

    Raising ``KeyboardInterrupt`` in ``on_epoch_end`` instead would hide the
    epoch from the callbacks after this one: the progress line, loggers.
    Outside a fit this does nothing.
    """
    session = getattr(net, "fit_session_", None)
    if session is not None:
        session.stop_requested = True


@contextlib.contextmanager
def fit_session(estimator, session):
    """Attach ``session`` as ``estimator.fit_session_`` for the block, then remove it."""
    estimator.__dict__["fit_session_"] = session
    try:
        yield session
    finally:
        estimator.__dict__.pop("fit_session_", None)


def current_session(estimator):
    """The running fit's session, or None."""
    return estimator.__dict__.get("fit_session_")
