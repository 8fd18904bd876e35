"""Batches for training and prediction.

In-memory data (arrays, DataFrames, tensors) becomes tensors once, and each
batch is one indexing operation with a slice of the epoch's permutation: no
per-row ``Dataset.__getitem__`` and no collate. Any other torch ``Dataset``
goes through a ``DataLoader`` fed with the same permutation, so both paths
see the same batches for the same seed.
"""

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

# Prediction processes at most this many input values per forward call, which
# bounds memory for large inputs whatever their per-sample size.
PREDICT_CHUNK_VALUES = 2**24
PREDICT_MAX_ROWS = 65536


def as_tensor(array, device):
    """Wrap an array as a tensor on ``device``, sharing memory where possible."""
    if isinstance(array, torch.Tensor):
        return array.to(device)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps) are only ever read here, so sharing is safe.
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        tensor = torch.from_numpy(np.asarray(array))
    return tensor.to(device)


class TensorBatches:
    """Training data held as tensors: X, encoded y and per-sample weights.

    Parameters
    ----------
    X, y : array-like or tensor
        Validated arrays of equal length.
    weights : array-like, tensor or None
        Per-sample loss weights; None when every sample weighs the same.
    device : str
        Where the tensors live. They stay on the CPU and batches are moved
        one by one when the data would take more than half the free memory
        of the device.
    rows : array-like of int, default=None
        The rows that make up this set (a training split), picked by index
        so that X itself is never copied.
    """

    def __init__(self, X, y, weights, device, rows=None):
        self.device = torch.device(device)
        storage = self.device if _fits_on(self.device, X, y, weights) else "cpu"
        self.X = as_tensor(X, storage)
        self.y = as_tensor(y, storage)
        self.weights = None if weights is None else as_tensor(weights, storage)
        self.rows = None if rows is None else torch.as_tensor(rows, device=storage)

    def __len__(self):
        return len(self.X) if self.rows is None else len(self.rows)

    def batches(self, batch_size, order=None):
        """Yield (X, y, weights) batches, in ``order`` (positions 0..len-1) if given."""
        n = len(self)
        if order is not None:
            order = order.to(self.X.device)
        if self.rows is not None:
            order = self.rows if order is None else self.rows[order]
        # Resident data needs no copy per batch; the rest moves batch by batch.
        move = (lambda t: t) if self.X.device == self.device else self._to_device
        X, y, weights = self.X, self.y, self.weights
        for start in range(0, n, batch_size):
            if order is None:
                rows = slice(start, start + batch_size)
            else:
                rows = order[start : start + batch_size]
            yield (
                move(X[rows]),
                move(y[rows]),
                None if weights is None else move(weights[rows]),
            )

    def as_dataset(self):
        """The same rows as a skorch ``Dataset``, for skorch's own callbacks."""
        X, y = (
            (self.X, self.y)
            if self.rows is None
            else (self.X[self.rows], self.y[self.rows])
        )
        return Dataset(X.cpu(), y.cpu())

    def _to_device(self, tensor):
        return tensor.to(self.device, non_blocking=True)


class DatasetBatches:
    """Any torch ``Dataset`` (skorch's general path), batched by a ``DataLoader``.

    The dataset yields ``(X, y)`` pairs; every sample weighs the same.
    """

    def __init__(self, dataset, device, loader_kwargs=None):
        self.dataset = dataset
        self.device = torch.device(device)
        self.loader_kwargs = dict(loader_kwargs or {})

    def __len__(self):
        return len(self.dataset)

    def as_dataset(self):
        """The dataset itself, for skorch's own callbacks."""
        return self.dataset

    def batches(self, batch_size, order=None):
        """Yield (X, y, weights) batches, in ``order`` (an index tensor) if given."""
        indices = torch.arange(len(self)) if order is None else order.cpu()
        sampler = [
            indices[i : i + batch_size].tolist()
            for i in range(0, len(self), batch_size)
        ]
        # A private generator: the loader's base seed must not draw from the
        # global generator, which dropout shares with the fast path.
        loader = DataLoader(
            self.dataset,
            batch_sampler=sampler,
            generator=torch.Generator(),
            **self.loader_kwargs,
        )
        for Xb, yb in loader:
            Xb = _move(Xb, self.device)
            yb = _move(yb, self.device)
            yield Xb, yb, None


def _move(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: _move(value, device) for key, value in batch.items()}
    return batch


def prediction_chunks(X, device):
    """Yield slices of X (an array or tensor) as tensors on ``device``, bounded in size."""
    values_per_row = max(1, int(np.prod(X.shape[1:])))
    rows = int(np.clip(PREDICT_CHUNK_VALUES // values_per_row, 1, PREDICT_MAX_ROWS))
    for start in range(0, len(X), rows):
        yield as_tensor(X[start : start + rows], device)


def _fits_on(device, *arrays):
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    needed = sum(getattr(a, "nbytes", 0) for a in arrays)
    return needed < free // 2


def first_output(output):
    """The prediction itself when a module returns a tuple of outputs."""
    return output[0] if isinstance(output, tuple) else output
