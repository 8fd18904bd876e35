"""The estimators on images: scikit-learn's 8x8 digits through ``ConvNet``.

The fast tests use a few hundred images, a small network and a few epochs;
the accuracy bars of the default configuration live in one slow test.
"""

import importlib.util
from pathlib import Path

import fit_settings
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.augment import Compose, GaussianNoise, RandomShift
from nnestimators.modules import ConvNet

# A small network and a short run: enough to learn digits a little, fast.
FAST = {
    **fit_settings.FAST,
    "module": ConvNet,
    "module__channels": (16, 32),
    "module__dense_units": (64,),
    "max_epochs": 5,
}


@pytest.fixture(scope="module")
def digits():
    """All 1797 digits as (n, 8, 8) float32 images in [0, 1], and their labels."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).reshape(-1, 8, 8).astype(np.float32), y


@pytest.fixture(scope="module")
def few_digits(digits):
    """A stratified sample of 400 digits, to keep the fast tests fast."""
    X, y = digits
    X_few, _, y_few, _ = train_test_split(
        X, y, train_size=400, stratify=y, random_state=0
    )
    return X_few, y_few


def two_classes(X, y, negative, positive, names=("normal", "pneumonia")):
    """The images of two digits, labelled with strings (negative class first)."""
    keep = np.isin(y, [negative, positive])
    labels = np.where(y[keep] == positive, names[1], names[0])
    return X[keep], labels


class CountingAugment:
    """A pass-through augmentation that records every batch it is given."""

    def __init__(self):
        self.shapes = []

    def __call__(self, batch):
        assert isinstance(batch, torch.Tensor)
        self.shapes.append(tuple(batch.shape))
        return batch


# -- input formats and validation ----------------------------------------------


def test_grey_images_with_and_without_channel_axis_agree(few_digits):
    X, y = few_digits
    three_d = NNClassifier(**FAST).fit(X, y)
    four_d = NNClassifier(**FAST).fit(X[:, None], y)

    for est in (three_d, four_d):
        assert est.input_shape_ == (1, 8, 8)
        assert est.n_features_in_ == 1
    proba = three_d.predict_proba(X)
    np.testing.assert_array_equal(proba, four_d.predict_proba(X[:, None]))
    # Either layout is accepted at predict, whatever the layout at fit.
    np.testing.assert_array_equal(proba, three_d.predict_proba(X[:, None]))
    np.testing.assert_array_equal(proba, four_d.predict_proba(X))


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda X: X[:, :7], id="height"),
        pytest.param(lambda X: X[:, None, :, :6], id="width-with-channel-axis"),
        pytest.param(lambda X: X.reshape(len(X), -1), id="flattened"),
        pytest.param(lambda X: np.repeat(X[:, None], 3, axis=1), id="rgb"),
    ],
)
def test_wrong_image_shape_at_predict_is_a_clear_value_error(few_digits, reshape):
    X, y = few_digits
    est = NNClassifier(**{**FAST, "max_epochs": 1}).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match=r"expecting samples of shape \(1, 8, 8\)"):
        est.predict(reshape(X[:5]))


def test_nan_pixels_are_a_value_error(few_digits):
    X, y = few_digits
    X_nan = X[:100].copy()
    X_nan[3, 4, 4] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        NNClassifier(**FAST).fit(X_nan, y[:100])

    est = NNClassifier(**{**FAST, "max_epochs": 1}).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(X_nan)


# -- augmentation ---------------------------------------------------------------


def test_augment_sees_every_training_batch_and_nothing_else(few_digits):
    X, y = few_digits
    augment = CountingAugment()
    est = NNClassifier(
        **{**FAST, "max_epochs": 3}, validation_fraction=0.25, augment=augment
    ).fit(X, y)

    n_train, batch_size, epochs = 300, FAST["batch_size"], 3
    batches_per_epoch = -(-n_train // batch_size)
    assert len(augment.shapes) == epochs * batches_per_epoch
    assert all(shape[1:] == (1, 8, 8) for shape in augment.shapes)
    # The rows seen add up to the training rows only: no validation batch.
    assert sum(shape[0] for shape in augment.shapes) == epochs * n_train
    assert est.history_frame()["valid_loss"].notna().all()

    augment.shapes.clear()
    est.predict(X)
    est.predict_proba(X)
    est.score(X, y)
    assert augment.shapes == []


@pytest.mark.parametrize("route", ["torch dataset", "iterator_train__num_workers"])
def test_augment_also_reaches_batches_of_a_dataloader(few_digits, route):
    X, y = few_digits
    X, y = X[:96, None], y[:96]
    augment = CountingAugment()
    params = {**FAST, "max_epochs": 2, "batch_size": 32, "augment": augment}
    if route == "torch dataset":
        data = (torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)), None)
    else:
        params["iterator_train__num_workers"] = 0
        data = (X, y)
    NNClassifier(**params).fit(*data)
    assert [shape[0] for shape in augment.shapes] == [32] * 6


def test_builtin_augmentations_train(few_digits, digits):
    X, y = few_digits
    augment = Compose([RandomShift(1), GaussianNoise(0.05)])
    est = NNClassifier(**{**FAST, "max_epochs": 10}, augment=augment).fit(X, y)

    assert np.isfinite(est.history_frame()["train_loss"]).all()
    X_all, y_all = digits
    assert est.score(X_all, y_all) > 0.8


@pytest.mark.parametrize(
    "augment",
    [None, Compose([RandomShift(1), GaussianNoise(0.05)])],
    ids=["plain", "augmented"],
)
def test_same_random_state_same_predictions(few_digits, augment):
    X, y = few_digits
    params = {**FAST, "max_epochs": 3, "validation_fraction": 0.2, "augment": augment}
    first = NNClassifier(**params).fit(X, y).predict_proba(X)
    second = NNClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)

    other_seed = NNClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first, other_seed.predict_proba(X))


# -- scikit-learn tools and the other estimators ----------------------------------


def test_grid_search_over_architecture_and_learning_rate(few_digits):
    X, y = few_digits
    grid = {
        "module__channels": [(4, 8), (8, 16)],
        "module__dropout": [0.0, 0.25],
        "lr": [1e-3, 3e-3],
    }
    search = GridSearchCV(
        NNClassifier(**{**FAST, "max_epochs": 3}), grid, cv=2, error_score="raise"
    )
    search.fit(X[:300], y[:300])

    ranks = search.cv_results_["rank_test_score"]
    assert sorted(ranks)[0] == 1 and len(ranks) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    convolutions = [m for m in best.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert (
        tuple(c.out_channels for c in convolutions)
        == search.best_params_["module__channels"]
    )
    assert best.module_.dropout == search.best_params_["module__dropout"]


def test_regressor_on_images(few_digits, digits):
    X, y = few_digits
    est = NNRegressor(**{**FAST, "max_epochs": 10}).fit(X, y.astype(np.float32))

    X_all, y_all = digits
    predicted = est.predict(X_all)
    assert predicted.shape == (len(X_all),)
    assert predicted.dtype.kind == "f"
    assert r2_score(y_all, predicted) > 0.5


def test_binary_classifier_with_string_labels(digits):
    X, y = two_classes(*digits, negative=3, positive=8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    est = NNBinaryClassifier(**{**FAST, "max_epochs": 10}).fit(X_train, y_train)

    assert list(est.classes_) == ["normal", "pneumonia"]
    assert est.n_outputs_ == 1
    predicted = est.predict(X_test)
    assert set(predicted) <= {"normal", "pneumonia"}
    assert est.predict_proba(X_test).shape == (len(X_test), 2)
    assert est.decision_function(X_test).shape == (len(X_test),)
    assert est.score(X_test, y_test) > 0.9


# -- the image examples, in their quick mode ------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    """Import ``examples/<name>.py`` as a module (examples are not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_binary_scans_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("NNESTIMATORS_QUICK", "1")
    model = load_example("image_binary_scans").main(out=tmp_path)

    assert list(model.classes_) == ["normal", "pneumonia"]
    assert (tmp_path / "scans_training_curves.png").stat().st_size > 0
    assert any((tmp_path / "checkpoints").iterdir())


@pytest.mark.slow
def test_digits_cnn_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("NNESTIMATORS_QUICK", "1")
    search = load_example("image_digits_cnn").main(out=tmp_path)

    assert set(search.best_params_) == {"module__channels", "module__dropout", "lr"}
    assert (tmp_path / "digits_batch_norm.png").stat().st_size > 0


# -- accuracy bars of the default configuration ----------------------------------


@pytest.mark.slow
def test_default_convnet_accuracy_on_digits(digits):
    X, y = digits
    # Default parameters apart from the seed and the thread count.
    # One held-out third (each fold of a 3-fold CV, fitted once: the time).
    X_fit, X_held, y_fit, y_held = train_test_split(
        X, y, test_size=1 / 3, stratify=y, random_state=0
    )
    model = NNClassifier(module=ConvNet, random_state=0, n_threads=1)
    accuracy = model.fit(X_fit, y_fit).score(X_held, y_held)
    assert accuracy >= 0.97, f"held-out accuracy {accuracy:.4f}"

    # The two classes that the default binary CNN finds hardest to tell apart.
    X2, y2 = two_classes(X, y, negative=3, positive=9)
    X_train, X_test, y_train, y_test = train_test_split(
        X2, y2, test_size=0.3, stratify=y2, random_state=0
    )
    binary = NNBinaryClassifier(module=ConvNet, random_state=0, n_threads=1)
    binary.fit(X_train, y_train)
    positive = binary.classes_[1]
    auc = roc_auc_score(y_test == positive, binary.predict_proba(X_test)[:, 1])
    assert auc >= 0.98, f"held-out ROC-AUC {auc:.4f}"
