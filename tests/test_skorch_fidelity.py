"""What a skorch user does works on the estimators: extension points, callbacks, API."""

import functools
import warnings
from unittest.mock import Mock

import numpy as np
import pytest
import sklearn
import torch
from fit_settings import FAST
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import (
    BatchScoring,
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    GradientNormClipping,
    LoadInitState,
    LRScheduler,
    PrintLog,
    ProgressBar,
    TrainEndCheckpoint,
)
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import predefined_split
from skorch.toy import make_classifier

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.modules import MLP
from nnestimators.optimizers import AdamOrSGD, optimizer_class


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        n_samples=200, n_features=10, n_informative=6, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=8, noise=5.0, random_state=0)
    return X.astype(np.float32), y * 1000 + 5e4  # far from standard units


# -- skorch's loop and per-batch history ---------------------------------------


def test_history_records_batches_as_skorch_does(classification):
    X, y = classification
    net = NNClassifier(**FAST, validation_fraction=0.2).fit(X, y)
    batches = net.history_[-1, "batches"]
    train = [b for b in batches if "train_loss" in b]
    valid = [b for b in batches if "valid_loss" in b]
    assert len(train) == net.history_[-1, "train_batch_count"] == 5  # 160 rows / 32
    assert sum(b["train_batch_size"] for b in train) == 160
    assert sum(b["valid_batch_size"] for b in valid) == 40
    epoch_loss = np.average(
        [b["train_loss"] for b in train], weights=[b["train_batch_size"] for b in train]
    )
    assert net.history_[-1, "train_loss"] == pytest.approx(epoch_loss)


def test_overridden_steps_are_called(classification):
    X, y = classification
    calls = {"train_step": 0, "train_step_single": 0, "validation_step": 0}

    class Counting(NNClassifier):
        def train_step(self, batch, **fit_params):
            calls["train_step"] += 1
            return super().train_step(batch, **fit_params)

        def train_step_single(self, batch, **fit_params):
            calls["train_step_single"] += 1
            return super().train_step_single(batch, **fit_params)

        def validation_step(self, batch, **fit_params):
            calls["validation_step"] += 1
            return super().validation_step(batch, **fit_params)

    Counting(**FAST, validation_fraction=0.2).fit(X, y)
    assert calls["train_step"] == calls["train_step_single"] == 15
    assert calls["validation_step"] == 6  # 2 validation batches x 3 epochs


def test_gradient_accumulation_recipe_steps_every_second_batch(classification):
    X, y = classification
    steps = []

    class Accumulating(NNClassifier):
        def train_step(self, batch, **fit_params):
            step = self.train_step_single(batch, **fit_params)
            self._count = getattr(self, "_count", 0) + 1
            if self._count % 2 == 0:
                self.optimizer_.step()
                self.optimizer_.zero_grad()
                steps.append(self._count)
            return step

    Accumulating(**FAST).fit(X, y)
    assert len(steps) == 10  # 3 epochs x 7 batches, a step every 2


def test_get_loss_override_with_skorch_signature(classification):
    X, y = classification
    seen = []

    class CustomLoss(NNClassifier):
        def get_loss(self, y_pred, y_true, X=None, training=False):
            seen.append(training)
            return super().get_loss(y_pred, y_true, X=X, training=training)

    CustomLoss(**FAST).fit(X, y, sample_weight=np.linspace(0.5, 2, len(y)))
    assert seen and all(seen)


@pytest.mark.parametrize("as_dataset", [False, True])
def test_evaluation_step_override_drives_prediction(classification, as_dataset):
    X, y = classification

    class Shifted(NNRegressor):
        def evaluation_step(self, batch, training=False):
            return super().evaluation_step(batch, training) * 0

    net = Shifted(**FAST, standardize_target=False).fit(X, y.astype(float))
    assert np.all(net.predict(Dataset(X, None) if as_dataset else X) == 0)


