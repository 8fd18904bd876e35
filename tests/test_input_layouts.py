"""Arrays in any memory layout scikit-learn accepts give the results of the
same values in C order: negative strides, column and row strides, Fortran
order, read-only arrays, memory maps, DataFrames over them, sparse matrices
with read-only or reversed arrays, image arrays viewed channels-last; in
fit, partial_fit and every prediction method. A C-contiguous array (a memmap
too) is never copied whole; another layout is copied into C order only
while small (``data.WHOLE_COPY_BYTES``), else gathered a batch at a time."""

import tracemalloc

import fit_settings
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import skorch
import torch
from sklearn.base import clone

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor, data
from nnestimators.data import ArrayDataset

FAST = {**fit_settings.FAST, "max_epochs": 2, "batch_size": 16, "verbose": 0}


def _read_only(array):
    array = array.copy()
    array.setflags(write=False)
    return array


# The same values as X, held differently. X is float32, C-contiguous.
LAYOUTS = {
    "negative row strides": lambda X: np.ascontiguousarray(X[::-1])[::-1],
    "negative column strides": lambda X: np.ascontiguousarray(X[:, ::-1])[:, ::-1],
    "fortran order": np.asfortranarray,
    "column strides": lambda X: np.repeat(X, 2, axis=1)[:, ::2],
    "row strides": lambda X: np.repeat(X, 2, axis=0)[::2],
    "read-only": _read_only,
    "read-only, negative strides": lambda X: _read_only(X[::-1])[::-1],
    # float32 values held as float64: converted whole, or a batch at a time.
    "float64": lambda X: X.astype(np.float64),
    "float64, negative strides": lambda X: X.astype(np.float64)[::-1].copy()[::-1],
    "DataFrame, fortran order": lambda X: pd.DataFrame(np.asfortranarray(X)),
    "DataFrame, negative strides": lambda X: pd.DataFrame(
        np.ascontiguousarray(X[::-1])[::-1]
    ),
}


def _problem(kind):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 5).astype(np.float32)
    if kind == "binary":
        return NNBinaryClassifier(**FAST), X, (X[:, 0] > 0).astype(int)
    if kind == "multiclass":
        return NNClassifier(**FAST), X, np.digitize(X[:, 0], [-0.5, 0.5])
    if kind == "multilabel":
        return NNClassifier(**FAST), X, (X[:, :3] > 0).astype(int)
    return NNRegressor(**FAST), X, X[:, 0] - 2 * X[:, 1]


def _outputs(net, X, y):
    """Every method's result on (X, y): what must not depend on the layout."""
    methods = ["predict", "score"]
    if not isinstance(net, NNRegressor):
        methods += ["predict_proba", "predict_log_proba"]
    return {
        name: getattr(net, name)(X, y) if name == "score" else getattr(net, name)(X)
        for name in methods
    }


def _assert_same(found, expected, exact=True):
    for name, value in expected.items():
        if exact:
            # The same values through the same kernels: the same numbers.
            np.testing.assert_array_equal(found[name], value, err_msg=name)
        else:
            np.testing.assert_allclose(found[name], value, rtol=1e-5, atol=1e-6)


@pytest.fixture(
    scope="module", params=["binary", "multiclass", "multilabel", "regression"]
)
def reference(request):
    """A net fitted and partially fitted on C-ordered data, and its results."""
    net, X, y = _problem(request.param)
    fitted = clone(net).fit(X, y)
    partial = clone(net).partial_fit(X, y)
    return {
        "net": net,
        "X": X,
        "y": y,
        "fitted": fitted,
        "predictions": _outputs(fitted, X, y),
        "partial": _outputs(partial, X, y),
    }


# The gathered path for three layouts in the fast tier, for all in the slow.
GATHERED_FAST = {"negative row strides", "fortran order", "float64, negative strides"}


def _layout_cases():
    for layout in LAYOUTS:
        yield pytest.param(layout, False, id=f"{layout}-copied")
        marks = () if layout in GATHERED_FAST else pytest.mark.slow
        yield pytest.param(layout, True, id=f"{layout}-gathered", marks=marks)


@pytest.mark.parametrize("layout, gathered", list(_layout_cases()))
def test_every_method_gives_the_results_of_c_order(
    reference, layout, gathered, monkeypatch
):
    if gathered:  # as if X were large: batches gathered from the user's array
        monkeypatch.setattr(data, "WHOLE_COPY_BYTES", 0)
    X, y = reference["X"], reference["y"]
    X_layout = LAYOUTS[layout](X)
    fitted = reference["fitted"]
    # A regressor's predictions for float64 X are float64: the same outputs,
    # put back in the units of y at a higher precision.
    exact = not (isinstance(fitted, NNRegressor) and layout.startswith("float64"))
    _assert_same(_outputs(fitted, X_layout, y), reference["predictions"], exact)
    refitted = clone(reference["net"]).fit(X_layout, y)
    _assert_same(_outputs(refitted, X, y), reference["predictions"])
    partial = clone(reference["net"]).partial_fit(X_layout, y)
    _assert_same(_outputs(partial, X, y), reference["partial"])


