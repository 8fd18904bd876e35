"""Every setting acts or fails before training, in the user's words; Keras names work."""

import numpy as np
import pytest
import torch
from fit_settings import FAST
from sklearn.base import clone
from sklearn.datasets import make_classification
from skorch.callbacks import Callback

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=150, n_features=6, random_state=0)
    return X.astype(np.float32), y


class CountEpochs(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_begin(self, net, **kwargs):
        self.epochs += 1


def _fails_before_training(estimator, X, y, match, error=ValueError):
    counter = CountEpochs()
    estimator.set_params(callbacks=[counter])
    with pytest.raises(error, match=match):
        estimator.fit(X, y)
    assert counter.epochs == 0


@pytest.mark.parametrize(
    "keras, ours",
    [("val_loss", "valid_loss"), ("loss", "train_loss"), ("val_acc", "valid_accuracy")],
)
def test_keras_monitor_names(data, keras, ours):
    X, y = data
    model = NNClassifier(**FAST, monitor=keras, patience=5, validation_fraction=0.2)
    model.fit(X, y)
    assert f"{ours}_best" in model.history_[-1]
    assert dict(model.callbacks_)["best_model"].monitor == ours


@pytest.mark.parametrize(
    "monitor, match",
    [
        ("train_los", "Did you mean 'train_loss'"),
        ("valid_f1", "not recorded by this fit"),
    ],
)
def test_unknown_monitor_fails_before_training(data, monitor, match):
    X, y = data
    model = NNClassifier(**FAST, monitor=monitor, patience=2, validation_fraction=0.2)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


@pytest.mark.parametrize("validation_fraction", [0.2, None])
def test_a_chosen_monitor_that_would_restore_nothing_fails(data, validation_fraction):
    # No patience: only restore_best_weights reads it, and it must act.
    X, y = data
    model = NNClassifier(
        **FAST, monitor="val_acuracy", validation_fraction=validation_fraction
    )
    # The message of the check before training (no callback could record it).
    with pytest.raises(ValueError, match="val_acuracy' is not recorded by this fit"):
        model.fit(X, y)
    # A callback of the user's might record it: then it fails after epoch 1.
    with pytest.raises(ValueError, match="was not recorded in epoch 1"):
        clone(model).set_params(callbacks=[CountEpochs()]).fit(X, y)
    model.set_params(monitor="valid_accuracy")
    if validation_fraction is None:  # no validation data: nothing to monitor
        with pytest.raises(ValueError, match="give validation data"):
            model.fit(X, y)
        assert (
            model.set_params(restore_best_weights=False).fit(X, y).best_epoch_ is None
        )
    else:
        assert model.fit(X, y).best_epoch_ is not None


def test_schedule_arguments_without_a_schedule_fail(data):
    X, y = data
    model = NNClassifier(**FAST, lr_schedule__gamma=0.5)
    _fails_before_training(
        model, X, y, "lr_schedule__gamma given, but lr_schedule=None"
    )
    assert model.set_params(lr_schedule="step").fit(X, y).history_[-1, "lr"] < 1e-3


def test_metric_typo_fails_even_without_validation(data):
    X, y = data
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        NNClassifier(**FAST, metrics=["accuracyy"]).fit(X, y)


def test_metrics_without_validation_are_recorded_on_training_data(data):
    X, y = data
    model = NNBinaryClassifier(**FAST, metrics=["roc_auc"]).fit(X, y)
    assert 0.5 <= model.history_[-1, "train_roc_auc"] <= 1.0
    assert "valid_roc_auc" not in model.history_[-1]


def test_unknown_constructor_argument_survives_clone_and_fails_at_fit(data):
    X, y = data
    model = NNClassifier(**FAST, patiance=3)
    copy = clone(model)
    assert copy.get_params()["patiance"] == 3
    with pytest.raises(ValueError, match="unexpected argument.s. patiance"):
        copy.fit(X, y)


def test_set_params_with_unknown_name_raises_at_once():
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        NNClassifier().set_params(foo=1)


def test_misspelled_prefix_suggests_the_right_one(data):
    X, y = data
    with pytest.raises(ValueError, match="did you mean module__dropout"):
        NNClassifier(**FAST, modul__dropout=0.1).fit(X, y)


def test_routed_set_params_on_a_fitted_net_warns_that_weights_are_lost(data):
    X, y = data
    model = NNClassifier(**FAST).fit(X, y)
    with pytest.warns(UserWarning, match="Re-initializing module"):
        model.set_params(module__hidden_units=(64,))


def test_negative_class_weight_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="non-negative"):
        NNClassifier(**FAST, class_weight={0: -1.0, 1: 1.0}).fit(X, y)


def test_partial_fit_with_changed_classes_is_refused(data):
    X, y = data
    model = NNClassifier(**FAST).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_warm_start_refit_on_a_subset_of_classes_is_refused():
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    model = NNClassifier(**FAST, warm_start=True).fit(X, y)
    keep = y < 2
    with pytest.raises(ValueError, match="same classes"):
        model.fit(X[keep], y[keep])


def test_huge_regression_targets_are_refused(data):
    X, _ = data
    y = np.full(len(X), 1e200)
    y[::2] = -1e200
    with pytest.raises(ValueError, match="float32"):
        NNRegressor(**FAST).fit(X, y)


@pytest.mark.parametrize("where", ["", "file"])
def test_unusable_checkpoint_dir_fails_before_training(data, tmp_path, where):
    X, y = data
    path = ""
    if where == "file":
        path = tmp_path / "a-file"
        path.write_text("mine")
    model = NNClassifier(**FAST, checkpoint_dir=path, validation_fraction=0.2)
    _fails_before_training(model, X, y, "checkpoint_dir")


def test_image_at_predict_after_a_table_fit(data):
    X, y = data
    model = NNClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="samples of shape"):
        model.predict(np.zeros((2, 1, 2, 3), dtype=np.float32))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"module__hidden_units": "64"}, "sequence of ints"),
        ({"device": "meta"}, "device='meta'"),
        ({"criterion": torch.nn.MSELoss}, "regression loss"),
        ({"module": dict}, "returned dict"),
        ({"callbacks": [1, 2]}, "callbacks must hold"),
    ],
)
def test_bad_settings_are_clear_errors(data, params, match):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        NNClassifier(**{**FAST, **params}).fit(X, y)


def test_binary_classifier_with_cross_entropy_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="BCEWithLogitsLoss"):
        NNBinaryClassifier(**FAST, criterion=torch.nn.CrossEntropyLoss).fit(X, y)


def test_module_instance_of_the_wrong_size_says_so(data):
    X, y = data
    with pytest.raises(ValueError, match="module does not fit the data"):
        NNClassifier(torch.nn.Linear(3, 2), **FAST).fit(X, y)


def test_channels_last_images_get_a_warning():
    X = np.random.default_rng(0).random((20, 8, 8, 3), dtype=np.float32)
    y = np.arange(20) % 2
    with pytest.warns(UserWarning, match="channels are last"):
        NNClassifier(**FAST).fit(X, y)


def test_regressor_divergence_hint_names_the_target(data):
    X, _ = data

    class Exploding(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.linear(X) * float("inf")

    with pytest.raises(FloatingPointError, match="scaled target"):
        NNRegressor(Exploding, **FAST).fit(X, np.arange(len(X), dtype=float))
