"""Figures: training histories and cross-validated diagnostics.

Every function returns a ``matplotlib.figure.Figure`` drawn on the
non-interactive Agg canvas, so nothing touches pyplot's global state, no
window opens and nothing needs closing.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, FuncFormatter, MaxNLocator
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from .formatting import format_number
from .history import epochs_of, has_history, history_of, loss_label, recorded_metrics

# Inches per panel; the report renders at 100 dpi, so 4.6 inches are 460 px.
_PANEL_SIZE = (4.2, 3.2)
# Curves with a square plot area and a legend need more room.
_SINGLE_PANEL_SIZE = (5.4, 4.8)
# The report's curves: two of them side by side fit a 1000 px page.
_CURVE_SIZE = (4.6, 3.9)
# Training curves: two panels a row, wide enough to read at full size.
_HISTORY_PANEL_SIZE = (4.6, 3.1)


def new_figure(n_panels=1, max_columns=3, panel_size=None):
    """Create an Agg figure with a grid of ``n_panels`` axes.

    Parameters
    ----------
    n_panels : int, default=1
        Number of axes.
    max_columns : int, default=3
        Most axes on one row.
    panel_size : (float, float), default=None
        Width and height of one panel in inches; by default 5.4 x 4.8 for a
        single panel and 4.2 x 3.2 for several.

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
    if panel_size is None:
        panel_size = _SINGLE_PANEL_SIZE if n_panels == 1 else _PANEL_SIZE
    width, height = panel_size
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
        _label_epoch_axis(ax, name, loss_label(estimator))
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


def _label_epoch_axis(ax, name, loss_text="loss"):
    """Title the panel; the loss panel's y axis says what the loss measures."""
    ax.set(title=name, xlabel="epoch")
    if name == "loss":
        # Wrapped: a long unit would not fit beside the panel on one line.
        ax.set_ylabel(textwrap.fill(loss_text, 32), fontsize="small")
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
    # Two panels a row; an odd count leaves the last cell to the legend.
    figure, axes = new_figure(len(names), max_columns=2, panel_size=_HISTORY_PANEL_SIZE)
    n_rows = math.ceil(len(names) / 2)
    colors = [f"C{i % 10}" for i in range(len(histories))]
    first = next(
        est for est in estimators if isinstance(est, pd.DataFrame) or has_history(est)
    )
    for ax, name in zip(axes, names):
        for color, (fold, history, best_epoch) in zip(colors, histories):
            epochs = epochs_of(history)
            _plot_curves(ax, history, epochs, name, color, f"fold {fold} ")
            _mark_best_epoch(ax, history, epochs, name, best_epoch, color)
        _label_epoch_axis(ax, name, loss_label(first))
    handles = [
        Line2D([], [], color=color, label=f"fold {fold}")
        for color, (fold, _, _) in zip(colors, histories)
    ]
    handles += _style_handles(histories, names)
    # One legend for all panels, outside them so that it hides no curve.
    if len(names) > 1 and len(names) % 2 == 1:
        figure.legend(
            handles=handles,
            loc="center",
            bbox_to_anchor=(0.75, 0.5 / n_rows),
            fontsize="small",
            frameon=False,
            ncols=2,
        )
    else:
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
    figure, (ax,) = new_figure(panel_size=_CURVE_SIZE)
    for i, fold in enumerate(folds):
        RocCurveDisplay.from_predictions(
            fold.y_true,
            fold.y_score,
            pos_label=pos_label,
            name=f"fold {fold.fold}",
            ax=ax,
            plot_chance_level=i == len(folds) - 1,
        )
    ax.set_title(f"ROC curve (positive class: {pos_label})", fontsize="medium")
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(fontsize="x-small", loc="lower right")
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
    figure, (ax,) = new_figure(panel_size=_CURVE_SIZE)
    for fold in folds:
        PrecisionRecallDisplay.from_predictions(
            fold.y_true,
            y_score=fold.y_score,
            pos_label=pos_label,
            name=f"fold {fold.fold}",
            ax=ax,
        )
    ax.set_title(
        f"Precision-recall curve (positive class: {pos_label})", fontsize="medium"
    )
    ax.set(xlabel="recall", ylabel="precision")
    ax.legend(fontsize="x-small", loc="lower left")
    return figure


def confusion_matrix_figure(folds, classes):
    """Confusion matrices of all out-of-fold predictions: counts and rates.

    The left panel counts the rows; the right one divides each row by the
    number of rows of its true class, so its diagonal is each class's
    recall and classes of any size compare.

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
    # Cells big enough for their numbers, however many classes there are.
    side = max(3.3, 0.5 * len(classes) + 1.9)
    figure, axes = new_figure(2, panel_size=(side, side * 0.92))
    y_true = np.concatenate([fold.y_true for fold in folds])
    y_pred = np.concatenate([fold.y_pred for fold in folds])
    rotation = "vertical" if len(classes) > 4 else "horizontal"
    for ax, normalize, title, values in (
        (axes[0], None, "Counts", None),
        (axes[1], "true", "Share of each true class", ".2f"),
    ):
        ConfusionMatrixDisplay.from_predictions(
            y_true,
            y_pred,
            labels=classes,
            normalize=normalize,
            values_format=values,
            ax=ax,
            xticks_rotation=rotation,
            colorbar=False,
            text_kw={"fontsize": "small" if len(classes) > 6 else "medium"},
        )
        ax.set_title(title, fontsize="medium")
    axes[1].set_ylabel("")
    figure.suptitle("Confusion matrix (out-of-fold)")
    return figure


def calibration_figure(folds, classes, pos_label=None, n_bins=10):
    """Reliability diagram of the out-of-fold probabilities, with their counts.

    For a binary task, the predicted probability of ``pos_label`` against
    the share of rows that are ``pos_label``, in ``n_bins`` equal-width
    bins; for more classes, the probability of the predicted class against
    the share of rows predicted right. A calibrated model follows the
    diagonal. Below, how many rows fall in each bin.

    Parameters
    ----------
    folds : list of FoldPredictions
        Out-of-fold predictions with ``y_proba``.
    classes : array-like
        The class labels, in the order of ``y_proba``'s columns.
    pos_label : object, default=None
        The positive class of a binary task.
    n_bins : int, default=10
        Bins of predicted probability.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    y_true = np.concatenate([fold.y_true for fold in folds])
    proba = np.concatenate([fold.y_proba for fold in folds])
    if len(classes) == 2:
        probability = proba[:, list(classes).index(pos_label)]
        hit = y_true == pos_label
        x_label = f"predicted probability of {pos_label}"
        y_label = f"share that is {pos_label}"
    else:
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
        probability = proba.max(axis=1)
        hit = y_true == predicted
        x_label = "predicted probability of the predicted class"
        y_label = "share predicted right"
    share, mean_probability = calibration_curve(
        hit.astype(int), probability, n_bins=n_bins, strategy="uniform"
    )
    figure = Figure(figsize=(_CURVE_SIZE[0], 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    curve, counts = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    curve.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="calibrated")
    curve.plot(mean_probability, share, marker="o", color="C0", label="out-of-fold")
    curve.set(ylabel=y_label, xlim=(0, 1), ylim=(-0.02, 1.02))
    curve.legend(fontsize="x-small", loc="upper left")
    curve.set_title("Calibration (reliability diagram)", fontsize="medium")
    counts.hist(probability, bins=n_bins, range=(0, 1), color="C0", alpha=0.7)
    counts.set(xlabel=x_label, ylabel="rows")
    counts.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
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
    figure, axes = new_figure(2, panel_size=_CURVE_SIZE)
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
