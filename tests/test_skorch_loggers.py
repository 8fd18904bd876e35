"""skorch's logging callbacks on the estimators: TensorBoard and MlflowLogger.

Each test runs where the logger's package is installed (``tensorboard``;
``mlflow`` or ``mlflow-skinny``) and skips otherwise. A logger gets the
estimator as a skorch net and reads ``net.history``, so what reaches
TensorBoard's event files or the MLflow run must be the history's values,
one per epoch, at the epoch's step; MLflow's artifacts are written with the
estimator's ``save_params`` (``device="auto"`` by default). MLflow uses a
local file store under ``tmp_path``: nothing leaves the machine.
"""

import json

import fit_settings
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

FAST = fit_settings.REPRODUCIBLE  # epochs and splits are set test by test
EPOCHS = 3


@pytest.fixture(params=["classifier", "binary", "regressor"])
def case(request, iris, cancer, diabetes):
    """(estimator class, X, y, epoch keys every fit records) for each estimator."""
    losses = {"train_loss", "valid_loss", "dur"}
    # valid_acc: skorch's name for the validation accuracy, logged as stock
    # skorch logs it.
    accuracy = {"valid_accuracy", "valid_acc"}
    if request.param == "classifier":
        return NNClassifier, *iris, losses | accuracy
    if request.param == "binary":
        X, y = cancer
        return NNBinaryClassifier, X[:200], y[:200], losses | accuracy
    X, y = diabetes
    return NNRegressor, X[:200], y[:200], losses


def _epoch_values(net, key):
    return [float(v) for v in net.history_[:, key]]


def _epoch_lines(printed):
    """The ``Epoch i/n`` heads of verbose=1's Keras-style lines."""
    return [
        line.split(" - ")[0]
        for line in printed.splitlines()
        if line.startswith("Epoch")
    ]


def _batch_values(net, key):
    return [
        float(batch[key])
        for row in net.history_
        for batch in row["batches"]
        if key in batch
    ]


# ----------------------------------------------------------------- TensorBoard


@pytest.fixture
def tensorboard(tmp_path):
    """skorch's TensorBoard callback, a SummaryWriter factory and an event reader."""
    pytest.importorskip("tensorboard")
    from skorch.callbacks import TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from torch.utils.tensorboard import SummaryWriter

    def read(log_dir):
        events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
        events.Reload()
        return {
            tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]
        }

    def writer(name="run"):
        return SummaryWriter(log_dir=str(tmp_path / name))

    return TensorBoard, writer, read


def _assert_scalars_match_history(scalars, net, tag_of):
    for key in _logged_keys(net):
        logged = scalars[tag_of(key)]
        assert [step for step, _ in logged] == list(range(1, len(net.history_) + 1))
        # Event files store float32.
        expected = _epoch_values(net, key)
        assert [value for _, value in logged] == pytest.approx(expected, rel=1e-6)


def _default_tag(key):
    """skorch's default key_mapper: train*/valid* keys go under "Loss/"."""
    return "Loss/" + key if key.startswith(("train", "valid")) else key


def _logged_keys(net):
    """The epoch keys skorch's loggers send: not epoch, *_best, *_batch_count."""
    return {
        key
        for key in net.history_[-1]
        if key not in ("epoch", "batches")
        and not key.endswith(("_best", "_batch_count"))
        and not key.startswith("event_")
    }


def test_tensorboard_logs_each_epoch_of_the_history(tensorboard, case, tmp_path):
    TensorBoard, writer, read = tensorboard
    Estimator, X, y, keys = case
    summary = writer()
    net = Estimator(
        max_epochs=EPOCHS,
        validation_fraction=0.2,
        callbacks=[TensorBoard(summary)],
        **FAST,
    ).fit(X, y)

    assert _logged_keys(net) == keys
    scalars = read(tmp_path / "run")
    assert set(scalars) == {_default_tag(key) for key in keys}
    _assert_scalars_match_history(
        scalars,
        net,
        _default_tag,
    )
    assert summary.file_writer is None  # close_after_train=True closed it


