"""A skorch user's workflows, written as skorch's documentation writes them.

Modules that end in softmax, sigmoid or log_softmax; callbacks that need
validation data; skorch's history names and API. Each test is a workflow of
skorch's user guide or notebooks in our own words, on data that ships with
scikit-learn.
"""

import pickle
import warnings

import fit_settings
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from nnestimators import NNBinaryClassifier, NNClassifier
from nnestimators.optimizers import AdamOrSGD

# skorch's defaults, in our parameters (the guide's "one setting back").
SKORCH_SETTINGS = dict(
    optimizer=torch.optim.SGD, lr=0.1, max_epochs=20, batch_size=128, n_threads=1
)
# Four epochs: resumed and partial fits are counted against max_epochs.
FAST = {**fit_settings.FAST, "max_epochs": 4}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0)


class SoftmaxMLP(nn.Module):
    """skorch's notebook module: probabilities out, softmax in forward."""

    def __init__(self, n_features=64, n_classes=10, hidden=100, dropout=0.5):
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_classes)

    def forward(self, X):
        X = self.dropout(F.relu(self.hidden(X)))
        return F.softmax(self.output(X), dim=-1)


class SoftmaxLayerMLP(SoftmaxMLP):
    """The same module with ``nn.Softmax`` as its last layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, X):
        return self.softmax(self.output(self.dropout(F.relu(self.hidden(X)))))


class LogSoftmaxMLP(SoftmaxMLP):
    def forward(self, X):
        X = self.dropout(F.relu(self.hidden(X)))
        return F.log_softmax(self.output(X), dim=-1)


class HandWrittenSoftmaxMLP(SoftmaxMLP):
    """A softmax no graph node names: its values tell."""

    def forward(self, X):
        scores = self.output(self.dropout(F.relu(self.hidden(X))))
        exp = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
        return exp / exp.sum(dim=1, keepdim=True)


class SigmoidNet(nn.Module):
    """skorch's binary module: one probability per sample."""

    def __init__(self, n_features=64, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.output = nn.Linear(hidden, 1)

    def forward(self, X):
        return torch.sigmoid(self.output(F.relu(self.hidden(X)))).squeeze(-1)


def _module_outputs(net, X):
    net.module_.eval()
    with torch.no_grad():
        return net.module_(torch.as_tensor(X)).double().numpy()


def _fit_quietly(net, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return net.fit(X, y)


# -- modules that return probabilities ------------------------------------------


def test_softmax_mlp_on_digits_trains_as_in_skorch(digits):
    X_train, X_test, y_train, y_test = digits
    net = NNClassifier(SoftmaxMLP, random_state=0, **SKORCH_SETTINGS)
    with pytest.warns(UserWarning, match=r"\(softmax\).*criterion=torch.nn.NLLLoss"):
        net.fit(X_train, y_train)
    assert net.module_outputs_ == "probabilities"
    assert net.score(X_test, y_test) >= 0.85  # stock skorch: about 0.96
    proba = net.predict_proba(X_test)
    # The module's own probabilities, unchanged (no second softmax).
    np.testing.assert_allclose(proba, _module_outputs(net, X_test), atol=1e-6)
    assert np.median(proba.max(axis=1)) > 0.8  # confident, not [0.73, 0.27]
    np.testing.assert_array_equal(net.predict(X_test), proba.argmax(axis=1))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 6])
def test_softmax_mlp_with_the_notebooks_own_settings(digits, seed):
    # skorch's MNIST notebook passes only max_epochs=20 and lr=0.1 (SGD's
    # rate): the default optimizer takes them as skorch does.
    X_train, X_test, y_train, y_test = digits
    net = NNClassifier(SoftmaxMLP, max_epochs=20, lr=0.1, random_state=seed)
    with pytest.warns(UserWarning, match=r"probabilities \(softmax\)"):
        net.fit(X_train, y_train)
    assert type(net.optimizer_) is torch.optim.SGD
    assert net.score(X_test, y_test) >= 0.85  # stock skorch: about 0.96