@pytest.mark.parametrize(
    "hook", ["forward_iter", "get_dataset", "get_iterator", "evaluation_step"]
)
def test_prediction_steps_overridden_for_arrays_are_called(classification, hook):
    # skorch predicts through these four; arrays skip them only when nobody
    # replaced one.
    X, y = classification
    calls = []

    def recording(self, *args, **kwargs):
        calls.append(hook)
        return getattr(NNClassifier, hook)(self, *args, **kwargs)

    Recording = type("Recording", (NNClassifier,), {hook: recording})
    net = Recording(**FAST).fit(X, y)
    calls.clear()
    proba = net.predict_proba(X)
    assert calls  # once per call (forward_iter), or per batch
    plain = NNClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(proba, plain.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert (net.predict(X) == plain.predict(X)).all()


def test_forward_iter_patched_on_the_instance_is_used(classification):
    X, y = classification
    net = NNClassifier(**FAST, predict_nonlinearity=None).fit(X, y)
    logits = np.array([[0.0, 1.0], [2.0, 0.5]], dtype=np.float32)
    net.forward_iter = lambda *args, **kwargs: (torch.as_tensor(logits) for _ in "ab")
    np.testing.assert_array_equal(net.predict_proba(X), np.vstack([logits, logits]))


# -- skorch's callbacks -------------------------------------------------------


def test_epoch_and_batch_scoring_see_user_labels(classification):
    X, y = classification
    labels = np.array([1, 2])[y]
    net = NNClassifier(
        **FAST,
        validation_fraction=0.25,
        callbacks=[
            EpochScoring("accuracy", name="skorch_acc", lower_is_better=False),
            BatchScoring("accuracy", name="batch_acc", lower_is_better=False),
        ],
    ).fit(X, labels)
    row = net.history_[-1]
    assert row["skorch_acc"] == pytest.approx(row["valid_accuracy"])
    assert 0.0 <= row["batch_acc"] <= 1.0


def test_epoch_scoring_with_string_labels(classification):
    X, y = classification
    labels = np.array(["no", "yes"])[y]
    net = NNClassifier(
        **FAST,
        validation_fraction=0.25,
        callbacks=[EpochScoring("accuracy", name="acc", lower_is_better=False)],
    ).fit(X, labels)
    assert net.history_[-1, "acc"] == pytest.approx(net.history_[-1, "valid_accuracy"])


def test_epoch_scoring_on_regressor_in_units_of_y(regression):
    X, y = regression
    net = NNRegressor(
        **FAST,
        validation_fraction=0.25,
        metrics=["r2"],
        callbacks=[EpochScoring("r2", name="skorch_r2", lower_is_better=False)],
    ).fit(X, y)
    assert net.history_[-1, "skorch_r2"] == pytest.approx(
        net.history_[-1, "valid_r2"], abs=1e-5
    )


def test_checkpoint_and_load_init_state_resume(tmp_path, classification):
    X, y = classification
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")
    net = NNClassifier(**FAST, validation_fraction=0.2, callbacks=[checkpoint]).fit(
        X, y
    )
    assert (tmp_path / "params.pt").exists()
    resumed = NNClassifier(
        **FAST,
        validation_fraction=0.2,
        callbacks=[LoadInitState(Checkpoint(dirname=str(tmp_path)))],
    ).fit(X, y)
    assert len(resumed.history_) > len(net.history_) - 1  # continued history


def test_train_end_checkpoint(tmp_path, classification):
    X, y = classification
    NNClassifier(**FAST, callbacks=[TrainEndCheckpoint(dirname=str(tmp_path))]).fit(
        X, y
    )
    assert (tmp_path / "train_end_params.pt").exists()


def _first_epoch_is_best(net, X, y):
    return -len(net.history)  # any score whose best epoch is not valid_loss's


def _same_weights(net, path):
    saved = torch.load(path, weights_only=True)
    return all(torch.equal(saved[k], v) for k, v in net.module_.state_dict().items())


def test_train_end_checkpoint_saves_the_weights_fit_leaves(tmp_path, classification):
    # The best valid_loss weights come back before the user's on_train_end,
    # so what TrainEndCheckpoint saves is the fitted net.
    X, y = classification
    net = NNClassifier(
        **{**FAST, "max_epochs": 12, "lr": 0.05},
        validation_fraction=0.3,
        callbacks=[TrainEndCheckpoint(dirname=str(tmp_path))],
    ).fit(X, y)
    assert net.best_epoch_ < len(net.history_)  # a restore happened
    assert _same_weights(net, tmp_path / "train_end_params.pt")


def test_checkpoint_load_best_wins_over_the_default_restore(tmp_path, classification):
    X, y = classification
    net = NNClassifier(
        **{**FAST, "max_epochs": 4},
        validation_fraction=0.3,
        callbacks=[
            EpochScoring(_first_epoch_is_best, name="score", lower_is_better=False),
            Checkpoint(
                dirname=str(tmp_path),
                monitor="score_best",
                load_best=True,
                f_history=None,  # else loading it also rewinds the history
            ),
        ],
    ).fit(X, y)
    assert net.history_[:, "event_cp"] == [True, False, False, False]
    assert _same_weights(net, tmp_path / "params.pt")


@pytest.mark.parametrize("load_best", [True, False])
def test_skorch_early_stopping_stops_quietly_and_honours_load_best(
    classification, load_best
):
    X, y = classification
    stopper = EarlyStopping(patience=1, threshold=10.0, load_best=load_best)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = NNClassifier(
            **{**FAST, "max_epochs": 20}, validation_fraction=0.2, callbacks=[stopper]
        ).fit(X, y)
    assert len(net.history_) < 20
    # skorch's EarlyStopping owns restoring: ours stands aside.
    assert dict(net.callbacks_)["best_model"].restore_best_weights is False
    assert stopper.load_best is load_best


def test_lr_scheduler_gradient_clipping_progress_and_print_log(classification, capsys):
    X, y = classification
    net = NNClassifier(
        **{**FAST, "batch_size": "auto"},
        validation_fraction=0.2,
        verbose=1,
        callbacks=[
            LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5),
            GradientNormClipping(gradient_clip_value=0.1),
            ProgressBar(),
            PrintLog(),
        ],
    ).fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 / 8)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_loss" in out  # PrintLog's table
    assert "Epoch 1/3" not in out  # replaces the Keras-style line


