"""Figures: training histories and cross-validated diagnostics.

Every function returns a ``matplotlib.figure.Figure`` drawn on the
non-interactive Agg canvas, so nothing touches pyplot's global state, no
window opens and nothing needs closing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, FuncFormatter, MaxNLocator
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from .formatting import format_number
from .history import epochs_of, has_history, history_of, recorded_metrics

_PANEL_SIZE = (4.2, 3.2)
# Curves with a square plot area and a legend need more room.
_SINGLE_PANEL_SIZE = (5.4, 4.8)


def new_figure(n_panels=1, max_columns=3):
    """Create an Agg figure with a grid of ``n_panels`` axes.

    Parameters
    ----------
    n_panels : int, default=1
        Number of axes.
    max_columns : int, default=3
        Most axes on one row.

    Returns
    -------
    figure : matplotlib.figure.Figure
    axes : list of matplotlib.axes.Axes
        Exactly ``n_panels`` axes; unused grid cells are removed.

    Examples
    --------
    >>> figure, axes = new_figure(2)
    >>> len(axes)
    2
    """
    n_columns = min(n_panels, max_columns)
    n_rows = math.ceil(n_panels / n_columns)
    width, height = _SINGLE_PANEL_SIZE if n_panels == 1 else _PANEL_SIZE
    figure = Figure(figsize=(width * n_columns, height * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for unused in grid[n_panels:]:
        unused.remove()
    return figure, list(grid[:n_panels])


def plot_history(estimator, metrics=None):
    """Plot the training and validation curves of a fitted estimator.

    One panel for the loss and one per recorded metric; each shows the
    ``train_<name>`` and ``valid_<name>`` columns of the history that exist.
    The best epoch (``best_epoch_``) is marked with a vertical line.

    Parameters
    ----------
    estimator : estimator object or pandas.DataFrame
        A fitted nnestimators estimator, a Pipeline (or search) ending in one,
        or a history DataFrame as returned by ``history_frame()``.
    metrics : list of str, default=None
        Metrics to plot besides the loss, by name without prefix (e.g.
        ``["accuracy"]``). ``None`` plots every recorded metric.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the estimator is not fitted, records no history, or a requested
        metric was not recorded.

    Examples
    --------
    >>> from nnestimators import NNClassifier
    >>> from nnestimators.reports import plot_history
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NNClassifier(max_epochs=5, validation_fraction=0.2,
    ...                    metrics=["accuracy"]).fit(X, y)  # doctest: +SKIP
    >>> plot_history(clf).savefig("history.png")  # doctest: +SKIP
    """
    history, best_epoch = history_of(estimator, caller="plot_history")
    names = ["loss", *_select_metrics(history, metrics)]
    figure, axes = new_figure(len(names))
    epochs = epochs_of(history)
    for ax, name in zip(axes, names):
        _plot_curves(ax, history, epochs, name)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="0.4", linestyle=":", label="best epoch")
        _label_epoch_axis(ax, name)
    # One legend beside the panels: it hides no curve.
    entries = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    figure.legend(
        entries.values(),
        entries.keys(),
        loc="outside right upper",
        fontsize="small",
        frameon=False,
    )
    figure.suptitle(f"Training history ({len(history)} epochs)")
    return figure


def _label_epoch_axis(ax, name):
    ax.set(title=name, xlabel="epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _select_metrics(history, metrics):
    """The metric names to plot; unknown names raise a ValueError."""
    available = recorded_metrics(history)
    if metrics is None:
        return available
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in available and m != "loss"]
    if unknown:
        raise ValueError(
            f"Metrics {unknown} were not recorded during fit; recorded metrics "
            f"are {available}. Pass them in the estimator's 'metrics' parameter."
        )
    return [m for m in metrics if m != "loss"]


def _plot_curves(ax, history, epochs, name, color=None, label_prefix=""):
    """Plot ``train_<name>`` (solid) and ``valid_<name>`` (dashed) on ``ax``.

    Without ``color``, training is C0 and validation C1 in every panel.
    """
    for split, style, default in (("train", "-", "C0"), ("valid", "--", "C1")):
        column = f"{split}_{name}"
        if column in history.columns:
            ax.plot(
                epochs,
                history[column].to_numpy(dtype=float),
                linestyle=style,
                color=color or default,
                label=f"{label_prefix}{split}",
            )


def training_curves_figure(estimators):
    """Overlay the training histories of the fold estimators of a report.

    One panel for the loss and one per metric with a ``train_<name>`` or
    ``valid_<name>`` column in any fold's history; each draws the training
    curve solid and the validation curve dashed, in the fold's colour. One
    legend, outside the panels, names the folds and line styles.

    Parameters
    ----------
    estimators : list of estimator objects or pandas.DataFrame
        Fitted fold estimators (those without a history are skipped), or
        history frames.

    Returns
    -------
    figure : matplotlib.figure.Figure or None
        ``None`` when no estimator recorded a history.
    """
    histories = [
        (fold, *history_of(est, caller="the report"))
        for fold, est in enumerate(estimators, start=1)
        if isinstance(est, pd.DataFrame) or has_history(est)
    ]
    if not histories:
        return None
    names = ["loss"]
    for _, history, _ in histories:
        names += [m for m in recorded_metrics(history) if m not in names]
    figure, axes = new_figure(len(names))
    colors = [f"C{i % 10}" for i in range(len(histories))]
    for ax, name in zip(axes, names):
        for color, (fold, history, best_epoch) in zip(colors, histories):
            epochs = epochs_of(history)
            _plot_curves(ax, history, epochs, name, color, f"fold {fold} ")
            _mark_best_epoch(ax, history, epochs, name, best_epoch, color)
        _label_epoch_axis(ax, name)
    handles = [
        Line2D([], [], color=color, label=f"fold {fold}")
        for color, (fold, _, _) in zip(colors, histories)
    ]
    handles += _style_handles(histories, names)
    # One legend for all panels, outside them so that it hides no curve.
    figure.legend(
        handles=handles, loc="outside right upper", fontsize="small", frameon=False
    )
    figure.suptitle("Training curves per fold")
    return figure


def _style_handles(histories, names):
    """Legend entries for the line styles that appear in the panels."""
    splits = {
        split
        for _, history, _ in histories
        for name in names
        for split in ("train", "valid")
        if f"{split}_{name}" in history.columns
    }
    handles = []
    if "train" in splits:
        handles.append(Line2D([], [], color="0.3", linestyle="-", label="training"))
    if "valid" in splits:
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="validation"))
    if any(best is not None for _, _, best in histories) and "valid" in splits:
        handles.append(
            Line2D([], [], color="0.3", marker="o", linestyle="", label="best epoch")
        )
    return handles


def _mark_best_epoch(ax, history, epochs, name, best_epoch, color):
    """Dot the validation curve of ``name`` at the best epoch."""
    column = f"valid_{name}"
    if best_epoch is None or column not in history.columns:
        return
    at_best = np.flatnonzero(epochs == best_epoch)
    if at_best.size:
        value = float(history[column].iloc[at_best[0]])
        ax.plot([best_epoch], [value], marker="o", linestyle="", color=color)


def roc_curve_figure(folds, pos_label):
    """ROC curves of the out-of-fold scores, one per fold.

    Parameters
    ----------
    folds : list of FoldPredictions
        Out-of-fold predictions with ``y_score``.
    pos_label : object
        The positive class.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure, (ax,) = new_figure()
    for i, fold in enumerate(folds):
        RocCurveDisplay.from_predictions(
            fold.y_true,
            fold.y_score,
            pos_label=pos_label,
            name=f"fold {fold.fold}",
            ax=ax,
            plot_chance_level=i == len(folds) - 1,
        )
    ax.set_title(f"ROC curve (positive class: {pos_label})")
    ax.legend(fontsize="small")
    return figure