def test_tensorboard_key_mapper_keys_ignored_and_open_writer(
    tensorboard, iris, tmp_path
):
    TensorBoard, writer, read = tensorboard
    X, y = iris
    summary = writer()
    callback = TensorBoard(
        summary,
        close_after_train=False,
        keys_ignored="dur",
        key_mapper=lambda key: "nn/" + key,
    )
    net = NNClassifier(
        max_epochs=EPOCHS,
        validation_fraction=0.2,
        metrics=["accuracy", "neg_log_loss"],
        callbacks=[("tensorboard", callback)],
        **FAST,
    ).fit(X, y)
    # The writer stays open for the user's own scalars.
    summary.add_scalar("nn/after_fit", 1.0, global_step=EPOCHS)
    summary.close()

    scalars = read(tmp_path / "run")
    keys = _logged_keys(net) - {"dur"}
    assert keys == {
        "train_loss",
        "valid_loss",
        "train_accuracy",
        "valid_accuracy",
        "valid_acc",
        "train_neg_log_loss",
        "valid_neg_log_loss",
    }
    assert set(scalars) == {"nn/" + k for k in keys} | {"nn/after_fit"}
    for key in keys:
        values = [v for _, v in scalars["nn/" + key]]
        assert values == pytest.approx(_epoch_values(net, key), rel=1e-6)
    assert net.callbacks_[-2][0] == "tensorboard"  # ahead of print_log, as skorch's


def test_tensorboard_partial_fit_with_auto_batch_size(tensorboard, iris, tmp_path):
    # Each call closes the writer (close_after_train); torch reopens a new
    # event file on the next write, and steps continue from the history.
    TensorBoard, writer, read = tensorboard
    X, y = iris
    net = NNClassifier(
        batch_size="auto",
        validation_fraction=0.2,
        callbacks=[TensorBoard(writer())],
        **FAST,
    )
    for _ in range(EPOCHS):
        net.partial_fit(X, y, classes=[0, 1, 2])

    assert len(net.history_) == EPOCHS
    scalars = read(tmp_path / "run")
    assert len(list((tmp_path / "run").iterdir())) == EPOCHS  # one file per call
    _assert_scalars_match_history(
        scalars,
        net,
        _default_tag,
    )
    # auto: 120 training rows in batches of 32.
    assert list(net.history_[:, "train_batch_count"]) == [4] * EPOCHS


def test_tensorboard_regressor_metrics_in_user_units(tensorboard, tmp_path, capsys):
    # Losses are recorded in standard units (standardize_target), metrics in
    # the units of y; TensorBoard shows exactly what the history holds.
    TensorBoard, writer, read = tensorboard
    X, y = load_diabetes(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    X_train, y_train, X_val, y_val = X[:300], y[:300], X[300:], y[300:]
    net = NNRegressor(
        max_epochs=EPOCHS,
        metrics=["neg_mean_absolute_error"],
        restore_best_weights=False,
        callbacks=[TensorBoard(writer(), key_mapper=str)],
        verbose=1,
        **FAST,
    ).fit(X_train, y_train, validation_data=(X_val, y_val))

    assert _epoch_lines(capsys.readouterr().out) == [
        "Epoch 1/3",
        "Epoch 2/3",
        "Epoch 3/3",
    ]
    scalars = read(tmp_path / "run")
    _assert_scalars_match_history(scalars, net, str)

    residual = net.predict(X_val) - y_val
    mae = [v for _, v in scalars["valid_neg_mean_absolute_error"]][-1]
    assert -mae == pytest.approx(np.abs(residual).mean(), rel=1e-5)
    assert -mae > 10  # user units: diabetes targets are in the hundreds
    scale = float(np.squeeze(net.target_scale_))
    valid_loss = [v for _, v in scalars["valid_loss"]][-1]
    assert valid_loss == pytest.approx(np.mean((residual / scale) ** 2), rel=1e-4)


# ---------------------------------------------------------------------- MLflow


@pytest.fixture
def mlflow_run(tmp_path, monkeypatch):
    """An MlflowClient on a file store in tmp_path and a fresh run in it."""
    # Never reach the network: no telemetry; MLflow 3 refuses a file store
    # unless allowed; MlflowClient() and mlflow.start_run() read the URI here.
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    from skorch.callbacks import MlflowLogger

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("nnestimators")
    run = client.create_run(experiment)
    return MlflowLogger, client, run


def _metric_history(client, run, key):
    history = client.get_metric_history(run.info.run_id, key)
    return sorted((m.step, m.value) for m in history)


def test_mlflow_logs_epochs_and_saves_loadable_artifacts(mlflow_run, case, tmp_path):
    MlflowLogger, client, run = mlflow_run
    Estimator, X, y, keys = case
    net = Estimator(
        max_epochs=EPOCHS,
        validation_fraction=0.2,
        callbacks=[MlflowLogger(run, client)],
        **FAST,
    ).fit(X, y)

    finished = client.get_run(run.info.run_id)
    assert finished.info.status == "FINISHED"  # terminate_after_train
    assert set(finished.data.metrics) == keys
    for key in keys:
        logged = _metric_history(client, run, key)
        assert [step for step, _ in logged] == [1, 2, 3]
        assert [v for _, v in logged] == pytest.approx(_epoch_values(net, key))

    # create_artifact: net.save_params with device="auto" (the default).
    assert net.device == "auto"
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"params.pth", "optimizer.pth", "criterion.pth", "history.json"}
    folder = tmp_path / "downloaded"
    folder.mkdir()
    local = client.download_artifacts(run.info.run_id, "", str(folder))
    params = torch.load(f"{local}/params.pth", weights_only=True)
    state = net.module_.state_dict()
    assert params.keys() == state.keys()
    for name, tensor in state.items():
        assert torch.equal(params[name], tensor)
    with open(f"{local}/history.json") as f:
        saved = json.load(f)
    assert [row["train_loss"] for row in saved] == _epoch_values(net, "train_loss")

    # The artifacts restore into another net of the same shape.
    other = Estimator(
        max_epochs=1, validation_fraction=0.2, **{**FAST, "random_state": 1}
    )
    other.fit(X, y)
    other.load_params(
        f_params=f"{local}/params.pth",
        f_optimizer=f"{local}/optimizer.pth",
        f_history=f"{local}/history.json",
    )
    np.testing.assert_array_equal(other.predict(X), net.predict(X))
    assert len(other.history_) == EPOCHS