def test_callbacks_get_train_begin_with_data_and_mocks_are_called(classification):
    X, y = classification
    mock = Mock(spec=Callback)
    NNClassifier(**FAST, callbacks=[mock]).fit(X, y)
    _, kwargs = mock.on_train_begin.call_args
    assert kwargs["X"] is X and kwargs["y"] is y
    assert mock.on_batch_end.call_count == 21  # 3 epochs x 7 batches
    assert mock.on_epoch_end.call_count == 3


def test_training_control_is_made_of_named_callbacks(classification):
    X, y = classification
    net = NNClassifier(
        **{**FAST, "max_epochs": 30},
        patience=2,
        validation_fraction=0.2,
        callbacks__best_model__patience=1,
        callbacks__best_model__min_delta=10.0,
    ).fit(X, y)
    names = dict(net.callbacks_)
    assert {"metrics", "best_model", "divergence", "lr_schedule"} <= set(names)
    assert names["best_model"].patience == 1
    assert len(net.history_) == 2  # stopped by the tuned callback


# -- skorch's API ------------------------------------------------------------


def test_initialize_then_load_params_restores(tmp_path, classification):
    X, y = classification
    net = NNClassifier(**FAST, module__n_features=10, module__n_outputs=2).fit(X, y)
    net.save_params(f_params=tmp_path / "p.pt")
    fresh = NNClassifier(**FAST, module__n_features=10, module__n_outputs=2)
    fresh.initialize()
    fresh.load_params(f_params=tmp_path / "p.pt")
    assert np.allclose(fresh.predict_proba(X), net.predict_proba(X), atol=1e-6)


def test_initialize_without_shapes_says_what_to_pass():
    with pytest.raises(TypeError, match="module__"):
        NNClassifier().initialize()


def test_modules_from_partials_and_factories(classification):
    X, y = classification
    factory = make_classifier(input_units=10, output_units=2, hidden_units=8)
    # Trained enough to beat chance clearly (0.84 to 0.89 over 20 seeds); three
    # epochs at lr=1e-3 scored 0.39 to 0.66, about chance.
    trained = {**FAST, "max_epochs": 10, "lr": 1e-2}
    net = NNClassifier(factory, criterion=torch.nn.NLLLoss, **trained).fit(X, y)
    assert net.score(X, y) > 0.5
    partial = functools.partial(MLP, hidden_units=(8,))
    assert NNClassifier(partial, **FAST).fit(X, y).module_.layers[0].out_features == 8


def test_plain_function_criterion_and_lbfgs(regression):
    X, y = regression

    def mse(y_pred, y_true):
        return ((y_pred - y_true) ** 2).mean()

    # Full-batch LBFGS with its strong-Wolfe line search decreases the loss at
    # every step whatever the processor's rounding; a fixed step (lr=0.1 on
    # minibatches) sat on the edge of divergence and failed on some CPUs.
    net = NNRegressor(
        criterion=mse,
        optimizer=torch.optim.LBFGS,
        lr=1.0,
        optimizer__line_search_fn="strong_wolfe",
        **{**FAST, "batch_size": -1},
    ).fit(X, y)
    losses = net.history_[:, "train_loss"]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert net.score(X, y) > 0.9


def test_dict_inputs_reach_forward_as_keywords(classification):
    X, y = classification

    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(6, 2)
            self.b = torch.nn.Linear(4, 2)

        def forward(self, left, right):
            return self.a(left) + self.b(right)

    inputs = {"left": X[:, :6], "right": X[:, 6:]}
    net = NNClassifier(TwoInputs, **FAST).fit(inputs, y)
    assert net.predict(inputs).shape == y.shape


def test_predefined_split_is_encoded_like_validation_data(regression):
    X, y = regression
    valid = Dataset(X[150:], y[150:])
    split = NNRegressor(**FAST, train_split=predefined_split(valid)).fit(
        X[:150], y[:150]
    )
    given = NNRegressor(**FAST).fit(
        X[:150], y[:150], validation_data=(X[150:], y[150:])
    )
    assert split.history_[-1, "valid_loss"] == pytest.approx(
        given.history_[-1, "valid_loss"], rel=1e-5
    )
    assert split.history_[-1, "valid_loss"] < 10