def precision_recall_figure(folds, pos_label):
    """Precision-recall curves of the out-of-fold scores, one per fold.

    Parameters
    ----------
    folds : list of FoldPredictions
        Out-of-fold predictions with ``y_score``.
    pos_label : object
        The positive class.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure, (ax,) = new_figure()
    for fold in folds:
        PrecisionRecallDisplay.from_predictions(
            fold.y_true,
            y_score=fold.y_score,
            pos_label=pos_label,
            name=f"fold {fold.fold}",
            ax=ax,
        )
    ax.set_title(f"Precision-recall curve (positive class: {pos_label})")
    ax.legend(fontsize="small")
    return figure


def confusion_matrix_figure(folds, classes):
    """Confusion matrix of all out-of-fold predictions.

    Parameters
    ----------
    folds : list of FoldPredictions
        Out-of-fold predicted labels.
    classes : array-like
        The class labels, in display order.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure, (ax,) = new_figure()
    y_true = np.concatenate([fold.y_true for fold in folds])
    y_pred = np.concatenate([fold.y_pred for fold in folds])
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=classes,
        ax=ax,
        xticks_rotation="vertical" if len(classes) > 4 else "horizontal",
        colorbar=False,
    )
    ax.set_title("Confusion matrix (out-of-fold)")
    return figure


def prediction_error_figure(folds):
    """Predicted against actual values, and residuals, out of fold.

    Parameters
    ----------
    folds : list of FoldPredictions
        Out-of-fold predicted values.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure, axes = new_figure(2)
    y_true = np.concatenate([fold.y_true for fold in folds]).astype(float)
    y_pred = np.concatenate([fold.y_pred for fold in folds]).astype(float)
    for ax, kind in zip(axes, ("actual_vs_predicted", "residual_vs_predicted")):
        PredictionErrorDisplay.from_predictions(
            y_true,
            y_pred,
            kind=kind,
            ax=ax,
            random_state=0,
            scatter_kwargs={"alpha": 0.5, "s": 12},
        )
    axes[0].set_title("Actual vs predicted (out-of-fold)")
    axes[1].set_title("Residuals vs predicted (out-of-fold)")
    for ax in axes:
        readable_ticks(ax)
    return figure


def readable_ticks(ax, max_ticks=6):
    """Few, non-overlapping tick labels with thousands separators.

    At most ``max_ticks`` ticks per axis; numbers of 10,000 and more get
    thousands separators (engineering notation, ``12.5M``, from 10 million);
    long x labels are rotated.
    """
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=max_ticks - 1))
        low, high = axis.get_view_interval()
        largest = max(abs(low), abs(high))
        if largest >= 1e7:
            axis.set_major_formatter(EngFormatter(sep=""))
        elif largest >= 1e4:
            axis.set_major_formatter(FuncFormatter(_tick_label))
    if max(abs(v) for v in ax.get_xlim()) >= 1e4:
        ax.tick_params(axis="x", labelrotation=30)


def _tick_label(value, _position=None):
    return format_number(value, digits=6)
