"""scikit-learn's callback API (sklearn.callback) on the estimators, epochs as subtasks."""

import pytest
from fit_settings import FAST
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV

from nnestimators import NNClassifier

callback = pytest.importorskip("sklearn.callback")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_scoring_monitor_scores_every_epoch(iris):
    X, y = iris
    monitor = callback.ScoringMonitor(scoring="accuracy")
    NNClassifier(**FAST).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [row for row in rows if row["task_name"] == "epoch"]
    assert len(epochs) == 3  # one scored task per epoch
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in epochs)


def test_progress_bar_propagates_from_a_search(iris, capsys):
    pytest.importorskip("rich")
    X, y = iris
    search = GridSearchCV(NNClassifier(**FAST), {"lr": [1e-3, 1e-2]}, cv=2)
    search.set_callbacks(callback.ProgressBar()).fit(X, y)
    out = capsys.readouterr()
    assert "NNClassifier - fit" in out.out + out.err


def test_a_callback_that_asks_to_stop_ends_training(iris):
    X, y = iris

    class StopAfterTwo:
        def setup(self, estimator, context):
            self.seen = 0

        def on_fit_task_begin(self, estimator, context, **kwargs):
            pass

        def on_fit_task_end(self, estimator, context, **kwargs):
            if context.task_name != "epoch":
                return False
            self.seen += 1
            return self.seen >= 2

        def teardown(self, estimator, context):
            pass

    model = NNClassifier(**{**FAST, "max_epochs": 10}).set_callbacks(StopAfterTwo())
    assert len(model.fit(X, y).history_) == 2