def test_valid_split_of_skorch(classification):
    X, y = classification
    labels = np.array(["no", "yes"])[y]
    net = NNClassifier(**FAST, train_split=ValidSplit(5, stratified=True)).fit(
        X, labels
    )
    valid = [
        b["valid_batch_size"] for b in net.history_[-1, "batches"] if "valid_loss" in b
    ]
    assert sum(valid) == 40
    assert "valid_accuracy" in net.history_[-1]


def test_iterator_parameters_are_honoured(classification):
    X, y = classification
    net = NNClassifier(**FAST, iterator_train__batch_size=50).fit(X, y)
    assert net.history_[-1, "train_batch_count"] == 4
    seen = []

    class Order(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training:
                seen.append(batch[0][0, 0].item())

    NNClassifier(
        **{**FAST, "max_epochs": 2},
        iterator_train__shuffle=False,
        callbacks=[Order()],
    ).fit(X, y)
    assert seen[0] == seen[len(seen) // 2] == pytest.approx(X[0, 0])


def test_partial_fit_epochs(classification):
    X, y = classification
    net = NNClassifier(**FAST).partial_fit(X, y, epochs=3)
    assert len(net.history_) == 3
    net.partial_fit(X, y)
    assert len(net.history_) == 4


def test_skorch_style_subclass_keeps_parameters_through_clone(classification):
    X, y = classification

    class Regularized(NNClassifier):
        def __init__(self, *args, lambda1=0.01, **kwargs):
            super().__init__(*args, **kwargs)
            self.lambda1 = lambda1

    net = Regularized(MLP, lr=0.05, max_epochs=2, module__hidden_units=(7,))
    copy = clone(net)
    assert copy.lr == 0.05 and copy.max_epochs == 2 and copy.module is MLP
    assert copy.get_params()["module__hidden_units"] == (7,)
    search = GridSearchCV(copy, {"lambda1": [0.1, 0.2]}, cv=2).fit(X, y)
    assert search.best_estimator_.module_.layers[0].out_features == 7


def test_binary_classifier_returns_labels_and_runs_skorch_scoring(classification):
    X, y = classification
    net = NNBinaryClassifier(
        **FAST,
        validation_fraction=0.25,
        callbacks=[EpochScoring("f1", name="f1_cb", lower_is_better=False)],
    ).fit(X, y)
    assert set(net.predict(X)) <= {0, 1}
    assert 0 <= net.history_[-1, "f1_cb"] <= 1


# -- differences kept on purpose (docs/guide/coming-from-skorch.md) ------------


def test_fit_uses_every_row_by_default(classification):
    X, y = classification
    net = NNClassifier(**FAST).fit(X, y)
    assert "valid_loss" not in net.history_[-1]
    assert sum(b["train_batch_size"] for b in net.history_[-1, "batches"]) == len(X)


def test_default_optimizer_is_adam_at_1e_3():
    net = NNClassifier()
    assert net.optimizer is AdamOrSGD and net.lr == 1e-3
    assert optimizer_class(net) is torch.optim.Adam


@pytest.mark.parametrize(
    ("params", "chosen"),
    [
        ({"lr": 0.1}, torch.optim.SGD),  # skorch's notebooks' rate
        ({"optimizer__lr": 0.05}, torch.optim.SGD),
        ({"lr": 0.01}, torch.optim.Adam),
        ({"optimizer__momentum": 0.9}, torch.optim.SGD),
        (
            {"lr": 1e-3, "optimizer__nesterov": True, "optimizer__momentum": 0.9},
            torch.optim.SGD,
        ),
        ({"lr": 0.1, "optimizer__betas": (0.9, 0.99)}, torch.optim.Adam),
        ({"lr": 0.1, "optimizer": torch.optim.Adam}, torch.optim.Adam),
    ],
)
def test_default_optimizer_builds_sgd_for_sgd_arguments(classification, params, chosen):
    X, y = classification
    net = NNClassifier(**{**FAST, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # explicit Adam at 0.1
        net.fit(X, y)
    assert type(net.optimizer_) is chosen
    assert net.get_params()["optimizer"] is params.get("optimizer", AdamOrSGD)


@pytest.mark.parametrize(
    ("params", "batch_size"),
    [
        ({"lr": 0.1}, 128),  # SGD at skorch's rate: skorch's batches
        ({"lr": 0.1, "optimizer": torch.optim.SGD}, 128),
        ({"lr": 0.01, "optimizer": torch.optim.SGD}, 32),
        ({"lr": 1e-3}, 32),  # Adam: n // 100, at least 32
        ({"lr": 0.1, "batch_size": 50}, 50),
    ],
)
def test_auto_batch_size_is_skorchs_for_sgd_at_sgd_rates(params, batch_size):
    X, y = make_classification(600, 10, random_state=0)
    net = NNClassifier(**{**FAST, "batch_size": "auto", **params}).fit(X, y)
    sizes = {b["train_batch_size"] for b in net.history_[-1, "batches"][:-1]}
    assert sizes == {batch_size}


def test_a_subclass_building_its_optimizer_as_skorch_documents_it(classification):
    X, y = classification

    class OwnOptimizer(NNClassifier):
        def initialize_optimizer(self, *args, **kwargs):
            named = self.module_.named_parameters()
            args, kwargs = self.get_params_for_optimizer("optimizer", named)
            self.optimizer_ = self.optimizer(*args, **kwargs)
            return self

    net = OwnOptimizer(**{**FAST, "lr": 0.1}).fit(X, y)
    assert type(net.optimizer_) is torch.optim.SGD
    assert net.optimizer_.param_groups[0]["lr"] == 0.1


def test_sample_weight_with_a_custom_iterator_is_refused(classification):
    X, y = classification
    net = NNClassifier(**FAST, iterator_train__num_workers=0)
    with pytest.raises(ValueError, match="need the built-in batching"):
        net.fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))


# -- components and state as skorch users name and pass them -------------------


def test_subclass_with_own_module_and_criterion_names(classification):
    X, y = classification

    class TwoPart(NNClassifier):
        def initialize_module(self):
            self.encoder_ = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.ReLU())
            self.head_ = torch.nn.Linear(8, 2)
            return self

        def initialize_criterion(self):
            self.xent_ = torch.nn.CrossEntropyLoss()
            return self

        def infer(self, x, **fit_params):
            return self.head_(self.encoder_(x.to(self.device_)))

        def get_loss(self, y_pred, y_true, X=None, training=False):
            return self.xent_(y_pred, y_true.to(self.device_))

    net = TwoPart(**{**FAST, "max_epochs": 20}, lr=0.01).fit(X, y)
    assert not hasattr(net, "module_")
    assert {"encoder", "head"} <= set(net._modules)
    losses = net.history_[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]  # both parts are trained
    assert net.score(X, y) > 0.8


def test_history_given_as_a_parameter_is_the_one_recorded(classification):
    from skorch.history import History

    class MyHistory(History):
        pass

    mine = MyHistory()
    net = NNClassifier(**FAST, history=mine).fit(*classification)
    assert net.history_ is mine and len(mine) == 3


def test_warm_start_after_initialize_keeps_the_initial_weights(classification):
    # skorch: fit on an initialized warm_start net continues from its weights,
    # so a zero gradient clip changes nothing.
    X, y = classification
    net = NNClassifier(
        make_classifier(input_units=10, output_units=2),
        criterion=torch.nn.NLLLoss,
        callbacks=[("clip", GradientNormClipping(0))],
        warm_start=True,
        **FAST,
    ).initialize()
    before = [p.detach().clone() for p in net.module_.parameters()]
    net.fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(before, net.module_.parameters()))