@pytest.mark.slow
def test_softmax_mlp_with_default_settings(digits):
    X_train, X_test, y_train, y_test = digits
    with pytest.warns(UserWarning, match=r"probabilities \(softmax\)"):
        net = NNClassifier(SoftmaxMLP, random_state=0, n_threads=1).fit(
            X_train, y_train
        )
    assert net.score(X_test, y_test) >= 0.85


def test_softmax_in_a_pipeline_spreads_its_probabilities(digits):
    X_train, X_test, y_train, _ = digits
    pipe = make_pipeline(StandardScaler(), NNClassifier(SoftmaxLayerMLP, **FAST))
    with pytest.warns(UserWarning, match=r"probabilities \(softmax\)"):
        pipe.fit(X_train, y_train)
    proba = pipe.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert len(np.unique(proba.max(axis=1).round(3))) > 50  # rows differ


def test_nll_loss_with_softmax_is_skorchs_convention_and_silent(digits):
    X_train, X_test, y_train, y_test = digits
    net = NNClassifier(
        SoftmaxMLP, criterion=torch.nn.NLLLoss, random_state=0, **SKORCH_SETTINGS
    )
    _fit_quietly(net, X_train, y_train)
    assert net.score(X_test, y_test) >= 0.85
    np.testing.assert_allclose(
        net.predict_proba(X_test), _module_outputs(net, X_test), atol=1e-6
    )


@pytest.mark.parametrize("criterion", [torch.nn.NLLLoss, torch.nn.CrossEntropyLoss])
def test_log_softmax_module_trains_with_either_loss(digits, criterion):
    # skorch issue #518: log-probabilities with NLLLoss must not be logged again.
    X_train, X_test, y_train, y_test = digits
    net = NNClassifier(LogSoftmaxMLP, criterion=criterion, **SKORCH_SETTINGS)
    _fit_quietly(net.set_params(random_state=0), X_train, y_train)
    assert net.module_outputs_ == "log_probabilities"
    assert net.score(X_test, y_test) >= 0.85
    np.testing.assert_allclose(
        net.predict_proba(X_test), np.exp(_module_outputs(net, X_test)), atol=1e-6
    )


def test_a_softmax_written_out_is_recognised_by_its_values(digits):
    X_train, X_test, y_train, y_test = digits
    net = NNClassifier(HandWrittenSoftmaxMLP, random_state=0, **SKORCH_SETTINGS)
    with pytest.warns(UserWarning, match="recognised as probabilities by their values"):
        net.fit(X_train, y_train)
    assert net.score(X_test, y_test) >= 0.85


def test_an_explicit_cross_entropy_instance_on_probabilities_is_warned(digits):
    X_train, _, y_train, _ = digits
    net = NNClassifier(SoftmaxMLP, criterion=torch.nn.CrossEntropyLoss(), **FAST)
    with pytest.warns(UserWarning, match=r"applies its own softmax.*NLLLoss"):
        net.fit(X_train, y_train)


def test_nll_loss_on_logits_is_warned(digits):
    X_train, _, y_train, _ = digits
    net = NNClassifier(
        criterion=torch.nn.NLLLoss, callbacks__divergence=None, **FAST
    )  # the default MLP returns logits
    with pytest.warns(UserWarning, match="neither.*CrossEntropyLoss for logits"):
        net.fit(X_train, y_train)


def test_logit_modules_are_trained_as_before_and_silently(digits):
    X_train, _, y_train, _ = digits
    net = _fit_quietly(NNClassifier(**FAST), X_train, y_train)
    assert net.module_outputs_ == "logits"
    assert net.criterion_.reduction == "mean"


def test_sigmoid_binary_module_trains_with_bce_on_probabilities(cancer):
    X, y = cancer
    net = NNBinaryClassifier(
        SigmoidNet, module__n_features=X.shape[1], random_state=0, **SKORCH_SETTINGS
    )
    with pytest.warns(UserWarning, match=r"\(sigmoid\).*criterion=torch.nn.BCELoss"):
        net.fit(X, y)
    assert net.score(X, y) >= 0.9
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], _module_outputs(net, X), atol=1e-6)
    np.testing.assert_allclose(
        net.decision_function(X), np.log(proba[:, 1] / proba[:, 0]), atol=1e-4
    )
    explicit = NNBinaryClassifier(
        SigmoidNet,
        module__n_features=X.shape[1],
        criterion=torch.nn.BCELoss,
        random_state=0,
        **SKORCH_SETTINGS,
    )
    assert _fit_quietly(explicit, X, y).score(X, y) >= 0.9


