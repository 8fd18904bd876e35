"""The in-memory fast path: same batches as skorch's general path, no copies."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset

import nnestimators.preparation as preparation
from nnestimators import NNClassifier, NNRegressor
from nnestimators.data import PREDICT_CHUNK_VALUES, ArrayDataset, prediction_chunks


@pytest.mark.parametrize("Estimator", [NNClassifier, NNRegressor])
def test_fast_and_general_paths_give_identical_histories(iris, Estimator):
    X, y = iris
    params = dict(max_epochs=4, batch_size=16, random_state=0, module__dropout=0.2)
    if Estimator is NNRegressor:
        params["standardize_target"] = False  # a Dataset's targets are used as given
    fast = Estimator(**params).fit(X, y)
    if Estimator is NNRegressor:
        target = y.astype(np.float32).reshape(-1, 1)
    else:
        target = y.astype(np.int64)
    general = Estimator(**params).fit(Dataset(X, target), None)
    np.testing.assert_array_equal(
        fast.history_frame()["train_loss"], general.history_frame()["train_loss"]
    )
    np.testing.assert_array_equal(
        np.ravel(fast.predict(X)), np.ravel(general.predict(X))
    )


def test_a_torch_dataset_trains_through_the_general_path(iris):
    X, y = iris
    data = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    model = NNClassifier(max_epochs=30, random_state=0).fit(data, None)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.score(X, y) > 0.8


def test_float32_training_data_is_not_copied(monkeypatch, iris):
    X, y = iris
    X = np.ascontiguousarray(X, dtype=np.float32)
    built = []

    class Recording(ArrayDataset):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(preparation, "ArrayDataset", Recording)
    NNClassifier(max_epochs=1).fit(X, y)
    assert built[0].inputs.data_ptr() == X.ctypes.data
    # With a validation split, training rows are an index into the same memory.
    built.clear()
    model = NNClassifier(max_epochs=1, validation_fraction=0.2).fit(X, y)
    assert built[0].inputs.data_ptr() == X.ctypes.data
    assert (
        sum(b.get("train_batch_size", 0) for b in model.history_[-1, "batches"]) == 120
    )


def test_prediction_runs_in_bounded_chunks():
    X = np.zeros((10, 3, 64, 64), dtype=np.float32)
    chunks = list(prediction_chunks(X, "cpu"))
    assert sum(n for _, n in chunks) == 10
    X = np.zeros((300_000, 100), dtype=np.float32)
    chunks = list(prediction_chunks(X, "cpu"))
    assert max(c.numel() for c, _ in chunks) <= PREDICT_CHUNK_VALUES
    assert sum(n for _, n in chunks) == len(X)
    # Every chunk has one shape (the last is padded): predictions of a row do
    # not depend on which other rows are predicted with it.
    assert len({tuple(c.shape) for c, _ in chunks}) == 1


def test_predictions_do_not_depend_on_the_other_rows(iris):
    X, y = iris
    model = NNRegressor(max_epochs=2, random_state=0).fit(X, y.astype(float))
    full = model.predict(X)
    parts = np.concatenate([model.predict(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(full, parts)


def test_prediction_needs_no_gradients_and_optimizer_is_fused(iris):
    X, y = iris
    model = NNClassifier(max_epochs=1).fit(X, y)
    assert model._raw_outputs(X).requires_grad is False
    defaults = model.optimizer_.defaults
    assert defaults.get("fused") or defaults.get("foreach")


@pytest.mark.parametrize("n_rows, batch_size", [(33, 32), (289, "auto"), (65, 16)])
def test_batch_norm_never_trains_on_a_single_row(n_rows, batch_size):
    # 289 rows at the automatic batch size (32) leave a last batch of one row,
    # which torch's BatchNorm1d refuses in training; it joins the batch before.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    sizes = []
    model = NNClassifier(
        module__batch_norm=True, batch_size=batch_size, max_epochs=2, random_state=0
    ).fit(X, y)
    for row in model.history_:
        sizes.append([batch["train_batch_size"] for batch in row["batches"]])
    assert all(min(epoch) > 1 and sum(epoch) == n_rows for epoch in sizes)
    # Without batch norm the batches are as skorch makes them.
    plain = NNClassifier(batch_size=batch_size, max_epochs=1).fit(X, y)
    expected_last = n_rows % (32 if batch_size == "auto" else batch_size)
    assert plain.history_[-1, "batches", -1, "train_batch_size"] == expected_last