def test_custom_dataset_class_gets_its_arguments(classification):
    seen = []

    class Tagged(Dataset):
        def __init__(self, *args, tag, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(tag)

    net = NNClassifier(**FAST, dataset=Tagged, dataset__tag=7).fit(*classification)
    assert seen == [7] and net.score(*classification) > 0.5
    given = NNClassifier(**FAST, dataset=Dataset(*classification), dataset__tag=1)
    with pytest.raises(TypeError, match="Trying to pass an initialized Dataset"):
        given.fit(*classification)


def test_dataset_yielding_one_value_gets_skorchs_message():
    class Flat(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return 0.0

    with pytest.raises(ValueError, match="returns 1 value"):
        NNClassifier(**FAST).fit(Flat(), None)


def test_pickling_after_callbacks_were_swapped_out(classification):
    import pickle

    net = NNClassifier(**FAST, callbacks=[("mock", Mock(spec=Callback))])
    net.fit(*classification)
    net.callbacks = []  # skorch's recipe for a net whose callback cannot pickle
    net.callbacks_ = [(n, cb) for n, cb in net.callbacks_ if n != "mock"]
    loaded = pickle.loads(pickle.dumps(net))
    assert np.array_equal(
        loaded.predict(classification[0]), net.predict(classification[0])
    )


def test_parameters_of_a_removed_callback_are_refused():
    net = NNClassifier(callbacks__print_log=None)
    with pytest.raises(ValueError, match="callback print_log which does not exist"):
        net.set_params(callbacks__print_log__sink=print)


def test_load_params_needs_an_initialized_net(tmp_path, classification):
    from skorch.exceptions import NotInitializedError

    net = NNClassifier(**FAST).fit(*classification)
    net.save_params(f_params=tmp_path / "p.pt")
    with pytest.raises(NotInitializedError, match="initialize"):
        NNClassifier(**FAST).load_params(f_params=tmp_path / "p.pt")


def test_regressor_applies_predict_nonlinearity(regression):
    X, y = regression
    y = (y - y.mean()) / y.std()  # unit scale: outputs are not standardised
    net = NNRegressor(**FAST).fit(X, y)
    raw = net.predict(X)
    shifted = clone(net).set_params(predict_nonlinearity=lambda t: t + 100.0)
    assert np.allclose(shifted.fit(X, y).predict(X), raw + 100.0, atol=1e-4)
    with pytest.raises(TypeError, match="predict_nonlinearity has to be"):
        net.set_params(predict_nonlinearity=123).predict(X)


def test_overrides_reading_self_device_get_a_torch_device(classification):
    from skorch.utils import to_tensor

    seen = []

    class Mine(NNClassifier):
        def infer(self, x, **fit_params):
            seen.append(self.device)
            assert self.get_params()["device"] == "auto"  # clone sees the parameter
            return self.module_(to_tensor(x, device=self.device), **fit_params)

    net = Mine(**FAST).fit(*classification)
    net.predict(classification[0])
    assert set(seen) == {net.device_} and net.device == "auto"
    assert net.get_params()["device"] == "auto"


def test_subclass_with_its_own_optimizers(classification):
    # skorch's pattern: initialize_optimizer builds several optimizers and
    # knows nothing of the estimator's own attributes.
    class TwoOptimizers(NNClassifier):
        def initialize_module(self):
            super().initialize_module()
            self.extra_ = torch.nn.Linear(10, 2)
            return self

        def initialize_optimizer(self):
            self.optimizer_ = torch.optim.SGD(self.module_.parameters(), lr=0.1)
            self.optimizer2_ = torch.optim.SGD(self.extra_.parameters(), lr=0.1)
            return self

        def infer(self, x, **fit_params):
            return self.module_(x) + self.extra_(x)

    class Snapshot(Callback):
        def on_train_begin(self, net, **kwargs):
            self.before = net.extra_.weight.detach().clone()

    snapshot = Snapshot()
    net = TwoOptimizers(**FAST, lr_schedule="step", callbacks=[snapshot])
    net.fit(*classification)
    assert net.lr_scheduler_.optimizer is net.optimizer_
    assert not torch.equal(snapshot.before, net.extra_.weight)  # both optimizers step


def test_custom_dataset_is_used_for_prediction_too(classification):
    X, y = classification

    class Doubling(Dataset):
        def __getitem__(self, i):
            Xi, yi = super().__getitem__(i)
            return Xi * 2, yi

    net = NNClassifier(**FAST, dataset=Doubling).fit(X, y)
    plain = NNClassifier(**FAST).fit(2 * X, y)  # same seed, weights and order
    assert np.allclose(net.predict_proba(X), plain.predict_proba(2 * X), atol=1e-5)


class _RecordingForward(torch.nn.Module):
    """Records the keyword arguments its forward receives."""

    def __init__(self, n_features=10, n_outputs=2):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)
        self.seen = []

    def forward(self, X, **kwargs):
        self.seen.append(kwargs)
        return self.linear(X)


def test_partial_fit_routes_metadata_it_requested(classification):
    X, y = classification
    with sklearn.config_context(enable_metadata_routing=True):
        net = NNClassifier(_RecordingForward, batch_size=50, random_state=0)
        net.set_partial_fit_request(foo=True)
        net.partial_fit(X[:100], y[:100], foo=1)
        assert net.module_.seen == [{"foo": 1}, {"foo": 1}]
        # Requested for partial_fit only: fit refuses it, as in skorch.
        with pytest.raises(TypeError, match="unexpected argument"):
            clone(net).fit(X[:100], y[:100], foo=1)


def test_unrequested_metadata_fails_before_the_data_is_read():
    # One class and a 1-d X would fail validation; the routing error comes first.
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(TypeError, match=r"unexpected argument.*\{'unknown'\}"):
            NNClassifier(max_epochs=1).fit(np.zeros(10), np.zeros(10), unknown=1)


def test_a_module_instance_is_where_every_fit_starts(classification):
    X, y = classification
    trained = NNClassifier(max_epochs=30, random_state=0).fit(X, y)
    pretrained = trained.module_
    weights = {k: v.clone() for k, v in pretrained.state_dict().items()}
    net = NNClassifier(module=pretrained, max_epochs=1, lr=1e-7, random_state=1)
    net.initialize()
    assert net.module_ is not pretrained
    for name, value in net.module_.state_dict().items():
        assert torch.equal(value, weights[name])
    # Fine-tuning at a tiny rate keeps what the pretrained network learned.
    first = net.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(first, trained.predict_proba(X), atol=1e-4)
    # The instance is never trained, so a refit starts from the same weights.
    for name, value in pretrained.state_dict().items():
        assert torch.equal(value, weights[name])
    np.testing.assert_array_equal(net.fit(X, y).predict_proba(X), first)


def test_weights_with_a_criterion_returning_one_loss_fail_clearly(classification):
    X, y = classification

    def mean_cross_entropy(y_pred, y_true):
        return torch.nn.functional.cross_entropy(y_pred, y_true)

    model = NNClassifier(criterion=mean_cross_entropy, max_epochs=1, random_state=0)
    model.fit(X, y)  # no weights: the function's mean is the loss
    with pytest.raises(ValueError, match="weights cannot apply"):
        model.fit(X, y, sample_weight=np.linspace(0, 1, len(y)))


def test_skorchs_sample_weight_recipe_gets_per_sample_losses(classification):
    X, y = classification
    shapes = []

    class Weighted(NNClassifier):
        def get_loss(self, y_pred, y_true, X=None, training=False):
            losses = super().get_loss(y_pred, y_true, X=X, training=training)
            shapes.append(tuple(losses.shape))
            return (losses * 2.0).mean()

    Weighted(criterion__reduction="none", batch_size=50, max_epochs=1).fit(X, y)
    assert shapes[:4] == [(50,)] * 4


def test_state_a_subclass_keeps_while_training_is_not_a_parameter(classification):
    X, y = classification

    class Counting(NNClassifier):
        def __init__(self, *args, lambda1=0.01, **kwargs):
            super().__init__(*args, **kwargs)
            self.lambda1 = lambda1

        def on_epoch_end(self, net, **kwargs):
            self.epochs_seen = getattr(self, "epochs_seen", 0) + 1

    fitted = Counting(lambda1=0.5, **FAST).fit(X, y)
    assert fitted.epochs_seen == FAST["max_epochs"]
    params = fitted.get_params()
    assert "epochs_seen" not in params and params["lambda1"] == 0.5
    assert clone(fitted).fit(X, y).lambda1 == 0.5


def test_skorchs_early_stopping_on_valid_loss_gets_validation_data(classification):
    X, y = classification
    net = NNClassifier(callbacks=[EarlyStopping(patience=2)], max_epochs=40)
    net.fit(X, y)  # skorch's default monitor: valid_loss
    assert "valid_loss" in net.history_[-1]
    batches = net.history_[-1, "batches"]
    assert sum(batch.get("valid_batch_size", 0) for batch in batches) == 20  # 10%
    train_only = NNClassifier(callbacks=[EarlyStopping(monitor="train_loss")])
    assert (
        "valid_loss" not in train_only.set_params(max_epochs=2).fit(X, y).history_[-1]
    )


def test_a_second_optimizer_of_a_subclass_takes_its_parameters(classification):
    X, y = classification

    class TwoOptimizers(NNClassifier):
        def initialize_optimizer(self, *args, **kwargs):
            layers = self.module_.layers
            first, second = layers[0].named_parameters(), layers[-1].named_parameters()
            args, kwargs = self.get_params_for_optimizer("optimizer", first)
            self.optimizer_ = self.optimizer(*args, **kwargs)
            args, kwargs = self.get_params_for_optimizer("optimizer2", second)
            self.optimizer2_ = torch.optim.SGD(*args, **kwargs)
            return self

    net = TwoOptimizers(optimizer2__lr=0.05, **FAST)
    net.set_params(module__n_features=10, module__n_outputs=2).initialize()
    before = net.module_.layers[-1].weight.detach().clone()
    net.partial_fit(X, y)
    assert net.optimizer2_.param_groups[0]["lr"] == 0.05
    assert not torch.equal(net.module_.layers[-1].weight, before)  # it steps too


def test_slice_datasets_work_for_fit_predict_and_cross_validation(classification):
    from sklearn.model_selection import cross_val_score
    from skorch.helper import SliceDataset

    X, y = classification
    pairs = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    X_slices, y_slices = SliceDataset(pairs, idx=0), SliceDataset(pairs, idx=1)
    net = NNClassifier(**FAST).fit(X_slices, y_slices)
    np.testing.assert_array_equal(net.predict(X_slices), net.predict(X))
    scores = cross_val_score(NNClassifier(**FAST), X_slices, y_slices, cv=2)
    assert np.all(np.isfinite(scores))


def test_skorchs_checkpoint_with_validation_refused_still_says_so(
    classification, tmp_path
):
    # Checkpoint gets the automatic 10% (tests/test_skorch_workflows.py);
    # with validation_fraction=0 there is none, and skorch's message says so.
    X, y = classification
    from skorch.exceptions import SkorchException

    match = (
        "Key 'valid_loss_best' was not found in history. Make sure you have "
        "validation data"
    )
    with pytest.raises(SkorchException, match=match):
        NNClassifier(
            callbacks=[Checkpoint(dirname=str(tmp_path))],
            validation_fraction=0,
            **FAST,
        ).fit(X, y)


def test_submodules_left_in_eval_mode_train_as_in_skorch(classification):
    # skorch puts every submodule in train mode for the training steps.
    X, y = classification
    modes = []

    class PartlyEval(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.hidden = torch.nn.Linear(n_features, 8)
            self.dropout = torch.nn.Dropout(0.5)
            self.dropout.eval()  # e.g. a pretrained part left in eval mode
            self.out = torch.nn.Linear(8, n_outputs)

        def forward(self, X):
            if torch.is_grad_enabled():
                modes.append(self.dropout.training)
            return self.out(self.dropout(torch.relu(self.hidden(X))))

    NNClassifier(PartlyEval, **FAST).fit(X, y)
    assert modes and all(modes)


class _Logits(torch.nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.linear(X)


@pytest.mark.parametrize(
    "criterion_args",
    [{"weight": torch.tensor([1.0, 10.0, 100.0])}, {"ignore_index": 0}],
    ids=["weight", "ignore_index"],
)
def test_class_weighted_criterion_loss_is_torchs_mean(criterion_args):
    # skorch's class-imbalance recipe (criterion__weight) and ignore_index:
    # the recorded loss is what torch's criterion with reduction="mean" gives.
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    X = X.astype(np.float32)
    net = NNClassifier(
        _Logits,
        criterion=torch.nn.CrossEntropyLoss,
        **{f"criterion__{k}": v for k, v in criterion_args.items()},
        lr=0.0,
        max_epochs=1,
        batch_size=-1,
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    with torch.no_grad():
        logits = net.module_(torch.as_tensor(X))
    expected = torch.nn.CrossEntropyLoss(**criterion_args)(logits, torch.as_tensor(y))
    assert net.history_[-1, "train_loss"] == pytest.approx(expected.item(), rel=1e-5)


def test_ignore_index_targets_from_a_torch_dataset_are_not_counted():
    # Sequence tagging with padding labels -100, batches from a torch Dataset.
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(32, 7, 5).astype(np.float32))
    y = torch.as_tensor(rng.randint(0, 4, size=(32, 7)))
    y[:, 4:] = -100

    class Tagger(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(5, 4)

        def forward(self, X):
            return self.linear(X).transpose(1, 2)  # (N, C, T)

    net = NNClassifier(
        Tagger,
        criterion=torch.nn.CrossEntropyLoss,
        lr=0.0,
        max_epochs=1,
        batch_size=32,
        classes=[0, 1, 2, 3],
        random_state=0,
    ).fit(torch.utils.data.TensorDataset(X, y), None)
    with torch.no_grad():
        expected = torch.nn.CrossEntropyLoss()(net.module_(X), y)
    assert net.history_[-1, "train_loss"] == pytest.approx(expected.item(), rel=1e-5)


def test_torch_manual_seed_repeats_a_fit_without_random_state(classification):
    # skorch's way to a repeatable fit; random_state=None draws from torch.
    X, y = classification
    settings = dict(max_epochs=2, batch_size=32, validation_fraction=0.2, n_threads=1)
    torch.manual_seed(0)
    first = NNClassifier(**settings).fit(X, y).predict_proba(X)
    torch.manual_seed(0)
    second = NNClassifier(**settings).fit(X, y).predict_proba(X)
    torch.manual_seed(1)
    other = NNClassifier(**settings).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_sparse_embeddings_train_with_sgd():
    # Fused and foreach kernels refuse sparse gradients: plain SGD then.
    rng = np.random.RandomState(0)
    X = {"user": rng.randint(0, 40, 200), "item": rng.randint(0, 30, 200)}
    y = rng.rand(200).astype(np.float32)

    class Factorization(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.users = torch.nn.Embedding(40, 4, sparse=True)
            self.items = torch.nn.Embedding(30, 4, sparse=True)

        def forward(self, user, item):
            return (self.users(user) * self.items(item)).sum(1)

    net = NNRegressor(Factorization, optimizer=torch.optim.SGD, lr=0.1, **FAST).fit(
        X, y
    )
    assert np.isfinite(net.history_[:, "train_loss"]).all()
    assert net.predict(X).shape == (200,)


def test_get_iterator_override_reads_the_batch_size_in_use(classification):
    # Where skorch's get_iterator reads it; "auto" is resolved during a fit.
    X, y = classification
    seen = []

    class OwnLoader(NNClassifier):
        def get_iterator(self, dataset, training=False):
            if not training:
                return super().get_iterator(dataset, training)
            size = self.get_params_for("iterator_train")["batch_size"]
            seen.append(size)
            return torch.utils.data.DataLoader(dataset, batch_size=size, shuffle=True)

    net = OwnLoader(max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    assert seen == [32]  # 200 rows: "auto" is n_samples // 100 clipped to 32
    assert net.history_[-1, "train_batch_count"] == 7
    assert "batch_size" not in net.get_params_for("iterator_train")
