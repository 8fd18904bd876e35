"""The report's tables: scores per fold, their summary, the baselines beside them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .formatting import mean_and_std
from .history import final_step, has_history


def scored_splits(cv_results):
    """``("test", "train")`` when the training folds were scored, else ``("test",)``."""
    if any(key.startswith("train_") for key in cv_results):
        return ("test", "train")
    return ("test",)


def fold_scores(cv_results, metrics):
    """Per-fold scores (errors positive), times and epochs, indexed by fold from 1.

    See ``CrossValidatedReport.to_frame``.
    """
    columns = {}
    for split in scored_splits(cv_results):
        for metric in metrics:
            values = np.asarray(cv_results[f"{split}_{metric.name}"])
            columns[f"{split}_{metric.name}"] = metric.sign * values
    columns["fit_time"] = cv_results["fit_time"]
    columns["score_time"] = cv_results["score_time"]
    estimators = cv_results["estimator"]
    columns.update(_epoch_columns(estimators))
    index = pd.RangeIndex(1, len(estimators) + 1, name="fold")
    return pd.DataFrame(columns, index=index)


def _epoch_columns(estimators):
    """Best epoch and number of epochs of each fold, when recorded."""
    finals = [final_step(est) for est in estimators]
    if not all(has_history(final) for final in finals):
        return {}
    return {
        "best_epoch": pd.array(
            [getattr(f, "best_epoch_", None) for f in finals], dtype="Int64"
        ),
        "n_epochs": [len(f.history_frame()) for f in finals],
    }


def summary(frame, metric_names, splits):
    """Mean and standard deviation (``ddof=1``) of every metric of ``frame``.

    See ``CrossValidatedReport.summary``.
    """
    rows = {}
    for name in metric_names:
        row = {}
        for split in splits:
            values = frame[f"{split}_{name}"]
            row[f"{split}_mean"] = values.mean()
            row[f"{split}_std"] = values.std()
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return table


def baseline_summary(baselines, metrics, splits):
    """Mean and standard deviation of every metric for each scored baseline.

    See ``CrossValidatedReport.baseline_summary``.
    """
    columns = {}
    for result in baselines:
        for split in splits:
            values = [result.scores(split, m) for m in metrics]
            columns[f"{result.name}_{split}_mean"] = [v.mean() for v in values]
            columns[f"{result.name}_{split}_std"] = [
                v.std(ddof=1) if len(v) > 1 else np.nan for v in values
            ]
    index = pd.Index([m.name for m in metrics], name="metric")
    return pd.DataFrame(columns, index=index)


def formatted_summary(summary, splits):
    """``summary`` as text cells ``"mean ± std"``, one column per split."""
    cells = {
        split: [
            mean_and_std(mean, std)
            for mean, std in zip(summary[f"{split}_mean"], summary[f"{split}_std"])
        ]
        for split in splits
    }
    return pd.DataFrame(cells, index=summary.index)


def formatted_comparison(summary, baseline_summary, baselines):
    """Test scores ``"mean ± std"``: the network, then the linear and dummy baselines.

    See ``CrossValidatedReport.formatted_comparison``.
    """
    columns = {
        "network": [
            mean_and_std(mean, std)
            for mean, std in zip(summary["test_mean"], summary["test_std"])
        ]
    }
    for result in sorted(baselines, key=_baseline_order):
        columns[result.name] = [
            mean_and_std(mean, std)
            for mean, std in zip(
                baseline_summary[f"{result.name}_test_mean"],
                baseline_summary[f"{result.name}_test_std"],
            )
        ]
    return pd.DataFrame(columns, index=summary.index)


def _baseline_order(result):
    """The linear baseline first: it is the one to beat."""
    return (result.name != "linear", result.name)