def test_mlflow_batch_logging_with_auto_batch_size(mlflow_run, iris):
    MlflowLogger, client, run = mlflow_run
    X, y = iris
    net = NNClassifier(
        max_epochs=EPOCHS,
        batch_size="auto",
        validation_fraction=0.2,
        callbacks=[MlflowLogger(run, client, log_on_batch_end=True)],
        **FAST,
    ).fit(X, y)

    metrics = set(client.get_run(run.info.run_id).data.metrics)
    assert {"train_loss_batch", "valid_loss_batch", "train_loss_epoch"} <= metrics
    assert "valid_accuracy_epoch" in metrics
    # One step per batch, training and validation batches counted together:
    # 4 training batches (120 rows, auto size 32) and 1 validation batch.
    train = _metric_history(client, run, "train_loss_batch")
    valid = _metric_history(client, run, "valid_loss_batch")
    assert len(train) == 4 * EPOCHS and len(valid) == EPOCHS
    assert [step for step, _ in valid] == [5, 10, 15]
    assert [v for _, v in train] == pytest.approx(_batch_values(net, "train_loss"))
    assert [v for _, v in valid] == pytest.approx(_batch_values(net, "valid_loss"))
    sizes = [v for _, v in _metric_history(client, run, "train_batch_size_batch")]
    assert sizes == [32, 32, 32, 24] * EPOCHS
    epoch = _metric_history(client, run, "valid_accuracy_epoch")
    assert [v for _, v in epoch] == pytest.approx(_epoch_values(net, "valid_accuracy"))


def test_mlflow_partial_fit_continues_the_steps(mlflow_run, cancer):
    MlflowLogger, client, run = mlflow_run
    X, y = cancer
    logger = MlflowLogger(
        run, client, terminate_after_train=False, create_artifact=False
    )
    net = NNBinaryClassifier(validation_fraction=0.2, callbacks=[logger], **FAST)
    for _ in range(EPOCHS):
        net.partial_fit(X[:200], y[:200], classes=[0, 1])

    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    for key in ("train_loss", "valid_loss", "valid_accuracy"):
        logged = _metric_history(client, run, key)
        assert [step for step, _ in logged] == [1, 2, 3]
        assert [v for _, v in logged] == pytest.approx(_epoch_values(net, key))


def test_mlflow_active_run_with_verbose_regressor(mlflow_run, diabetes, capsys):
    # skorch's documented usage: MlflowLogger() inside mlflow.start_run().
    import mlflow

    MlflowLogger, client, _ = mlflow_run
    X, y = diabetes
    net = NNRegressor(
        max_epochs=EPOCHS,
        validation_fraction=0.2,
        callbacks=[MlflowLogger()],
        verbose=1,
        **FAST,
    )
    with mlflow.start_run() as active:
        net.fit(X[:200], y[:200])

    assert _epoch_lines(capsys.readouterr().out) == [
        "Epoch 1/3",
        "Epoch 2/3",
        "Epoch 3/3",
    ]
    finished = client.get_run(active.info.run_id)
    assert finished.info.status == "FINISHED"
    assert set(finished.data.metrics) == {"train_loss", "valid_loss", "dur"}
    logged = _metric_history(client, active, "valid_loss")
    assert [v for _, v in logged] == pytest.approx(_epoch_values(net, "valid_loss"))
    assert len(client.list_artifacts(active.info.run_id)) == 4