def test_what_the_module_returns_is_fitted_state(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    net = _fit_quietly(NNClassifier(LogSoftmaxMLP, **FAST), X_train, y_train)
    expected = net.predict_proba(X_test)
    np.testing.assert_allclose(expected.sum(axis=1), 1, atol=1e-6)
    # Pickled.
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(net)).predict_proba(X_test), expected
    )
    # skorch's save_params, then initialize() and load_params(): no fit has
    # seen a batch, yet predict_proba knows what the module returns.
    net.save_params(f_params=tmp_path / "params.pt")
    restored = NNClassifier(LogSoftmaxMLP, classes=np.arange(10)).initialize()
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(restored.predict_proba(X_test), expected, atol=1e-6)
    assert restored.module_outputs_ == "log_probabilities"
    # A refit with another module recognises it anew.
    with pytest.warns(UserWarning, match="trained weights are discarded"):
        net.set_params(module=SoftmaxMLP)
    with pytest.warns(UserWarning, match=r"probabilities \(softmax\)"):
        net.fit(X_train, y_train)
    assert net.module_outputs_ == "probabilities"


def test_a_restored_sigmoid_module_is_read_at_its_first_prediction(cancer, tmp_path):
    X, y = cancer
    settings = dict(module=SigmoidNet, module__n_features=X.shape[1])
    with pytest.warns(UserWarning, match=r"probabilities \(sigmoid\)"):
        net = NNBinaryClassifier(**settings, **FAST).fit(X, y)
    net.save_params(f_params=tmp_path / "params.pt")
    restored = NNBinaryClassifier(**settings, classes=[0, 1]).initialize()
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(
        restored.predict_proba(X), net.predict_proba(X), atol=1e-6
    )
    np.testing.assert_allclose(
        restored.decision_function(X), net.decision_function(X), atol=1e-4
    )
    assert restored.module_outputs_ == "probabilities"


