"""In-memory datasets and the batches skorch's loop iterates over.

Validated data (arrays, sparse matrices, dicts of arrays) becomes an
``ArrayDataset``: a skorch ``Dataset`` whose ``X`` and ``y`` are what the
user gave (so skorch's callbacks score in the user's labels and units),
while the network trains on encoded targets. ``get_iterator`` turns it into
``TensorBatches``: each batch is one indexing operation with a slice of the
epoch's permutation, with no per-row ``__getitem__`` and no collate. Any
other dataset goes through skorch's ``DataLoader`` unchanged.
"""

import itertools
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset

from . import validation
from .validation import InputDtype

# Prediction processes at most this many input values per forward call, which
# bounds memory for large inputs whatever their per-sample size.
PREDICT_CHUNK_VALUES = 2**22
PREDICT_MAX_ROWS = 256

# How X's memory layout is kept for training. torch wraps a C-contiguous
# array (a memmap too) without copying it, so such an array is never copied.
# It cannot wrap negative strides (X[::-1]), and it gathers the rows of other
# layouts (Fortran order, column strides) several times slower, every epoch:
# on 20,000 x 784 float32, copying into C order once takes 25 ms, and an
# epoch's gathers take 125 ms from Fortran order against 7 ms from C order.
# So another layout (or dtype: float64 X for a float32 module) up to this
# size is copied once, into C order and the module's dtype; a larger X is
# kept as given, and each batch's rows are gathered and converted into a
# contiguous batch on the host (numpy's row indexing, as fast as torch's
# gather from C order, for any strides): no copy beyond a batch. Prediction
# lays out and converts X a chunk at a time (skorch's loader, for a user's
# dataset or steps, takes it converted whole).
WHOLE_COPY_BYTES = 2**26


# Modules that look rows up by index: integer X stays integer for them.
EMBEDDINGS = (torch.nn.Embedding, torch.nn.EmbeddingBag)


def module_input_dtype(module):
    """The ``InputDtype`` of array X for ``module``: its dtype follows the module.

    Floating and other numeric X becomes the dtype of the module's floating
    parameters: float64 for a float64 module (one built with ``.double()``),
    float32 otherwise. Integer X stays integer (int64) when the module holds
    an ``nn.Embedding`` or ``nn.EmbeddingBag`` anywhere: token ids.
    """
    if not isinstance(module, torch.nn.Module):
        return InputDtype()
    floating = np.float32
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point():
            floating = np.float64 if tensor.dtype == torch.float64 else np.float32
            break
    integers = any(isinstance(m, EMBEDDINGS) for m in module.modules())
    return InputDtype(floating, integers)


def net_layers(net):
    """Every submodule of a net's modules (``module_``, a subclass's own, ...)."""
    for name in net._modules:
        module = net.__dict__.get(name + "_")
        if isinstance(module, torch.nn.Module):
            yield from module.modules()


def as_tensor(array, device):
    """Wrap an array as a tensor on ``device``, sharing memory where possible.

    Arrays torch cannot wrap (negative strides) are copied: callers hand it
    whole arrays only in a layout torch wraps (see ``training_inputs``),
    anything else a batch at a time.
    """
    if isinstance(array, torch.Tensor):
        return array.to(device)
    if sp.issparse(array):
        return torch.from_numpy(np.asarray(array.toarray())).to(device)
    array = np.asarray(array)
    if any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps) are only ever read here, so sharing is safe.
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        tensor = torch.from_numpy(array)
    return tensor.to(device)


def batch_tensor(rows, device, dtype=None):
    """A batch of rows (a view or a sparse slice) as a C-contiguous tensor.

    A row's values reach the network in the same layout whatever the layout
    of the array they come from, so its outputs are the same. ``dtype`` (a
    numpy dtype) converts them on the way, in the same copy.
    """
    if isinstance(rows, dict):
        return {key: batch_tensor(value, device) for key, value in rows.items()}
    if sp.issparse(rows):
        rows = rows.toarray()
    rows = np.ascontiguousarray(rows, dtype=dtype)  # no copy when it is already
    return as_tensor(rows, device)


