"""nnestimators on a Dask cluster: same results, right threads, clean pickling.

One local cluster of two single-threaded worker processes serves the whole
module; every wait is bounded so that a stuck cluster fails, not hangs.
"""

import os
import sys

import pytest

distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402  (installed with distributed)
import dask  # noqa: E402
import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import test_runtime  # noqa: E402  (shares the thread-recording fit)
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import nnestimators  # noqa: E402
from nnestimators import NNClassifier  # noqa: E402
from nnestimators.reports import cross_validated_report  # noqa: E402
from nnestimators.runtime import resolve_n_threads  # noqa: E402

# Worker processes cannot import the test modules: send their functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(test_runtime)

pytestmark = [
    pytest.mark.slow,  # a cluster of worker processes: seconds to start
    pytest.mark.timeout(90),
    # Another cluster on this machine (a concurrent run) may hold port 8787.
    pytest.mark.filterwarnings("ignore:Port 8787 is already in use"),
]

WAIT = 60  # seconds, for any result from the cluster
GRID = {
    "nnclassifier__lr": [3e-3, 3e-2],
    "nnclassifier__module__hidden_units": [(8,), (16,)],
}
N_FOLDS = 3


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, as in the docs."""
    with (
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout=f"{WAIT}s") as client,
    ):
        client.wait_for_workers(2, timeout=WAIT)
        _warm_up(client)
        yield client


def _import_nnestimators():
    import nnestimators

    return nnestimators.__version__


def _warm_up(client):
    # Importing torch in each worker is the slowest step; pay it once, bounded.
    futures = [
        client.submit(_import_nnestimators, workers=[address], pure=False)
        for address in client.scheduler_info()["workers"]
    ]
    distributed.wait(futures, timeout=WAIT)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _pipeline():
    return make_pipeline(
        StandardScaler(),
        NNClassifier(max_epochs=5, batch_size=16, random_state=0),
    )


def _folds():
    return StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=0)


def _tasks_run_on(client, work):
    """Run ``work()`` under joblib's dask backend; return its result and tasks."""
    with (
        distributed.get_task_stream(client=client) as stream,
        joblib.parallel_config("dask"),
    ):
        result = work()
    return result, stream.data


# -- the commands of docs/distributed.md -------------------------------------


def test_workers_have_the_package(client):
    versions = client.run(lambda: __import__("nnestimators").__version__)
    assert set(versions.values()) == {nnestimators.__version__}
    client.get_versions(check=True)  # raises on mismatched core packages


# -- same results as a sequential run ----------------------------------------


def test_grid_search_on_dask_matches_sequential(client, iris):
    X, y = iris

    def search():
        return GridSearchCV(_pipeline(), GRID, cv=_folds()).fit(X, y)

    sequential = search()
    on_dask, tasks = _tasks_run_on(client, search)
    assert tasks, "no task ran on the cluster"
    assert len(sequential.cv_results_["params"]) == 4
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        atol=1e-6,
    )


def test_cross_validated_report_on_dask_matches_sequential(client, iris):
    X, y = iris

    def report():
        return cross_validated_report(_pipeline(), X, y, cv=N_FOLDS, random_state=0)

    sequential = report()
    on_dask, tasks = _tasks_run_on(client, report)
    assert tasks, "no task ran on the cluster"
    # Everything but the timings: scores per fold, best epoch, epochs run.
    columns = [c for c in sequential.to_frame() if not c.endswith("_time")]
    pd.testing.assert_frame_equal(
        on_dask.to_frame()[columns],
        sequential.to_frame()[columns],
        check_exact=False,
        atol=1e-6,
    )
    # Fold estimators fitted on the workers predict as the local ones.
    for remote, local in zip(on_dask.folds, sequential.folds):
        np.testing.assert_array_equal(remote.y_pred, local.y_pred)


# -- threads inside a worker ---------------------------------------------------