def test_what_the_module_returns_survives_a_checkpoint(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    with pytest.warns(UserWarning):
        net = NNClassifier(
            SoftmaxMLP, checkpoint_dir=tmp_path, validation_fraction=0.2, **FAST
        ).fit(X_train, y_train)
    loaded = NNClassifier.from_checkpoint(net.checkpoint_path_, trusted=[SoftmaxMLP])
    assert loaded.module_outputs_ == "probabilities"
    np.testing.assert_allclose(
        loaded.predict_proba(X_test), net.predict_proba(X_test), atol=1e-6
    )


# -- the criterion and skorch's scoring helpers ----------------------------------


def test_loss_scoring_reads_the_reduction_the_criterion_reports(digits):
    from skorch.scoring import loss_scoring

    X_train, X_test, y_train, y_test = digits
    weights = np.where(y_train == 3, 0.5, 1.0)
    net = NNClassifier(**FAST).fit(X_train, y_train, sample_weight=weights)
    assert net.criterion_.reduction == "mean"  # as skorch builds it
    mean = loss_scoring(net, X_test, y_test)
    logits = torch.as_tensor(_module_outputs(net, X_test))
    expected = F.cross_entropy(logits, torch.as_tensor(y_test)).item()
    assert mean == pytest.approx(expected, rel=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the weights stay: nothing to warn of
        net.set_params(criterion__reduction="none")
    per_sample = loss_scoring(net, X_test, y_test)
    assert per_sample.shape == (len(X_test),)
    assert per_sample.mean() == pytest.approx(expected, rel=1e-4)


# -- callbacks that need validation data ----------------------------------------


@pytest.fixture(scope="module")
def small_digits(digits):
    X_train, _, y_train, _ = digits
    return X_train[:600], y_train[:600]


def _valid_rows(net):
    return sum(b.get("valid_batch_size", 0) for b in net.history_[-1, "batches"])


def test_checkpoint_then_load_init_state_continues_training(small_digits, tmp_path):
    # skorch's save/load guide: train with a Checkpoint, then resume from it.
    from skorch.callbacks import Checkpoint, LoadInitState, TrainEndCheckpoint

    X, y = small_digits
    checkpoint = Checkpoint(dirname=str(tmp_path / "exp1"))
    with pytest.warns(UserWarning, match=r"Checkpoint\(monitor='valid_loss_best'\)"):
        net = NNClassifier(callbacks=[checkpoint], **FAST).fit(X, y)
    assert _valid_rows(net) == 60  # the automatic 10%
    saved_at = max(row["epoch"] for row in net.history_ if row["event_cp"])
    assert (tmp_path / "exp1" / "params.pt").exists()

    train_end = TrainEndCheckpoint(dirname=str(tmp_path / "exp1"))
    callbacks = [checkpoint, train_end, LoadInitState(checkpoint)]
    with pytest.warns(UserWarning, match="needs validation data"):
        resumed = NNClassifier(callbacks=callbacks, **FAST).fit(X, y)
    # The saved epochs come back with the weights; training continues.
    assert len(resumed.history_) == saved_at + FAST["max_epochs"]
    assert (tmp_path / "exp1" / "train_end_params.pt").exists()


def test_train_end_checkpoint_cycle_needs_no_validation(small_digits, tmp_path):
    from skorch.callbacks import LoadInitState, TrainEndCheckpoint

    X, y = small_digits
    train_end = TrainEndCheckpoint(dirname=str(tmp_path))
    callbacks = [train_end, LoadInitState(train_end)]
    first = _fit_quietly(NNClassifier(callbacks=callbacks, **FAST), X, y)
    assert "valid_loss" not in first.history_[-1]
    second = _fit_quietly(NNClassifier(callbacks=callbacks, **FAST), X, y)
    assert len(second.history_) == 2 * FAST["max_epochs"]


def test_reduce_lr_on_plateau_watches_the_validation_loss(small_digits):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    X, y = small_digits
    scheduler = LRScheduler(ReduceLROnPlateau, monitor="valid_loss", factor=0.5)
    with pytest.warns(UserWarning, match=r"LRScheduler\(monitor='valid_loss'\)"):
        net = NNClassifier(callbacks=[scheduler], **FAST).fit(X, y)
    valid_losses = net.history_[:, "valid_loss"]
    assert scheduler.lr_scheduler_.best == pytest.approx(min(valid_losses), rel=1e-3)


def test_epoch_scoring_scores_validation_data_by_default(cancer):
    from skorch.callbacks import EpochScoring

    X, y = cancer
    with pytest.warns(UserWarning, match=r"EpochScoring\('roc_auc', on_train=False\)"):
        net = NNBinaryClassifier(callbacks=[EpochScoring("roc_auc")], **FAST).fit(X, y)
    scores = net.history_[:, "roc_auc"]
    assert len(scores) == FAST["max_epochs"] and min(scores) > 0.8
    trained_on = NNBinaryClassifier(
        callbacks=[EpochScoring("roc_auc", on_train=True)], **FAST
    )
    assert "valid_loss" not in _fit_quietly(trained_on, X, y).history_[-1]


def test_a_users_callback_monitoring_a_valid_key_gets_validation_data(small_digits):
    from skorch.callbacks import Callback, EarlyStopping

    class WatchValidation(Callback):
        def __init__(self, monitor="valid_loss"):
            self.monitor = monitor

        def on_epoch_end(self, net, **kwargs):
            self.seen_ = net.history[-1, self.monitor]

    X, y = small_digits
    watcher = WatchValidation()
    with pytest.warns(UserWarning, match="WatchValidation"):
        NNClassifier(callbacks=[watcher], **FAST).fit(X, y)
    assert np.isfinite(watcher.seen_)
    # callbacks__<name>__monitor counts as it will be set.
    rerouted = NNClassifier(
        callbacks=[EarlyStopping(monitor="train_loss")],
        callbacks__EarlyStopping__monitor="valid_loss",
        **FAST,
    )
    with pytest.warns(UserWarning, match="EarlyStopping"):
        assert _valid_rows(rerouted.fit(X, y)) == 60


def test_a_valid_key_missing_for_want_of_validation_data_says_why(small_digits):
    from skorch.callbacks import Callback

    class ReadsAccuracy(Callback):  # no monitor: nothing says it needs validation
        def on_epoch_end(self, net, **kwargs):
            net.history[-1, "valid_acc"]

    X, y = small_digits
    with pytest.raises(KeyError, match=r"no validation data.*validation_fraction"):
        NNClassifier(callbacks=[ReadsAccuracy()], **FAST).fit(X, y)
    net = NNClassifier(validation_fraction=0.2, **FAST).fit(X, y)
    with pytest.raises(KeyError) as caught:
        net.history_[-1, "valid_f1"]  # not recorded, validation data or not
    assert "no validation data" not in str(caught.value)


# -- skorch's history names ---------------------------------------------------------


def test_valid_acc_is_recorded_as_skorch_names_it(small_digits):
    from skorch.callbacks import Callback

    class AccuracyTweet(Callback):  # skorch's Advanced_Usage callback, in short
        def on_epoch_end(self, net, **kwargs):
            self.last_ = net.history[-1, "valid_acc"]

    X, y = small_digits
    tweet = AccuracyTweet()
    net = NNClassifier(validation_fraction=0.2, callbacks=[tweet], **FAST).fit(X, y)
    assert net.history_[:, "valid_acc"] == net.history_[:, "valid_accuracy"]
    assert tweet.last_ == net.history_[-1, "valid_accuracy"]
    # skorch's flag: a new highest accuracy since the net was initialized.
    accuracy = net.history_[:, "valid_acc"]
    expected = [a > max(accuracy[:i], default=-1) for i, a in enumerate(accuracy)]
    assert net.history_[:, "valid_acc_best"] == expected
    # history_frame() shows it once, under our name.
    assert "valid_acc" not in net.history_frame().columns
    # skorch's way of turning it off; and a monitor may name it.
    quiet = NNClassifier(validation_fraction=0.2, callbacks__valid_acc=None, **FAST)
    assert "valid_acc" not in quiet.fit(X, y).history_[-1]
    best = NNClassifier(validation_fraction=0.2, monitor="valid_acc", **FAST).fit(X, y)
    accuracy = best.history_[:, "valid_acc"]
    assert best.best_epoch_ == 1 + int(np.argmax(accuracy))


# -- the rest of skorch's API -------------------------------------------------------


def test_fit_takes_skorchs_epochs_argument(small_digits):
    X, y = small_digits
    net = NNClassifier(**FAST).fit(X, y, epochs=2)
    assert len(net.history_) == 2
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        NNClassifier(**FAST).fit(X, y, epochs=-1)
    # skorch's fit_loop(epochs=0): the net is built for the data, not trained.
    untrained = NNClassifier(**FAST).partial_fit(X, y, epochs=0)
    assert len(untrained.history_) == 0 and untrained.n_outputs_ == 10
    assert len(NNClassifier(**{**FAST, "max_epochs": 0}).fit(X, y).history_) == 0
    skorchs = NNClassifier(partial_fit_epochs="max_epochs", **{**FAST, "max_epochs": 0})
    assert len(skorchs.partial_fit(X, y).history_) == 0


def test_set_params_refuses_a_callback_the_net_does_not_have():
    net = NNClassifier()
    with pytest.raises(ValueError, match="callback nonexistent which does not exist"):
        net.set_params(callbacks__nonexistent__x=1)
    with pytest.raises(ValueError, match="callback nonexistent which does not exist"):
        net.set_params(callbacks__nonexistent=None)
    # Callbacks the net has, its own and the user's, take their parameters.
    from skorch.callbacks import EarlyStopping

    net.set_params(callbacks__print_log__keys_ignored="dur")
    net.set_params(callbacks=[EarlyStopping()])
    net.set_params(callbacks__EarlyStopping__patience=3)
    assert net.callbacks__EarlyStopping__patience == 3


@pytest.mark.parametrize("as_column", [False, True])
def test_a_one_logit_module_with_bce_in_nnclassifier(cancer, as_column):
    # skorch's way to a binary classifier with NeuralNetClassifier: one output
    # unit and BCEWithLogitsLoss, y as floats (a column in skorch's notebook).
    class OneLogit(nn.Module):
        def __init__(self, n_features=30):
            super().__init__()
            self.linear = nn.Linear(n_features, 1)

        def forward(self, X):
            return self.linear(X)

    X, y = cancer
    y = y.astype(np.float32)
    net = NNClassifier(
        OneLogit,
        criterion=torch.nn.BCEWithLogitsLoss,
        random_state=0,
        **SKORCH_SETTINGS,
    )
    net.fit(X, y.reshape(-1, 1) if as_column else y)
    assert net.n_outputs_ == 1
    np.testing.assert_array_equal(net.classes_, [0.0, 1.0])
    proba = net.predict_proba(X)
    assert proba.shape == (len(X), 2)
    logits = _module_outputs(net, X).reshape(-1)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)), atol=1e-6)
    assert net.score(X, y) >= 0.9


