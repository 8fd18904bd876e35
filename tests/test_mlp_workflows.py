"""The drop-ins in scikit-learn's workflows, and pickled."""

import pickle
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnestimators import MLPClassifier, MLPRegressor
from nnestimators.reports.history import history_of

QUICK = {
    "hidden_layer_sizes": (8,),
    "max_iter": 10,
    "learning_rate_init": 0.01,
    "random_state": 0,
}


def test_pipeline_search_and_cross_validation(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**QUICK))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0]}, cv=2)
        search.fit(X, y)
    # 0.90-0.96 over seeds 0-2, as scikit-learn's MLP; the majority class is 0.63.
    assert scores.min() > 0.8
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1.0)
    assert clone(pipe).get_params()["mlpclassifier__max_iter"] == 10


def test_a_pickled_model_predicts_the_same_and_trains_on(diabetes):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(**QUICK).fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    copy.partial_fit(X, y)
    assert len(copy.loss_curve_) == 11


def test_history_is_the_nets(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(**QUICK).fit(X, y)
    assert len(model.history_) == 10
    frame = history_of(model)[0]  # what the reports plot
    np.testing.assert_allclose(frame["train_loss"], model.loss_curve_)
