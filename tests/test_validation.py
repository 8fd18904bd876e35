"""Bad input fails with scikit-learn's error types and words, before any tensor."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

ESTIMATORS = [NNBinaryClassifier, NNClassifier, NNRegressor]


def _data(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(int)


@pytest.fixture(autouse=True)
def _no_tensor_building(monkeypatch, request):
    # Errors must come from validation, before the training data becomes tensors.
    if request.node.get_closest_marker("builds_tensors"):
        return
    import nnestimators.preparation as preparation

    def forbidden(*args, **kwargs):
        raise AssertionError("a tensor was built before validation failed")

    monkeypatch.setattr(preparation, "ArrayDataset", forbidden)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_a_value_error(Estimator, bad):
    X, y = _data()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        Estimator(max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_non_finite_y_is_a_value_error(Estimator):
    X, y = _data()
    y = y.astype(float)
    y[0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        Estimator(max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_empty_X_is_a_value_error(Estimator):
    with pytest.raises(ValueError, match="0 sample"):
        Estimator(max_epochs=1).fit(np.empty((0, 3)), np.empty(0))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_one_dimensional_X_asks_to_reshape(Estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="Reshape your data"):
        Estimator(max_epochs=1).fit(X[:, 0], y)


@pytest.mark.builds_tensors
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_feature_count_change_at_predict(Estimator):
    X, y = _data()
    model = Estimator(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        model.predict(X[:, :3])


@pytest.mark.builds_tensors
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_feature_count_change_between_partial_fits(Estimator):
    X, y = _data()
    model = Estimator(random_state=0).partial_fit(X, y, **_classes(Estimator, y))
    with pytest.raises(ValueError, match="X has 3 features"):
        model.partial_fit(X[:, :3], y)


@pytest.mark.parametrize(
    "Estimator, method",
    [
        (NNBinaryClassifier, "predict"),
        (NNBinaryClassifier, "predict_proba"),
        (NNBinaryClassifier, "decision_function"),
        (NNClassifier, "predict"),
        (NNClassifier, "predict_proba"),
        (NNRegressor, "predict"),
    ],
)
def test_predicting_before_fit_is_not_fitted_error(Estimator, method):
    model = Estimator()
    with pytest.raises(NotFittedError):
        getattr(model, method)(np.zeros((2, 4)))


@pytest.mark.parametrize("Estimator", [NNBinaryClassifier, NNClassifier])
def test_continuous_target_for_a_classifier(Estimator):
    X, _ = _data()
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        Estimator(max_epochs=1).fit(X, X[:, 0])


@pytest.mark.parametrize("Estimator", [NNBinaryClassifier, NNClassifier])
def test_one_class_only(Estimator):
    X, _ = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        Estimator(max_epochs=1).fit(X, np.ones(len(X)))


def test_binary_classifier_refuses_three_classes():
    X, _ = _data(n=30)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        NNBinaryClassifier(max_epochs=1).fit(X, np.arange(30) % 3)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_negative_sample_weight(Estimator):
    X, y = _data()
    weights = np.ones(len(X))
    weights[0] = -1
    with pytest.raises(
        ValueError, match="Negative values in data passed to `sample_weight`"
    ):
        Estimator(max_epochs=1).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_validation_fraction_out_of_range(Estimator):
    X, y = _data()
    with pytest.raises(
        ValueError,
        match="validation_fraction. parameter of .* must be a float in the range",
    ):
        Estimator(max_epochs=1, validation_fraction=1.5).fit(X, y)


def test_patience_without_validation_data_says_what_to_do():
    X, y = _data()
    with pytest.raises(ValueError, match="needs validation data"):
        NNClassifier(max_epochs=2, patience=1, validation_fraction=0).fit(X, y)


def test_misspelt_routed_parameter_is_reported_at_fit():
    X, y = _data()
    model = NNClassifier(max_epochs=1, module_hidden_units=(3,))
    with pytest.raises(ValueError, match="did you mean module__hidden_units"):
        model.fit(X, y)


def _classes(Estimator, y):
    return {} if Estimator is NNRegressor else {"classes": np.unique(y)}


def test_ragged_targets_get_a_clear_error():
    from nnestimators import NNRegressor

    X = np.zeros((3, 2), dtype=np.float32)
    y = np.array([np.zeros(1), np.zeros(3), np.zeros(2)], dtype=object)
    with pytest.raises(ValueError, match="arrays as values"):
        NNRegressor().fit(X, y)


def test_text_regression_target_is_a_value_error():
    X, _ = _data()
    with pytest.raises(ValueError, match="y holds text"):
        NNRegressor().fit(X, np.array(["1.5", "2.0"] * 20))


@pytest.mark.builds_tensors
def test_dict_inputs_are_checked_at_predict():
    import torch

    class TwoInputs(torch.nn.Module):
        def __init__(self, n_outputs=2, **kwargs):
            super().__init__()
            self.left = torch.nn.Linear(3, n_outputs)
            self.right = torch.nn.Linear(2, n_outputs)

        def forward(self, left, right):
            return self.left(left) + self.right(right)

    X, y = _data(d=5)
    model = NNClassifier(module=TwoInputs, max_epochs=1, random_state=0)
    model.fit({"left": X[:, :3], "right": X[:, 3:]}, y)
    assert model.predict({"left": X[:3, :3], "right": X[:3, 3:]}).shape == (3,)
    for bad in ({"left": X[:3, :3]}, {"left": X[:3, :2], "right": X[:3, 3:]}):
        with pytest.raises(ValueError, match=r"was fitted on \{'left': \(3,\)"):
            model.predict(bad)