@pytest.mark.parametrize(
    "make_y",
    [lambda y: np.ascontiguousarray(y[::-1])[::-1], _read_only, np.asfortranarray],
    ids=["negative strides", "read-only", "fortran order"],
)
def test_targets_and_weights_in_any_layout(reference, make_y):
    X, y = reference["X"], reference["y"]
    weights = np.linspace(0.5, 1.5, len(y))
    expected = clone(reference["net"]).fit(X, y, sample_weight=weights)
    net = clone(reference["net"]).fit(X, make_y(y), sample_weight=make_y(weights))
    _assert_same(_outputs(net, X, y), _outputs(expected, X, y))
    # score takes them too
    assert net.score(X, make_y(y)) == expected.score(X, y)


def test_memory_map_trains_and_predicts_without_a_copy(tmp_path, monkeypatch):
    net, X, y = _problem("multiclass")
    path = tmp_path / "X.dat"
    written = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    written[:] = X
    written.flush()
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    datasets = _recorded_datasets(monkeypatch)
    expected = clone(net).fit(X, y)
    datasets.clear()
    fitted = clone(net).fit(mapped, y)
    _assert_same(_outputs(fitted, mapped, y), _outputs(expected, X, y))
    (dataset,) = datasets
    # The training tensor is the mapped file's memory, not a copy of it.
    assert dataset.inputs.data_ptr() == mapped.ctypes.data
    partial = clone(net).partial_fit(mapped, y)
    _assert_same(_outputs(partial, X, y), _outputs(clone(net).partial_fit(X, y), X, y))


def _recorded_datasets(monkeypatch):
    """The ``ArrayDataset`` instances built from here on."""
    built = []

    class Recorded(ArrayDataset):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr("nnestimators.preparation.ArrayDataset", Recorded)
    return built


def test_large_array_of_another_layout_is_gathered_a_batch_at_a_time(monkeypatch):
    monkeypatch.setattr(data, "WHOLE_COPY_BYTES", 1024)
    rng = np.random.RandomState(0)
    X = np.ascontiguousarray(rng.randn(200, 8).astype(np.float32)[::-1])[::-1]
    y = (X[:, 0] > 0).astype(int)
    datasets = _recorded_datasets(monkeypatch)
    NNBinaryClassifier(**FAST).fit(X, y)
    (dataset,) = datasets
    assert dataset.inputs is None
    assert np.shares_memory(dataset.host_inputs, X)
    # A small one is copied into C order once: torch then gathers its rows.
    small = ArrayDataset(X[:16], np.zeros(16, dtype=np.int64))
    assert small.inputs.is_contiguous() and not np.shares_memory(small.X_data, X[:0])


def _peak_numpy_bytes(work, X, y):
    """The peak of the memory numpy allocates (tracemalloc traces it) in
    ``work(X, y)``, after a first run on a few rows has done the imports."""
    work(X[:100], y[:100])
    tracemalloc.start()
    try:
        work(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_large_float64_view_is_converted_a_batch_at_a_time(monkeypatch):
    monkeypatch.setattr(data, "WHOLE_COPY_BYTES", 2**20)  # X is "large"
    rng = np.random.RandomState(0)
    X = rng.randn(20_000, 100)[::-1]  # 16 MB of float64, negative strides
    y = (X[:, 0] > 0).astype(int)
    net = NNBinaryClassifier(**{**FAST, "max_epochs": 1, "batch_size": 1024})
    peak = _peak_numpy_bytes(lambda X, y: net.fit(X, y).predict_proba(X), X, y)
    # Converted whole, X would take 8 MB as float32; a batch takes 1.2 MB.
    assert peak < X.nbytes / 4


def test_large_c_ordered_memory_map_is_not_copied_whole(tmp_path):
    n_rows, n_features = 40_000, 50  # 8 MB of float32
    path = tmp_path / "large.dat"
    written = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, n_features))
    written[:] = np.random.RandomState(0).randn(n_rows, n_features)
    written.flush()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, n_features))
    y = (X[:, 0] > 0).astype(int)
    net = NNBinaryClassifier(**{**FAST, "max_epochs": 1, "batch_size": 4096})
    peak = _peak_numpy_bytes(lambda X, y: net.fit(X, y).predict_proba(X), X, y)
    assert peak < X.nbytes / 4  # a whole copy would be 8 MB