def torch_readable(X):
    """X, or a C-ordered copy where torch cannot wrap it (negative strides);
    a dict of arrays, array by array."""
    if isinstance(X, dict):
        return {key: torch_readable(value) for key, value in X.items()}
    if sp.issparse(X) or all(stride >= 0 for stride in X.strides):
        return X
    return np.ascontiguousarray(X)


def training_inputs(X, dtype=None):
    """X as training keeps it, and the dtype its batches take.

    By the rule of ``WHOLE_COPY_BYTES``: X as it is when C-contiguous (or
    sparse) and in the ``InputDtype`` ``dtype`` already (None: its own);
    otherwise, while small, one copy in C order and in ``dtype``; else X as
    it is, its batches gathered and converted one at a time. Values
    ``dtype`` cannot hold are refused first. A dict of arrays keeps its
    arrays' dtypes, each array laid out by the same rule.
    """
    if isinstance(X, dict):
        return {key: training_inputs(value)[0] for key, value in X.items()}, None
    target = X.dtype if dtype is None else validation.batch_dtype(X, dtype)
    sparse = sp.issparse(X)
    if X.dtype == target and (sparse or X.flags.c_contiguous):
        return X, target
    validation.check_castable(X, dtype)
    if _nbytes(X) > WHOLE_COPY_BYTES:
        return X, target
    if sparse:
        return X.astype(target), target
    return np.ascontiguousarray(X, dtype=target), target


def gathered_on_host(X, dtype=None):
    """Whether batches of X are gathered with numpy rather than by torch:
    sparse rows, or a large array in another layout or dtype."""
    if isinstance(X, dict):
        return any(gathered_on_host(value) for value in X.values())
    if sp.issparse(X):
        return True
    return not X.flags.c_contiguous or (dtype is not None and X.dtype != dtype)