def test_bce_in_nnclassifier_needs_two_classes(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="one logit per sample.*10 classes"):
        NNClassifier(criterion=torch.nn.BCEWithLogitsLoss, **FAST).fit(X_train, y_train)


def test_optimizer_arguments_the_optimizer_does_not_take_fail_before_training(
    small_digits,
):
    X, y = small_digits
    net = NNClassifier(
        optimizer=torch.optim.Adam,
        optimizer__momentum=0.9,
        optimizer__nesterov=True,
        **FAST,
    )
    with pytest.raises(
        ValueError,
        match=r"Invalid parameter 'momentum' for optimizer Adam.*optimizer=torch.optim.SGD",
    ):
        net.fit(X, y)
    assert not hasattr(net, "module_")  # nothing was built
    sgd = net.set_params(optimizer=torch.optim.SGD, lr=0.01)
    assert sgd.fit(X, y).optimizer_.param_groups[0]["nesterov"] is True
    # The default optimizer takes SGD's arguments as a request for SGD.
    default = clone(net).set_params(optimizer=AdamOrSGD).fit(X, y)
    assert default.optimizer_.param_groups[0]["nesterov"] is True


def test_an_sgd_learning_rate_given_to_adam_is_warned(small_digits):
    X, y = small_digits
    with pytest.warns(UserWarning, match=r"lr=0.1 is large for Adam.*torch.optim.SGD"):
        NNClassifier(lr=0.1, optimizer=torch.optim.Adam, **FAST).fit(X, y)
    # The default optimizer takes the rate as SGD's, silently: skorch's way.
    _fit_quietly(NNClassifier(lr=0.1, **FAST), X, y)


