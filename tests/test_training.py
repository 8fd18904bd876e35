"""Training control: monitoring, early stopping, best weights, schedules, errors."""

import os
import signal
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import cross_val_score, train_test_split
from skorch.callbacks import Callback, EpochScoring

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.training.divergence import TrainingDivergedError


@pytest.fixture(scope="module")
def overfitting():
    """Few samples, many features, noisy labels: a wide net overfits fast."""
    X, y = make_classification(
        n_samples=160, n_features=60, n_informative=4, flip_y=0.25, random_state=0
    )
    return train_test_split(X.astype(np.float32), y, test_size=0.3, random_state=0)


def _wide(**params):
    base = dict(module__hidden_units=(256,), lr=1e-2, max_epochs=60, random_state=0)
    return NNBinaryClassifier(**{**base, **params})


def _bce(model, X, y):
    logits = model.decision_function(X)
    return float(np.mean(np.logaddexp(0.0, -logits * (2 * y - 1))))


def test_training_stops_early_and_keeps_the_best_epoch(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    model = _wide(patience=5).fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    assert len(history) < 60
    best = history["valid_loss"].idxmin()
    assert model.best_epoch_ == history["epoch"][best]
    assert len(history) == model.best_epoch_ + 5
    # The weights in place are the best epoch's: its validation loss again.
    assert _bce(model, X_val, y_val) == pytest.approx(
        history["valid_loss"][best], rel=1e-4
    )


def test_best_weights_are_restored_without_early_stopping(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    model = _wide(max_epochs=30).fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    assert len(history) == 30 and model.best_epoch_ < 30
    assert _bce(model, X_val, y_val) == pytest.approx(
        history["valid_loss"].min(), rel=1e-4
    )
    last = _wide(max_epochs=30, restore_best_weights=False).fit(
        X_train, y_train, validation_data=(X_val, y_val)
    )
    assert _bce(last, X_val, y_val) == pytest.approx(
        history["valid_loss"].iloc[-1], rel=1e-4
    )


def test_monitor_a_score_is_maximised(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    model = _wide(
        max_epochs=25, monitor="valid_roc_auc", metrics=["roc_auc", "f1", "accuracy"]
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    for column in ("valid_roc_auc", "valid_f1", "valid_accuracy", "dur"):
        assert column in history
    assert "lr" not in history  # constant without a schedule: not recorded
    best = history["valid_roc_auc"].idxmax()
    assert model.best_epoch_ == history["epoch"][best]
    assert history["valid_roc_auc_best"].sum() >= 1


def test_metric_keys_are_maximised_whatever_their_names():
    # Scorers return scores (RMSE negated), even under an "rmse" or "error" name.
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    model = NNRegressor(
        max_epochs=15,
        validation_fraction=0.2,
        metrics={"rmse": "neg_root_mean_squared_error", "max_error": "neg_max_error"},
        monitor="val_rmse",
        random_state=0,
    ).fit(X, y)
    history = model.history_frame()
    assert (history["valid_rmse"] < 0).all()
    assert model.best_epoch_ == history["epoch"][history["valid_rmse"].idxmax()]
    assert model.best_epoch_ > 1  # still improving: the worst epoch is the first
    model.set_params(monitor="valid_max_error").fit(X, y)
    history = model.history_frame()
    assert model.best_epoch_ == history["epoch"][history["valid_max_error"].idxmax()]


def test_a_skorch_scoring_callback_says_its_direction(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    scoring = EpochScoring("roc_auc", name="error_free", lower_is_better=False)
    model = _wide(
        max_epochs=40, patience=4, monitor="error_free", callbacks=[scoring]
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    assert len(history) < 40
    assert model.best_epoch_ == history["epoch"][history["error_free"].idxmax()]
    # skorch's order in callbacks_ (the user's last before print_log); the
    # best epoch is tracked after the user's callbacks all the same.
    assert [name for name, _ in model.callbacks_][-2:] == ["EpochScoring", "print_log"]


def test_internal_validation_split_is_reproducible_and_auto_with_patience(cancer):
    X, y = cancer
    model = NNBinaryClassifier(max_epochs=40, patience=3, random_state=0).fit(X, y)
    history = model.history_frame()
    assert "valid_loss" in history and "valid_accuracy" in history
    again = NNBinaryClassifier(max_epochs=40, patience=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        history["valid_loss"], again.history_frame()["valid_loss"]
    )


def test_validation_metrics_and_loss_honour_sample_weight(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    weights = np.where(y_val == 1, 5.0, 0.0)
    model = _wide(max_epochs=3, restore_best_weights=False).fit(
        X_train, y_train, validation_data=(X_val, y_val, weights)
    )
    row = model.history_frame().iloc[-1]
    # Only positive rows weigh: the loss is theirs alone, accuracy is recall.
    pos = y_val == 1
    assert row["valid_loss"] == pytest.approx(
        _bce(model, X_val[pos], y_val[pos]), rel=1e-4
    )
    assert row["valid_accuracy"] == pytest.approx(model.predict(X_val[pos]).mean())
    # The same over several validation batches: the epoch's loss weighs each
    # batch by its total weight, not by its size.
    model = _wide(max_epochs=3, restore_best_weights=False, batch_size=8)
    model.fit(X_train, y_train, validation_data=(X_val, y_val, weights))
    assert model.history_[-1, "valid_loss"] == pytest.approx(
        _bce(model, X_val[pos], y_val[pos]), rel=1e-4
    )


def test_one_forward_pass_over_validation_data_per_epoch(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    calls = []

    class Counting(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            calls.append(self.training)
            return self.linear(X)

    NNBinaryClassifier(
        module=Counting,
        max_epochs=4,
        batch_size=32,
        n_threads=1,  # "auto" would count operations on a dummy sample
        metrics=["accuracy", "roc_auc", "f1", "precision", "recall"],
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    train_batches = -(-len(X_train) // 32)
    valid_batches = -(-len(X_val) // 32)  # skorch's iterator_valid batch size
    assert calls.count(True) == 4 * train_batches
    # One validation pass per epoch, whatever the number of metrics; training
    # metrics come from the training steps' own outputs.
    assert calls.count(False) == 4 * valid_batches


def test_nan_loss_stops_fit_with_a_clear_message(cancer):
    X, y = cancer

    class Breaking(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)
            self.calls = 0

        def forward(self, X):
            self.calls += 1
            out = self.linear(X)
            return out * float("nan") if self.calls > 7 else out

    # n_threads=1: "auto" would count the module's operations on a dummy sample.
    model = NNBinaryClassifier(
        module=Breaking, max_epochs=50, batch_size=100, n_threads=1
    )
    with pytest.raises(TrainingDivergedError) as caught:
        model.fit(X, y)
    message = str(caught.value)
    assert "NaN or infinite at epoch 2, batch 2" in message
    assert "lower learning rate" in message and "gradient_clip" in message
    assert len(model.history_) == 2  # it stopped within the epoch it appeared in


@pytest.mark.parametrize("Estimator", [NNClassifier, NNRegressor])
def test_step_schedule_and_history_learning_rate(iris, Estimator):
    X, y = iris
    model = Estimator(
        lr=0.1,
        max_epochs=6,
        lr_schedule="step",
        lr_schedule__step_size=2,
        lr_schedule__gamma=0.5,
    ).fit(X, y)
    np.testing.assert_allclose(
        model.history_frame()["lr"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_a_schedule_spans_max_epochs_across_partial_fit_calls(iris, schedule):
    X, y = iris
    model = NNClassifier(max_epochs=6, lr_schedule=schedule, random_state=0)
    expected = model.fit(X, y).history_frame()["lr"].to_numpy()
    assert len(set(expected)) > 2  # the schedule moves
    stepwise = clone(model)
    for _ in range(6):  # one epoch per call, e.g. pruned searches
        stepwise.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(stepwise.history_frame()["lr"], expected)


def test_plateau_schedule_lowers_the_rate_when_validation_stalls(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    model = _wide(max_epochs=30, lr_schedule="plateau", lr_schedule__patience=1).fit(
        X_train, y_train, validation_data=(X_val, y_val)
    )
    rates = model.history_frame()["lr"]
    assert rates.iloc[-1] < rates.iloc[0]


def test_gradient_clip_bounds_the_step(cancer):
    X, y = cancer

    def first_step(clip):
        model = NNBinaryClassifier(
            optimizer=torch.optim.SGD,
            lr=1.0,
            batch_size=-1,
            max_epochs=1,
            gradient_clip=clip,
            random_state=0,
            module__hidden_units=(),
        )
        # Same random_state, no epochs: the initial weights of the fit above.
        before = NNBinaryClassifier(
            module__hidden_units=(), max_epochs=0, random_state=0
        ).fit(X, y)
        start = torch.cat([p.flatten() for p in before.module_.parameters()])
        model.fit(X, y)
        end = torch.cat([p.flatten() for p in model.module_.parameters()])
        return float((end - start).detach().norm())

    assert first_step(1e-3) == pytest.approx(1e-3, rel=1e-3)
    assert first_step(None) > 1e-2


def test_a_callbacks_keyboard_interrupt_ends_fit_normally(overfitting):
    # skorch's convention (its EarlyStopping stops this way): no warning.
    X_train, X_val, y_train, y_val = overfitting

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history_) == 12:
                raise KeyboardInterrupt

    model = _wide(callbacks=[Interrupt()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    assert len(history) == 12
    assert _bce(model, X_val, y_val) == pytest.approx(
        history["valid_loss"].min(), rel=1e-4
    )


def test_a_callbacks_interrupt_mid_epoch_leaves_no_half_epoch(overfitting):
    X_train, _, y_train, _ = overfitting

    class InterruptInSecondEpoch(Callback):
        def on_batch_end(self, net, **kwargs):
            if len(net.history_) == 2:
                raise KeyboardInterrupt

    model = _wide(batch_size=16, callbacks=[InterruptInSecondEpoch()])
    model.fit(X_train, y_train)
    assert len(model.history_) == 1 and "train_loss" in model.history_[-1]
    assert model.n_iter_ == len(model.loss_curve_) == 1


def test_partial_fit_refuses_validation_data(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    with pytest.raises(TypeError, match="partial_fit takes no validation_data"):
        _wide().partial_fit(X_train, y_train, validation_data=(X_val, y_val))


@pytest.fixture
def interactive_sigint():
    """Python's own SIGINT handler, as in an interactive session (a process
    started in the background by a shell inherits SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("interactive_sigint")
def test_ctrl_c_keeps_best_weights_closes_history_and_propagates(overfitting):
    X_train, X_val, y_train, y_val = overfitting

    class CtrlC(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if (
                training
                and len(net.history_) == 8
                and len(net.history_[-1]["batches"]) == 2
            ):
                os.kill(os.getpid(), signal.SIGINT)

    model = _wide(callbacks=[CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_train, y_train, validation_data=(X_val, y_val))
    history = model.history_frame()
    assert len(history) == 7  # the interrupted epoch is not kept
    assert not history.isna().any().any()
    assert _bce(model, X_val, y_val) == pytest.approx(
        history["valid_loss"].min(), rel=1e-4
    )


def test_ctrl_c_is_told_apart_under_a_library_s_sigint_handler(overfitting):
    # Libraries (Dask, test runners) wrap SIGINT; a Ctrl-C is still the user's.
    X_train, X_val, y_train, y_val = overfitting

    class CtrlC(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history_) == 3:
                os.kill(os.getpid(), signal.SIGINT)

    def wrapping(signum, frame):
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, wrapping)
    try:
        with pytest.raises(KeyboardInterrupt):
            _wide(callbacks=[CtrlC()]).fit(
                X_train, y_train, validation_data=(X_val, y_val)
            )
        assert signal.getsignal(signal.SIGINT) is wrapping
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("interactive_sigint")
def test_ctrl_c_stops_cross_validation(overfitting):
    X_train, _, y_train, _ = overfitting
    folds = []

    class CtrlC(Callback):
        def on_train_begin(self, net, **kwargs):
            folds.append(1)

        def on_epoch_end(self, net, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        cross_val_score(
            _wide(max_epochs=3, callbacks=[CtrlC()]), X_train, y_train, cv=3
        )
    assert len(folds) == 1


def test_verbose_marks_improvements(overfitting, capsys):
    X_train, X_val, y_train, y_val = overfitting
    _wide(max_epochs=3, verbose=1).fit(X_train, y_train, validation_data=(X_val, y_val))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Epoch 1/3 - loss: ")
    assert "val_loss: " in first and first.split("val_loss: ")[1].split()[1] == "*"
    assert first.endswith("s")


def test_the_stopping_epoch_reaches_every_callback(overfitting, capsys):
    X_train, X_val, y_train, y_val = overfitting
    seen = []

    class Recorder(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append((net.history[-1, "epoch"], net.history[-1, "lr"]))

    model = _wide(
        patience=3, verbose=1, callbacks=[Recorder()], lr_schedule="exponential"
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    epochs = len(model.history_)
    assert epochs < 60
    rates = [1e-2 * 0.95**n for n in range(epochs)]
    assert [epoch for epoch, _ in seen] == list(range(1, epochs + 1))
    assert [rate for _, rate in seen] == pytest.approx(rates)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith(f"Epoch {epochs}/60 - ")


def test_an_undefined_metric_is_nan_with_a_warning(overfitting):
    X_train, X_val, y_train, y_val = overfitting
    one_class = y_val == 1
    with pytest.warns(UserWarning, match="'roc_auc' could not be computed"):
        model = _wide(max_epochs=2, metrics=["roc_auc"]).fit(
            X_train, y_train, validation_data=(X_val[one_class], y_val[one_class])
        )
    assert np.isnan(model.history_[-1, "valid_roc_auc"])


def test_history_frame_columns(cancer):
    X, y = cancer
    model = NNBinaryClassifier(
        max_epochs=2, validation_fraction=0.2, metrics=["roc_auc"]
    ).fit(X, y)
    columns = set(model.history_frame().columns)
    assert {
        "epoch",
        "train_loss",
        "valid_loss",
        "valid_roc_auc",
        "dur",
    } <= columns


def test_a_refit_restarts_the_schedule(iris):
    X, y = iris
    model = NNClassifier(
        lr=0.1,
        max_epochs=4,
        lr_schedule="step",
        lr_schedule__step_size=1,
        lr_schedule__gamma=0.5,
    )
    first = model.fit(X, y).history_frame()["lr"].tolist()
    second = model.fit(X, y).history_frame()["lr"].tolist()
    assert first == second == [0.1, 0.05, 0.025, 0.0125]


def test_checkpoint_dir_alone_holds_out_validation_data(cancer, tmp_path):
    X, y = cancer
    model = NNBinaryClassifier(max_epochs=3, checkpoint_dir=tmp_path).fit(X, y)
    assert "valid_loss" in model.history_frame()
    assert model.checkpoint_path_.startswith(str(tmp_path))


def test_verbose_two_adds_a_batch_progress_bar(iris, capsys):
    X, y = iris
    NNClassifier(max_epochs=2, batch_size=16, verbose=2).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out.count("Epoch ") == 2  # the epoch lines
    assert "Epoch 1/2:" in captured.err and "/10 [" in captured.err  # the bar


def test_scorer_objects_are_recorded_under_their_metric_name(cancer):
    from sklearn.metrics import fbeta_score, make_scorer

    X, y = cancer
    model = NNBinaryClassifier(
        max_epochs=2,
        validation_fraction=0.2,
        metrics=[make_scorer(fbeta_score, beta=2), "roc_auc"],
    ).fit(X, y)
    assert {"valid_fbeta_score", "valid_roc_auc"} <= set(model.history_frame())
