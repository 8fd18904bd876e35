"""What each estimator promises: labels, shapes, inputs, seeds, persistence."""

import pickle
import subprocess
import sys

import fit_settings
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.modules import MLP

# Fifteen epochs at the default batch size: enough to clear the score bars.
FAST = {**fit_settings.SEEDED, "max_epochs": 15}


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array([10, 20, 30]),
        np.array(["b", "a", "c"], dtype=object),
    ],
)
def test_classifier_returns_the_original_labels(iris, labels):
    X, y = iris
    y_labels = labels[y]
    model = NNClassifier(**FAST).fit(X, y_labels)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert set(model.predict(X)) <= set(labels)
    assert model.predict(X).dtype == y_labels.dtype
    assert model.score(X, y_labels) > 0.8


@pytest.mark.parametrize("labels", [np.array([False, True]), np.array(["no", "yes"])])
def test_binary_classifier_labels_and_outputs(cancer, labels):
    X, y = cancer
    model = NNBinaryClassifier(**FAST).fit(X, labels[y])
    np.testing.assert_array_equal(model.classes_, labels)
    proba = model.predict_proba(X)
    logits = model.decision_function(X)
    assert proba.shape == (len(X), 2) and logits.shape == (len(X),)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # The logit is the positive class's: sigmoid(logit) is its probability.
    np.testing.assert_allclose(
        proba[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(
        model.predict(X), labels[(proba[:, 1] > 0.5).astype(int)]
    )


def test_binary_threshold_moves_predictions(cancer):
    X, y = cancer
    model = NNBinaryClassifier(**FAST).fit(X, y)
    strict = clone(model).set_params(threshold=0.99).fit(X, y)
    assert strict.predict(X).sum() < model.predict(X).sum()


def test_binary_classifier_with_threshold_tuning_and_calibration(cancer):
    X, y = cancer
    base = NNBinaryClassifier(max_epochs=5, random_state=0)
    tuned = TunedThresholdClassifierCV(base, scoring="balanced_accuracy", cv=3)
    assert tuned.fit(X, y).score(X, y) > 0.9
    assert 0.0 < tuned.best_threshold_ < 1.0
    calibrated = CalibratedClassifierCV(base, cv=3).fit(X, y)
    assert calibrated.predict_proba(X).shape == (len(X), 2)


@pytest.mark.parametrize("shape", [(None,), (None, 1), (None, 3)])
def test_regressor_predicts_the_shape_of_y(diabetes, shape):
    X, y = diabetes
    if len(shape) == 2:
        y = np.column_stack([y * (k + 1) for k in range(shape[1])])
    model = NNRegressor(**FAST).fit(X, y)
    prediction = model.predict(X)
    assert prediction.shape == y.shape
    # MLPRegressor's rule: float32 inputs give float32 predictions.
    assert prediction.dtype == (np.float32 if X.dtype == np.float32 else np.float64)
    assert not hasattr(model, "predict_proba")


def test_shapes_are_inferred_and_passed_to_the_module(iris):
    X, y = iris
    model = NNClassifier(module__hidden_units=(7,), **FAST).fit(X, y)
    first, last = model.module_.layers[0], model.module_.layers[-1]
    assert (first.in_features, first.out_features) == (4, 7)
    assert last.out_features == 3
    assert model.n_features_in_ == 4 and model.input_shape_ == (4,)
    assert model.n_outputs_ == 3


def test_width_after_one_hot_encoding_is_inferred():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=90),
            "colour": rng.choice(["red", "green", "blue", "grey"], size=90),
        }
    )
    y = (frame["size"] > 0).astype(int)
    encode = ColumnTransformer(
        [("num", StandardScaler(), ["size"]), ("cat", OneHotEncoder(), ["colour"])]
    )
    # lr=1e-2 learns the one-feature rule on 90 rows in 15 epochs (0.99 to 1.0
    # over 20 seeds); at 1e-3 another seed scored 0.79.
    classifier = NNBinaryClassifier(**FAST, lr=1e-2)
    model = make_pipeline(encode, classifier).fit(frame, y)
    assert model[-1].n_features_in_ == 5
    assert model.score(frame, y) > 0.8