# -- SkorchDoctor and partial_fit ---------------------------------------------------


@pytest.mark.parametrize("partial_fit_epochs", [1, "max_epochs", "auto"])
def test_skorch_doctor_records_training(small_digits, partial_fit_epochs):
    from skorch.helper import SkorchDoctor

    X, y = small_digits
    net = NNClassifier(
        SoftmaxMLP,
        criterion=torch.nn.NLLLoss,
        partial_fit_epochs=partial_fit_epochs,
        **{**FAST, "batch_size": 200},
    )
    doctor = SkorchDoctor(net).fit(X, y)
    # The doctor builds the net with initialize(): by default ("auto") its
    # partial_fit then trains max_epochs, as on skorch.
    epochs = 1 if partial_fit_epochs == 1 else FAST["max_epochs"]
    assert len(net.history_) == epochs
    assert doctor.num_steps_ == 3 * epochs  # 600 rows in batches of 200
    gradients = doctor.gradient_recs_["module"]
    assert len(gradients) == 3 * epochs
    assert set(gradients[0]) >= {"hidden.weight", "output.weight"}
    assert all(np.isfinite(g).all() for step in gradients for g in step.values())


def test_initialize_then_partial_fit_trains_max_epochs_as_skorch(small_digits):
    X, y = small_digits
    built = NNClassifier(
        module__n_features=X.shape[1], module__n_outputs=10, **FAST
    ).initialize()
    built.partial_fit(X, y).partial_fit(X, y)
    assert len(built.history_) == 2 * FAST["max_epochs"]
    # A fitted net continues one pass at a time (scikit-learn's convention).
    fitted = NNClassifier(**FAST).fit(X, y)
    fitted.partial_fit(X, y)
    assert len(fitted.history_) == FAST["max_epochs"] + 1
    # from_checkpoint and clone give nets that fit built, not initialize().
    assert "_initialized_by_user" not in vars(clone(built))


