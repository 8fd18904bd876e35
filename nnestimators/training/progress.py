"""Keras-style progress lines: one per epoch, and a batch bar with ``verbose=2``."""

from tqdm.auto import tqdm

from .skorch_callbacks import is_alias

# History keys and the short names Keras users know them by.
_SHORT = {"train_loss": "loss", "valid_loss": "val_loss"}


def epoch_line(row, max_epochs, improved_key=None):
    """Format one history row, e.g. ``Epoch 3/20 - loss: 0.4100 - val_loss: ...``."""
    parts = [f"Epoch {row['epoch']}/{max_epochs}"]
    for key, value in row.items():
        if key in ("epoch", "dur", "batches", "lr") or key.endswith(
            ("_best", "_count")
        ):
            continue
        if not isinstance(value, int | float) or is_alias(key, row):
            continue
        name = _SHORT.get(key, _keras_name(key))
        mark = " *" if key == improved_key else ""
        parts.append(f"{name}: {value:.4f}{mark}")
    if "lr" in row:
        parts.append(f"lr: {row['lr']:.3g}")
    parts.append(f"{row.get('dur', 0.0):.1f}s")
    return " - ".join(parts)


def _keras_name(key):
    # Keras prints training metrics bare and validation ones with "val_".
    if key.startswith("train_"):
        return key[len("train_") :]
    if key.startswith("valid_"):
        return "val_" + key[len("valid_") :]
    return key


def batch_bar(n_batches, epoch, max_epochs):
    """A progress bar over the batches of one epoch (``verbose=2``)."""
    return tqdm(total=n_batches, desc=f"Epoch {epoch}/{max_epochs}", leave=False)