def _worker_budget():
    """Threads this worker allows a task: its OMP_NUM_THREADS, else cores // threads."""
    from_env = os.environ.get("OMP_NUM_THREADS")
    if from_env:
        return int(from_env)
    return max(1, joblib.cpu_count() // distributed.get_worker().state.nthreads)


def _fit_in_worker(n_threads=None):
    observed = test_runtime.threads_during_fit(n_threads)
    observed["budget"] = _worker_budget()
    return observed


def _fit_in_worker_without_omp_env():
    # As on a worker whose nanny does not export OMP_NUM_THREADS: the cores
    # are then shared between the worker's task threads.
    saved = os.environ.pop("OMP_NUM_THREADS", None)
    try:
        observed = test_runtime.threads_during_fit()
        observed["budget"] = _worker_budget()
        observed["resolved"] = resolve_n_threads(None)
    finally:
        if saved is not None:
            os.environ["OMP_NUM_THREADS"] = saved
    return observed


def _on_each_worker(client, function, *args):
    futures = [
        client.submit(function, *args, workers=[address], pure=False)
        for address in client.scheduler_info()["workers"]
    ]
    return [future.result(timeout=WAIT) for future in futures]


def test_worker_fit_uses_the_worker_thread_budget(client):
    for observed in _on_each_worker(client, _fit_in_worker):
        # The nanny exports OMP_NUM_THREADS=1 to a one-thread worker.
        assert observed["budget"] == 1
        assert observed["during"] == {observed["budget"]}
        assert observed["after"] == observed["perturbed"]


def test_worker_without_omp_env_shares_cores_between_task_threads(client):
    for observed in _on_each_worker(client, _fit_in_worker_without_omp_env):
        expected = max(1, joblib.cpu_count() // 1)  # threads_per_worker=1
        assert observed["omp_env"] is None
        assert observed["budget"] == observed["resolved"] == expected
        assert observed["during"] == {expected}


def test_explicit_n_threads_wins_in_a_worker(client):
    for observed in _on_each_worker(client, _fit_in_worker, 2):
        assert observed["during"] == {2}


# -- pickling and cloning to workers -------------------------------------------


def _clone_fit_and_report(estimator, X, y):
    fitted = clone(estimator).fit(X, y)
    return fitted, fitted[-1].device_


def _predict(estimator, X):
    return estimator.predict_proba(X)


def test_estimators_travel_to_workers_and_back(client, iris):
    X, y = iris
    estimator = _pipeline()
    future = client.submit(_clone_fit_and_report, estimator, X, y, pure=False)
    remote, device = future.result(timeout=WAIT)
    assert device == "cpu"
    assert remote[-1].device == "auto"
    assert clone(remote).get_params()["nnclassifier__device"] == "auto"
    local = clone(estimator).fit(X, y)
    np.testing.assert_allclose(remote.predict_proba(X), local.predict_proba(X))
    # A fitted estimator predicts on a worker as it does here.
    on_worker = client.submit(_predict, local, X, pure=False).result(timeout=WAIT)
    np.testing.assert_allclose(on_worker, local.predict_proba(X))


# -- checkpoints written by workers ---------------------------------------------


def test_worker_checkpoints_get_a_folder_per_fit(client, iris, tmp_path):
    # Worker processes here share the disk, as machines share a network drive.
    X, y = iris
    model = make_pipeline(
        StandardScaler(),
        NNClassifier(
            max_epochs=3,
            batch_size=16,
            monitor="train_loss",
            checkpoint_dir=tmp_path,
            random_state=0,
        ),
    )
    with joblib.parallel_config("dask"):
        fitted = cross_validate(model, X, y, cv=_folds(), return_estimator=True)
    paths = [pipeline[-1].checkpoint_path_ for pipeline in fitted["estimator"]]
    assert sorted(os.path.basename(path) for path in paths) == sorted(
        folder.name for folder in tmp_path.iterdir()
    )
    assert len(set(paths)) == N_FOLDS
    for pipeline, path in zip(fitted["estimator"], paths):
        scaled = pipeline[0].transform(X)
        np.testing.assert_allclose(
            NNClassifier.from_checkpoint(path).predict_proba(scaled),
            pipeline[-1].predict_proba(scaled),
            atol=1e-6,
        )


# -- GPU routing through Dask resources, checked on CPU workers ----------------


async def _advertise_gpu(dask_worker):
    await dask_worker.set_resources(GPU=1)


def _worker_address(_):
    return distributed.get_worker().address


def test_gpu_resource_pins_tasks_to_gpu_workers(client):
    # Only one worker advertises a GPU: tasks asking for one must all go there.
    gpu_worker = sorted(client.scheduler_info()["workers"])[0]
    client.run(_advertise_gpu, workers=[gpu_worker])
    with joblib.parallel_config("dask", resources={"GPU": 1}):
        addresses = joblib.Parallel()(
            joblib.delayed(_worker_address)(i) for i in range(8)
        )
    assert set(addresses) == {gpu_worker}
    # Tasks submitted directly are routed by an annotation as well.
    with dask.annotate(resources={"GPU": 1}):
        futures = [client.submit(_worker_address, i, pure=False) for i in range(4)]
    assert {future.result(timeout=WAIT) for future in futures} == {gpu_worker}