def _unsorted_read_only_csr(dense):
    matrix = sp.csr_matrix(dense)
    data_, indices = matrix.data.copy(), matrix.indices.copy()
    for row in range(matrix.shape[0]):  # reverse each row's entries
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        data_[start:end] = data_[start:end][::-1]
        indices[start:end] = indices[start:end][::-1]
    for array in (data_, indices):
        array.setflags(write=False)
    return sp.csr_matrix((data_, indices, matrix.indptr.copy()), shape=matrix.shape)


@pytest.mark.parametrize(
    "make_sparse",
    [
        _unsorted_read_only_csr,
        lambda dense: sp.csr_matrix(
            (lambda m: (np.ascontiguousarray(m.data[::-1])[::-1], m.indices, m.indptr))(
                sp.csr_matrix(dense)
            ),
            shape=dense.shape,
        ),
        lambda dense: sp.csc_matrix(np.asfortranarray(dense)),
    ],
    ids=["unsorted read-only csr", "csr over negative strides", "csc"],
)
def test_sparse_matrices_in_any_layout(make_sparse):
    net, X, y = _problem("binary")
    X[np.abs(X) < 0.6] = 0  # about half the entries
    X_sparse = make_sparse(X)
    before = X_sparse.copy()
    expected = clone(net).fit(sp.csr_matrix(X), y)
    fitted = clone(net).fit(X_sparse, y)
    _assert_same(_outputs(fitted, X_sparse, y), _outputs(expected, sp.csr_matrix(X), y))
    # The user's matrix is read, never changed (not even sorted in place).
    assert (X_sparse != before).nnz == 0
    np.testing.assert_array_equal(X_sparse.indices, before.indices)


def test_images_viewed_channels_last_and_reversed():
    rng = np.random.RandomState(0)
    channels_last = rng.rand(24, 8, 8, 3).astype(np.float32)
    y = np.arange(24) % 2
    X = np.ascontiguousarray(channels_last.transpose(0, 3, 1, 2))
    net = NNClassifier(**{**FAST, "max_epochs": 1})
    expected = clone(net).fit(X, y)
    views = {
        "moveaxis view": np.moveaxis(channels_last, -1, 1),
        "negative strides": np.ascontiguousarray(X[::-1, :, ::-1])[::-1, :, ::-1],
    }
    for name, view in views.items():
        assert not view.flags.c_contiguous, name
        fitted = clone(net).fit(view, y)
        _assert_same(_outputs(fitted, X, y), _outputs(expected, X, y))
        _assert_same(_outputs(expected, view, y), _outputs(expected, X, y))


def test_dict_inputs_with_negative_strides():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 4).astype(np.float32)
    y = np.arange(40) % 2
    net = NNClassifier(module=_TwoInputs, **FAST)
    expected = clone(net).fit({"a": X[:, :2], "b": X[:, 2:]}, y)
    reversed_ = np.ascontiguousarray(X[::-1])[::-1]
    given = {"a": reversed_[:, :2], "b": reversed_[:, 2:]}
    fitted = clone(net).fit(given, y)
    np.testing.assert_array_equal(
        fitted.predict_proba(given),
        expected.predict_proba({"a": X[:, :2], "b": X[:, 2:]}),
    )


class _TwoInputs(torch.nn.Module):
    def __init__(self, n_outputs=2):
        super().__init__()
        self.layer = torch.nn.Linear(4, n_outputs)

    def forward(self, a, b):
        return self.layer(torch.cat([a, b], dim=1))


class _OwnEvaluation(NNClassifier):
    """Overrides a step of skorch's: prediction goes through skorch's loader."""

    def evaluation_step(self, batch, training=False):
        return super().evaluation_step(batch, training)


@pytest.mark.parametrize(
    "make_net",
    [
        lambda: _OwnEvaluation(**FAST),
        lambda: NNClassifier(dataset=skorch.dataset.Dataset, **FAST),
    ],
    ids=["subclass of skorch's steps", "skorch Dataset"],
)
@pytest.mark.parametrize("layout", ["negative column strides", "fortran order"])
def test_skorch_routes_read_any_layout(make_net, layout):
    _, X, y = _problem("multiclass")
    X_layout = LAYOUTS[layout](X)
    expected = make_net().fit(X, y)
    fitted = make_net().fit(X_layout, y)
    _assert_same(_outputs(fitted, X, y), _outputs(expected, X, y))
    _assert_same(_outputs(expected, X_layout, y), _outputs(expected, X, y))