def test_partial_fit_epochs_gives_skorchs_partial_fit_back(small_digits):
    X, y = small_digits
    one = NNClassifier(**FAST).partial_fit(X, y)
    assert len(one.history_) == 1
    skorchs = NNClassifier(partial_fit_epochs="max_epochs", **FAST).partial_fit(X, y)
    assert len(skorchs.history_) == FAST["max_epochs"]
    assert len(skorchs.partial_fit(X, y, epochs=2).history_) == FAST["max_epochs"] + 2
    with pytest.raises(ValueError, match="partial_fit_epochs"):
        NNClassifier(partial_fit_epochs=0, **FAST).partial_fit(X, y)


def test_skorchs_valid_acc_callback_takes_its_parameters(small_digits):
    # skorch's callbacks guide renames the accuracy through set_params.
    X, y = small_digits
    net = NNClassifier(**FAST)
    net.set_params(callbacks__valid_acc__name="accuracy of valid set")
    with pytest.warns(UserWarning, match=r"valid_acc\(name\) needs validation data"):
        row = net.fit(X, y).history_[-1]
    assert row["accuracy of valid set"] == row["valid_accuracy"]
    assert "accuracy of valid set_best" in row and "valid_acc" not in row


def test_callbacks_disable_trains_without_any_callback(small_digits):
    X, y = small_digits
    net = NNClassifier(callbacks="disable", **FAST).fit(X, y)
    assert net.callbacks_ == [] and len(net.history_) == FAST["max_epochs"]


def test_too_few_rows_to_hold_out_leave_callbacks_without_validation(
    small_digits, tmp_path
):
    # As under skorch's train_split=None: the scorer records nothing, and a
    # Checkpoint says it needs validation data; nothing fails for the split.
    from skorch.callbacks import Checkpoint, EpochScoring
    from skorch.exceptions import SkorchException

    X, y = small_digits
    X, y = X[:10], np.arange(10) % 2
    scorer = EpochScoring("accuracy", name="valid_score")
    with pytest.warns(UserWarning, match="10 rows are too few to hold out"):
        net = NNClassifier(callbacks=[scorer], **FAST).fit(X, y)
    assert "valid_score" not in net.history_[-1]
    checkpoint = Checkpoint(dirname=str(tmp_path), f_params=None, f_optimizer=None)
    with pytest.raises(SkorchException, match="Make sure you have validation data"):
        NNClassifier(callbacks=[checkpoint], **FAST).fit(X, y)


def test_batch_size_minus_one_is_the_training_split(small_digits):
    from unittest.mock import Mock

    from skorch.dataset import ValidSplit
    from torch.utils.data import DataLoader

    X, y = small_digits
    loader = Mock(side_effect=DataLoader)
    net = NNClassifier(
        max_epochs=1,
        batch_size=-1,
        train_split=ValidSplit(5),
        iterator_train=loader,
        n_threads=1,
    )
    net.fit(X, y)
    assert loader.call_args[1]["batch_size"] == 480  # 600 rows, a fifth held out


@pytest.mark.parametrize("Estimator", [NNClassifier, NNBinaryClassifier])
def test_trimming_for_prediction_keeps_the_predictions(cancer, Estimator):
    # skorch's save/load guide: trim_for_prediction drops the criterion, from
    # which predict_nonlinearity="auto" is read.
    X, y = cancer
    net = Estimator(**FAST).fit(X, y)
    proba = net.predict_proba(X)
    net.trim_for_prediction()
    np.testing.assert_allclose(net.predict_proba(X), proba, atol=1e-12)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=1e-12)


def test_a_list_of_inputs_of_different_widths_names_the_dict(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match=r"arrays of different shapes.*dict of arrays"):
        NNClassifier(**FAST).fit([X[:, :40], X[:, 40:]], y)