class ArrayDataset(Dataset):
    """Validated in-memory data: inputs, encoded targets and loss weights.

    Parameters
    ----------
    X : ndarray, sparse matrix or dict of ndarrays
        Validated inputs, in any memory layout (see ``WHOLE_COPY_BYTES``).
        Sparse rows are densified batch by batch.
    targets : ndarray or None
        What the loss sees: class codes, an indicator matrix or
        standardised values.
    weights : ndarray or None
        Per-sample loss weights; None when every sample weighs the same.
    device : str
        Where dense data lives while training. It stays on the CPU, and
        batches move one by one, when it would take more than half the free
        memory of the device.
    y_user : array-like or None
        The targets as the user gave them, shown to skorch's callbacks.
    metric_weights : ndarray or None
        The user's ``sample_weight`` for these rows, for metrics.
    rows : ndarray of int or None
        The rows that make up this set (a split), picked by index so that
        X itself is never copied.
    input_dtype : InputDtype or None
        What array X becomes (``validation.cast_X``); None keeps its dtype.
    """

    def __init__(
        self,
        X,
        targets,
        weights=None,
        device="cpu",
        *,
        y_user=None,
        metric_weights=None,
        rows=None,
        input_dtype=None,
    ):
        # skorch's Dataset.__init__ converts and checks; everything here is
        # validated already, so only the attributes skorch reads are set.
        self.device = indexed_device(device)
        self.sparse = sp.issparse(X)
        stored, self.batch_dtype = training_inputs(X, input_dtype)
        # Batches of these are gathered on the host, one at a time.
        on_host = gathered_on_host(stored, self.batch_dtype)
        self.host_inputs = stored if on_host else None
        resident = self.host_inputs is None and _fits_on(
            self.device, stored, targets, weights
        )
        self.storage = self.device if resident else torch.device("cpu")
        self.X_data = X
        self.inputs = (
            None if self.host_inputs is not None else _tensors(stored, self.storage)
        )
        self.targets = None if targets is None else as_tensor(targets, self.storage)
        self.weights = None if weights is None else as_tensor(weights, self.storage)
        self.y_user = y_user
        self.metric_weights = metric_weights
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self._row_index = (
            None
            if self.rows is None
            else torch.as_tensor(self.rows, device=self.storage)
        )
        self.length = len(targets) if rows is None else len(self.rows)

    def subset(self, rows):
        """The same data restricted to ``rows`` (positions in this set)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.rows is not None:
            rows = self.rows[rows]
        subset = object.__new__(type(self))
        subset.__dict__.update(self.__dict__)
        subset.rows = rows
        subset._row_index = torch.as_tensor(rows, device=self.storage)
        subset.length = len(rows)
        subset.metric_weights = self.metric_weights
        return subset

    def __len__(self):
        return self.length

    @property
    def X(self):
        """The inputs of these rows (skorch's callbacks read them)."""
        return _take(self.X_data, self.rows)

    @property
    def y(self):
        """The targets of these rows as the user gave them."""
        return None if self.y_user is None else _take(self.y_user, self.rows)

    def row_metric_weights(self, positions=None):
        """The user's sample weights of these rows (or of some positions)."""
        if self.metric_weights is None:
            return None
        weights = _take(self.metric_weights, self.rows)
        return weights if positions is None else weights[positions]

    def __getitem__(self, i):
        # The per-row path, for a user's own iterator or DataLoader settings.
        row = i if self.rows is None else int(self.rows[i])
        if self.host_inputs is None:
            Xi = _take_rows(self.inputs, row)
        elif self.sparse:
            Xi = batch_tensor(self.host_inputs[row], "cpu", self.batch_dtype)
            Xi = Xi.reshape(-1)
        else:
            Xi = batch_tensor(_take(self.host_inputs, row), "cpu", self.batch_dtype)
        yi = torch.zeros(()) if self.targets is None else self.targets[row]
        return Xi, yi

    def batch(self, positions):
        """Inputs, targets and weights of ``positions`` (a slice or an index)."""
        index = positions if self._row_index is None else self._row_index[positions]
        if self.host_inputs is not None:
            rows = index if isinstance(index, slice) else index.cpu().numpy()
            Xb = batch_tensor(
                _take(self.host_inputs, rows), self.device, self.batch_dtype
            )
        else:
            Xb = _take_rows(self.inputs, index)
        yb = None if self.targets is None else _take_rows(self.targets, index)
        wb = None if self.weights is None else _take_rows(self.weights, index)
        if self.storage != self.device:  # data kept on the CPU: move each batch
            Xb, yb, wb = (_move(t, self.device) for t in (Xb, yb, wb))
        return Xb, yb, wb


class TensorBatches:
    """Batches of an ``ArrayDataset``, shuffled anew on every pass.

    What ``get_iterator`` returns for in-memory data: skorch's loop iterates
    over it as over a ``DataLoader`` and gets ``(X, y)`` pairs. Before each
    batch is handed out, ``on_batch`` receives its dataset, positions,
    targets and loss weights, so that ``get_loss`` and the metrics find
    them; ``augment`` transforms training inputs.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        *,
        shuffle=False,
        drop_last=False,
        generator=None,
        on_batch=None,
        augment=None,
        merge_single_row=False,
    ):
        self.dataset = dataset
        self.augment = augment
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.on_batch = on_batch
        self.merge_single_row = merge_single_row

    def __len__(self):
        return len(self._bounds())

    def _bounds(self):
        """``(start, end)`` of each batch; a last batch of one row can join
        the one before (``merge_single_row``: batch norm needs two rows)."""
        n, size = len(self.dataset), self.batch_size
        stop = n - n % size if self.drop_last else n
        bounds = [(start, min(start + size, n)) for start in range(0, stop, size)]
        if self.merge_single_row and len(bounds) > 1 and n - bounds[-1][0] == 1:
            bounds[-2:] = [(bounds[-2][0], n)]
        return bounds

    def __iter__(self):
        dataset, n = self.dataset, len(self.dataset)
        device = dataset.storage
        order = None
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(device)
        elif dataset._row_index is not None:
            order = torch.arange(n, device=device)
        try:
            for start, end in self._bounds():
                positions = slice(start, end) if order is None else order[start:end]
                Xb, yb, wb = dataset.batch(positions)
                if self.augment is not None:
                    Xb = self.augment(Xb)
                if self.on_batch is not None:
                    self.on_batch(dataset, positions, yb, wb)
                yield Xb, yb
        finally:
            if self.on_batch is not None:
                self.on_batch(None, None, None, None)


class AugmentedBatches:
    """A loader's training batches with ``augment`` applied to their inputs.

    The path of a user's ``Dataset`` or ``iterator_train__*`` settings; the
    in-memory path augments inside ``TensorBatches``.
    """

    def __init__(self, loader, augment):
        self.loader = loader
        self.augment = augment

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            inputs, *rest = batch if isinstance(batch, tuple | list) else (batch,)
            if not isinstance(inputs, torch.Tensor):
                raise TypeError(
                    "augment transforms tensors, but this dataset's batches hold "
                    f"{type(inputs).__name__} inputs; augment inside the dataset "
                    "instead."
                )
            yield (self.augment(inputs), *rest) if rest else self.augment(inputs)


class EpochPermutation(torch.utils.data.Sampler):
    """A new permutation of ``range(n)`` from ``generator`` on every pass.

    The sampler of the ``DataLoader`` path: the same draws as ``TensorBatches``
    makes, so both paths see the same batches for the same seed.
    """

    def __init__(self, n, generator):
        self.n = n
        self.generator = generator

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(torch.randperm(self.n, generator=self.generator).tolist())


def _tensors(X, device):
    if isinstance(X, dict):
        return {key: as_tensor(value, device) for key, value in X.items()}
    return as_tensor(X, device)


def _take_rows(inputs, index):
    if isinstance(inputs, dict):
        return {key: _take_rows(value, index) for key, value in inputs.items()}
    if isinstance(index, torch.Tensor):
        # index_select: a plain gather, cheaper than advanced indexing.
        return torch.index_select(inputs, 0, index)
    return inputs[index]


def _take(values, rows):
    if rows is None or values is None:
        return values
    if isinstance(values, dict):
        return {key: _take(value, rows) for key, value in values.items()}
    if hasattr(values, "iloc"):
        return values.iloc[rows]
    return values[rows]


def indexed_device(device):
    """``device`` as a ``torch.device`` that compares equal to its tensors'.

    Tensors on the GPU report ``cuda:0``, never bare ``"cuda"``.
    """
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _move(batch, device):
    if batch is None:
        return None
    if isinstance(batch, dict):
        return {key: _move(value, device) for key, value in batch.items()}
    if batch.device == device:
        return batch
    return batch.to(device, non_blocking=True)


def prediction_rows(X):
    """Rows per prediction chunk: bounded in values, the same for every call."""
    values_per_row = max(1, int(np.prod(X.shape[1:])))
    return int(np.clip(PREDICT_CHUNK_VALUES // values_per_row, 1, PREDICT_MAX_ROWS))


def prediction_chunks(X, device, dtype=None):
    """Yield ``(chunk, n_rows)``: X in chunks of one fixed size, on ``device``.

    Each chunk is copied into C order, converted to ``dtype`` (a numpy
    dtype; None keeps X's) in the same copy, where X is not so already.

    The last chunk is padded with zeros to the same size, so every row goes
    through the network in a batch of the same shape: its prediction is then
    bit for bit the same whatever else is predicted with it (scikit-learn's
    ``check_methods_subset_invariance``), as float32 matrix kernels round
    differently for different batch sizes.
    """
    size = prediction_rows(X)
    for start in range(0, X.shape[0], size):
        chunk = batch_tensor(X[start : start + size], device, dtype)
        n_rows = chunk.shape[0]
        if n_rows < size:
            padding = chunk.new_zeros((size - n_rows, *chunk.shape[1:]))
            chunk = torch.cat([chunk, padding])
        yield chunk, n_rows


def _fits_on(device, *arrays):
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    needed = sum(_nbytes(a) for a in arrays)
    return needed < free // 2


def _nbytes(array):
    if isinstance(array, dict):
        return sum(_nbytes(value) for value in array.values())
    if sp.issparse(array):
        return sum(
            getattr(array, part).nbytes for part in ("data", "indices", "indptr")
        )
    return getattr(array, "nbytes", 0)


def first_output(output):
    """The prediction itself when a module returns a tuple of outputs."""
    return output[0] if isinstance(output, tuple) else output