def test_dataframe_sets_feature_names(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = NNClassifier(**FAST).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[["b", "a", "c", "d"]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8, bool])
def test_any_numeric_dtype_and_lists(iris, dtype):
    X, y = iris
    X = (X * 3).astype(dtype)
    model = NNClassifier(max_epochs=2, random_state=0).fit(X, y)
    from_list = NNClassifier(max_epochs=2, random_state=0).fit(X.tolist(), y.tolist())
    np.testing.assert_allclose(
        model.predict_proba(X), from_list.predict_proba(X), rtol=1e-6
    )


@pytest.mark.parametrize("Estimator", [NNBinaryClassifier, NNClassifier, NNRegressor])
def test_same_random_state_same_predictions_also_after_clone(cancer, Estimator):
    X, y = cancer
    model = Estimator(module__dropout=0.3, validation_fraction=0.2, **FAST)
    first = model.fit(X, y).predict(X)
    again = clone(model).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, again)
    other = clone(model).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(_outputs(other, X), _outputs(clone(model).fit(X, y), X))


@pytest.mark.slow
def test_same_random_state_same_predictions_across_processes(tmp_path):
    # The same fit in a fresh interpreter and in this process, which has
    # already run other tests (other seeds, draws from the global RNGs): two
    # processes, so a second fresh interpreter would only repeat its imports.
    script = (
        "import numpy as np, torch;"
        "torch.set_num_threads(1);"
        "from sklearn.datasets import load_iris;"
        "from nnestimators import NNClassifier;"
        "X, y = load_iris(return_X_y=True);"
        "m = NNClassifier(max_epochs=5, random_state=3).fit(X, y);"
        f"np.save({str(tmp_path / 'child.npy')!r}, m.predict_proba(X))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    X, y = load_iris(return_X_y=True)
    assert torch.get_num_threads() == 1  # as in the child (conftest's fixture)
    here = NNClassifier(max_epochs=5, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(np.load(tmp_path / "child.npy"), here)


def test_random_state_does_not_touch_global_torch_rng(iris):
    X, y = iris
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NNClassifier(max_epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_gives_identical_predictions(cancer, tmp_path, dump):
    X, y = cancer
    model = NNBinaryClassifier(**FAST).fit(X, y)
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored.device == "auto" and restored.device_ == "cpu"


def test_clone_is_unfitted_and_params_are_untouched(iris):
    X, y = iris
    model = NNClassifier(lr=0.01, module__hidden_units=(8,), **FAST)
    model.fit(X, y)
    assert model.device == "auto" and model.device_ == "cpu"
    assert model.max_epochs == 15 and model.batch_size == "auto"
    copy = clone(model)
    assert not hasattr(copy, "module_") and not hasattr(copy, "classes_")
    assert copy.get_params()["module__hidden_units"] == (8,)


def test_get_and_set_params_reach_module_optimizer_and_callbacks(iris):
    from skorch.callbacks import EpochScoring

    X, y = iris
    scoring = EpochScoring("accuracy", on_train=True, name="train_acc")
    model = NNClassifier(callbacks=[("train_acc", scoring)], **FAST)
    model.set_params(
        module__hidden_units=(5,),
        optimizer__weight_decay=1e-4,
        callbacks__train_acc__lower_is_better=False,
        lr=0.02,
    )
    params = model.get_params()
    assert params["module__hidden_units"] == (5,)
    assert params["optimizer__weight_decay"] == 1e-4
    model.fit(X, y)
    assert model.module_.layers[0].out_features == 5
    assert model.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    assert model.optimizer_.param_groups[0]["lr"] == 0.02
    assert "callbacks__train_acc__lower_is_better" in model.get_params()
    assert "train_acc" in model.history_frame().columns
    # A fitted net applies optimizer changes at once, as skorch does.
    model.set_params(lr=0.5)
    assert model.optimizer_.param_groups[0]["lr"] == 0.5


def test_module_instance_and_custom_class(iris):
    X, y = iris

    class Tiny(torch.nn.Module):
        def __init__(self, n_features, n_outputs, width=6):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(n_features, width),
                torch.nn.ReLU(),
                torch.nn.Linear(width, n_outputs),
            )

        def forward(self, X):
            return self.net(X)

    by_class = NNClassifier(module=Tiny, module__width=9, **FAST).fit(X, y)
    assert by_class.module_.net[0].out_features == 9
    instance = MLP(n_features=4, n_outputs=3, hidden_units=(4,))
    by_instance = NNClassifier(module=instance, random_state=0).fit(X, y)
    assert by_instance.module_ is not instance  # the user's module is not trained
    assert by_instance.score(X, y) > 0.7


def test_partial_fit_trains_one_epoch_per_call(iris):
    X, y = iris
    model = NNClassifier(random_state=0)
    for calls in range(1, 4):
        model.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
        assert len(model.history_) == calls
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="not seen"):
        model.partial_fit(X, np.where(y == 2, 7, y))


def test_warm_start_continues_weights_and_history(iris):
    X, y = iris
    model = NNClassifier(max_epochs=3, warm_start=True, random_state=0).fit(X, y)
    weights = model.module_.layers[0].weight.detach().clone()
    model.fit(X, y)
    assert len(model.history_) == 6
    assert list(model.history_frame()["epoch"]) == [1, 2, 3, 4, 5, 6]
    assert not torch.equal(weights, model.module_.layers[0].weight)
    cold = NNClassifier(max_epochs=3, random_state=0).fit(X, y)
    assert len(cold.fit(X, y).history_) == 3


@pytest.mark.slow
def test_auto_training_length_gives_small_data_enough_steps(iris):
    X, y = iris
    model = NNClassifier(random_state=0).fit(X, y)
    epochs = len(model.history_)
    assert 150 <= epochs <= 200
    assert model.score(X, y) > 0.95


def test_verbose_zero_is_silent_and_verbose_one_prints_epochs(iris, capsys):
    X, y = iris
    NNClassifier(max_epochs=2).fit(X, y)
    assert capsys.readouterr().out == ""
    NNClassifier(max_epochs=2, verbose=1, validation_fraction=0.2).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - loss: ")
    assert "val_loss: " in lines[0] and "val_accuracy: " in lines[0]


def test_device_string_is_kept_and_resolved(iris):
    X, y = iris
    model = NNClassifier(max_epochs=1, device="cpu").fit(X, y)
    assert model.device == "cpu" and model.device_ == "cpu"
    with pytest.raises(ValueError, match="not a valid torch device"):
        NNClassifier(max_epochs=1, device="quantum").fit(X, y)


def _outputs(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.predict(X)


def test_probabilities_sum_to_one_in_float64(iris, cancer):
    for Estimator, (X, y) in [(NNClassifier, iris), (NNBinaryClassifier, cancer)]:
        proba = Estimator(max_epochs=2, random_state=0).fit(X, y).predict_proba(X)
        assert proba.dtype == np.float64
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_partial_fit_never_trains_on_rows_it_validated_on(iris):
    X, y = iris
    X = np.column_stack([X, np.arange(len(X))])  # the last column names the row
    trained_rows = set()

    def record(batch):
        trained_rows.update(batch[:, -1].int().tolist())
        return batch

    model = NNClassifier(validation_fraction=0.2, augment=record)  # random_state=None
    for _ in range(4):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert len(trained_rows) == 120  # the same 80% every call


def test_parameters_of_an_augment_object_are_tunable():
    from sklearn.datasets import load_digits

    from nnestimators.augment import GaussianNoise

    X, y = load_digits(return_X_y=True)
    images = (X[:200] / 16).reshape(-1, 8, 8)
    model = NNClassifier(augment=GaussianNoise(std=0.1), max_epochs=2)
    model.set_params(augment__std=0.3)
    assert model.get_params()["augment__std"] == 0.3
    model.fit(images, y[:200]).set_params(augment__std=0.5)  # also once fitted
    assert model.augment.std == 0.5


def test_partial_fit_accepts_chunks_of_one_class_once_classes_are_known(iris):
    X, y = iris
    model = NNClassifier(random_state=0)
    for label in (0, 1, 2):
        model.partial_fit(X[y == label], y[y == label], classes=[0, 1, 2])
    assert len(model.history_) == 3


def test_regressor_trains_on_targets_of_any_scale(diabetes):
    X, y = diabetes
    scores = [
        NNRegressor(**FAST).fit(X, y * scale + shift).score(X, y * scale + shift)
        for scale, shift in [(1.0, 0.0), (1e4, 5e5)]
    ]
    # Standardised internally, so the scale of y changes nothing.
    assert scores[1] == pytest.approx(scores[0], abs=1e-3)
    raw = NNRegressor(standardize_target=False, **FAST).fit(X, y * 1e4 + 5e5)
    assert raw.score(X, y * 1e4 + 5e5) < 0
