"""The drop-ins in scikit-learn's workflows, and pickled."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
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


@pytest.mark.slow
def test_a_search_on_a_dask_cluster_scores_as_one_here(iris):
    distributed = pytest.importorskip("distributed")
    X, y = iris
    grid = {"alpha": [1e-4, 1.0]}
    settings = {**QUICK, "n_threads": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        here = GridSearchCV(MLPClassifier(**settings), grid, cv=2).fit(X, y)
        there = GridSearchCV(MLPClassifier(**settings), grid, cv=2)
        with (
            distributed.LocalCluster(
                processes=True,
                n_workers=2,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster, timeout="60s") as client,
            distributed.get_task_stream(client=client) as stream,
            joblib.parallel_config("dask"),
        ):
            there.fit(X, y)
    assert stream.data  # the fits ran on the cluster's workers
    np.testing.assert_allclose(
        there.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"]
    )
    assert there.best_estimator_.n_iter_ == 10
