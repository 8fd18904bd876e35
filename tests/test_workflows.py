"""Real scikit-learn workflows: pipelines, searches, cross-validation, routing."""

import fit_settings
import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy.stats import loguniform
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine, make_classification
from sklearn.metrics import recall_score
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

# Twenty epochs at the default batch size: scores that searches can compare.
QUICK = {**fit_settings.SEEDED, "max_epochs": 20}


def _pipeline(estimator):
    return Pipeline([("scale", StandardScaler()), ("net", estimator)])


@pytest.mark.slow
def test_grid_search_over_module_and_optimizer_parameters(cancer):
    X, y = cancer
    search = GridSearchCV(
        _pipeline(NNBinaryClassifier(**QUICK)),
        {"net__lr": [1e-3, 1e-2], "net__module__hidden_units": [(8,), (16, 8)]},
        scoring="roc_auc",
        cv=3,
    ).fit(X, y)
    assert search.best_params_["net__lr"] in (1e-3, 1e-2)
    assert search.best_score_ > 0.95
    assert len(search.cv_results_["mean_test_score"]) == 4


def test_randomized_search_with_log_uniform_learning_rate(iris):
    X, y = iris
    search = RandomizedSearchCV(
        _pipeline(NNClassifier(**QUICK)),
        {"net__lr": loguniform(1e-4, 1e-1), "net__module__dropout": [0.0, 0.2]},
        n_iter=4,
        scoring="f1_macro",
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert 1e-4 <= search.best_params_["net__lr"] <= 1e-1
    assert search.best_score_ > 0.7


@pytest.mark.parametrize(
    "Estimator, scorers",
    [
        (NNBinaryClassifier, ["accuracy", "precision", "recall", "f1", "roc_auc"]),
        (NNClassifier, ["accuracy", "f1_macro", "roc_auc_ovr"]),
        (NNRegressor, ["neg_root_mean_squared_error", "r2"]),
    ],
)
def test_cross_validate_with_standard_scorers(cancer, diabetes, Estimator, scorers):
    if Estimator is NNRegressor:
        X, y = diabetes
    elif Estimator is NNClassifier:
        X, y = load_wine(return_X_y=True)
    else:
        X, y = cancer
    results = cross_validate(_pipeline(Estimator(**QUICK)), X, y, cv=3, scoring=scorers)
    for name in scorers:
        scores = results[f"test_{name}"]
        assert np.all(np.isfinite(scores))
        if name != "neg_root_mean_squared_error":
            assert scores.mean() > 0.3, name


def test_string_labels_through_cross_val_score_and_f1(cancer):
    X, y = cancer
    names = np.array(["benign", "malignant"])[y]
    model = _pipeline(NNBinaryClassifier(**QUICK))
    accuracy = cross_val_score(model, X, names, cv=3)
    assert accuracy.mean() > 0.9
    model.fit(X, names)
    assert set(model.predict(X)) == {"benign", "malignant"}


def test_dataframe_through_column_transformer_in_a_search():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["kind"] = np.where(X[:, 0] > 0, "up", "down")
    prepare = ColumnTransformer(
        [
            ("num", StandardScaler(), list("abcd")),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["kind"]),
        ]
    )
    search = GridSearchCV(
        make_pipeline(prepare, NNBinaryClassifier(**QUICK)),
        {"nnbinaryclassifier__module__hidden_units": [(8,), (32,)]},
        cv=3,
    ).fit(frame, y)
    assert search.best_estimator_[-1].n_features_in_ == 6
    assert search.best_score_ > 0.8


def test_sample_weight_with_metadata_routing(cancer):
    X, y = cancer
    weights = np.where(y == 0, 3.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        net = (
            NNBinaryClassifier(**QUICK)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        scale = StandardScaler().set_fit_request(sample_weight=False)
        model = Pipeline([("scale", scale), ("net", net)])
        results = cross_validate(model, X, y, cv=3, params={"sample_weight": weights})
        search = GridSearchCV(model, {"net__lr": [1e-3, 1e-2]}, cv=2)
        search.fit(X, y, sample_weight=weights)
    assert results["test_score"].mean() > 0.9
    assert search.best_score_ > 0.9


def test_zero_weight_rows_have_no_effect(cancer):
    X, y = cancer
    noise = np.random.default_rng(0).normal(size=(50, X.shape[1])) * 10
    X_more = np.vstack([X, noise])
    y_more = np.concatenate([y, np.ones(50, dtype=int)])
    weights = np.concatenate([np.ones(len(X)), np.zeros(50)])
    model = NNBinaryClassifier(batch_size=-1, **QUICK)
    plain = model.fit(X, y).predict_proba(X)
    weighted = model.fit(X_more, y_more, sample_weight=weights).predict_proba(X)
    # One full batch: the zero-weight rows change nothing but float rounding.
    np.testing.assert_allclose(weighted, plain, atol=1e-5)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 10.0}])
def test_class_weight_raises_minority_recall(class_weight):
    X, y = make_classification(
        n_samples=600, n_features=6, weights=[0.92], flip_y=0.05, random_state=1
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=0
    )
    base = _pipeline(NNBinaryClassifier(**QUICK))
    weighted = _pipeline(NNBinaryClassifier(class_weight=class_weight, **QUICK))
    plain_recall = recall_score(y_test, base.fit(X_train, y_train).predict(X_test))
    weighted_recall = recall_score(
        y_test, weighted.fit(X_train, y_train).predict(X_test)
    )
    assert weighted_recall > plain_recall


def test_diverging_candidate_scores_error_score_and_search_goes_on(diabetes):
    import torch

    X, y = diabetes
    search = GridSearchCV(
        _pipeline(NNRegressor(optimizer=torch.optim.SGD, **QUICK)),
        {"net__lr": [1e-3, 1e4]},
        cv=2,
        error_score=np.nan,
    )
    with pytest.warns(Warning, match="Training diverged"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and np.isfinite(scores[0])
    assert search.best_params_ == {"net__lr": 1e-3}
