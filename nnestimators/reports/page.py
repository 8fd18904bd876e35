"""The report as one self-contained HTML page.

The page answers "does the network help?" first (the network beside its
baselines), then shows the folds, the figures, the estimator and what the
report was made with. It fits a 1000 px wide window: tables are split so
that none needs more room than a few metrics, long names wrap, and figures
are drawn at the size they are shown.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

from .formatting import format_number, mean_and_std
from .history import final_step
from .provenance import readable_value, without_addresses

# Nothing may be wider than the page: long words and the estimator's text
# wrap, images shrink, and a table box would scroll inside itself rather
# than widen the page (the tables are laid out not to need it).
_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; overflow-wrap: break-word; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: 0.6em 0 1.2em; }
table { border-collapse: collapse; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; }
thead th { vertical-align: bottom; max-width: 11em; overflow-wrap: anywhere; }
tbody th { text-align: left; }
td.best { font-weight: 700; }
p.verdict { font-size: 1.05em; max-width: 60em; }
dl.context { display: grid; grid-template-columns: max-content minmax(0, 1fr);
             gap: 0.3em 1.2em; margin: 1em 0; }
dl.context dt { font-weight: 600; }
dl.context dd { margin: 0; overflow-wrap: anywhere; }
.notes li { color: #8a4b00; }
.figures { display: flex; flex-wrap: wrap; gap: 1em 2em; align-items: flex-start; }
figure { margin: 0.5em 0; max-width: 100%; }
figcaption { font-weight: 600; margin-top: 0.3em; }
img { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.8em; max-width: 100%;
      white-space: pre-wrap; overflow-wrap: anywhere; }
"""

# The captions of the report's figures; other names are spelled out.
FIGURE_TITLES = {
    "training_curves": "Training curves",
    "roc_curve": "ROC curve",
    "precision_recall_curve": "Precision-recall curve",
    "confusion_matrix": "Confusion matrix",
    "calibration": "Calibration (reliability diagram)",
    "prediction_error": "Prediction error",
}

# The figures are drawn at this resolution and shown at their natural size.
DPI = 100


def figure_to_png(figure, dpi=DPI):
    """Render a matplotlib figure to PNG bytes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    dpi : int, default=100
        Resolution.

    Returns
    -------
    png : bytes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_to_png(Figure()).startswith(b"\\x89PNG")
    True
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def render_figures(report):
    """Every figure of ``report`` rendered to PNG bytes, by name."""
    return {name: figure_to_png(fig) for name, fig in report.figures().items()}


def figure_title(name):
    """The caption of figure ``name``: ``"ROC curve"`` for ``"roc_curve"``."""
    if name in FIGURE_TITLES:
        return FIGURE_TITLES[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def estimator_text(estimator, max_elements=1000, width=100):
    """The estimator's whole repr, every column list and name in full.

    scikit-learn's ``repr`` cuts the text at 700 characters, often in the
    middle of a column name, shows 30 elements of a list, and Python's
    pretty printer splits long strings across lines; this text does none
    of that. Memory addresses (``<function f at 0x...>``) are left out.
    """
    try:
        from sklearn.utils._pprint import _EstimatorPrettyPrinter

        class _WholeStrings(_EstimatorPrettyPrinter):
            # Without an entry for str, strings are written whole.
            _dispatch = {
                kind: method
                for kind, method in _EstimatorPrettyPrinter._dispatch.items()
                if kind is not str.__repr__
            }

        printer = _WholeStrings(
            compact=True,
            indent=1,
            width=width,
            indent_at_name=True,
            n_max_elements_to_show=max_elements,
        )
        text = printer.pformat(estimator)
    except Exception:  # a private helper: fall back to the public repr
        try:
            text = estimator.__repr__(N_CHAR_MAX=1_000_000)
        except TypeError:  # not a scikit-learn estimator
            text = repr(estimator)
    return without_addresses(text)


def to_html(report, path=None, pngs=None):
    """Render ``report`` as one self-contained HTML page.

    Parameters
    ----------
    report : CrossValidatedReport
        The report.
    path : str or path-like, default=None
        When given, the page is also written there.
    pngs : dict of str to bytes, default=None
        Rendered figures to embed, by name; ``report.figures()`` rendered
        when None.

    Returns
    -------
    html : str
    """
    if pngs is None:
        pngs = render_figures(report)
    sections = [
        f"<h1>Cross-validated report</h1><p>{_text(report.describe())}</p>",
        _context_html(getattr(report, "context", {})),
        _notes_html(report.notes()),
        _summary_html(report),
        _chosen_parameters_html(report),
        _folds_html(report),
        "<h2>Figures</h2>",
        "<div class='figures'>"
        + "".join(_figure_html(name, png) for name, png in pngs.items())
        + "</div>",
        "<h2>Estimator</h2>",
        f"<pre>{_text(estimator_text(report.estimator))}</pre>",
        _run_html(report),
    ]
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Cross-validated report</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(section for section in sections if section)
        + "\n</body>\n</html>\n"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _text(value):
    """Escaped text without memory addresses."""
    return html.escape(without_addresses(str(value)))


def table_html(header, rows, caption=None, best=None):
    """A table whose first column labels the rows.

    Parameters
    ----------
    header : list of str
        Column titles, the row labels' column first. Underscores may break
        a title across lines.
    rows : list of list
        Cells as text (numbers are formatted by the caller).
    caption : str, default=None
        Title above the table.
    best : set of (int, int), default=None
        ``(row, column)`` cells to set in bold.

    Returns
    -------
    html : str
    """
    best = best or set()
    head = "".join(
        f"<th scope='col'>{_text(title).replace('_', '_<wbr>')}</th>"
        for title in header
    )
    body = []
    for r, row in enumerate(rows):
        label, *cells = row
        tds = "".join(
            f"<td class='best'>{_text(cell)}</td>"
            if (r, c) in best
            else f"<td>{_text(cell)}</td>"
            for c, cell in enumerate(cells, start=1)
        )
        body.append(f"<tr><th scope='row'>{_text(label)}</th>{tds}</tr>")
    title = f"<caption>{_text(caption)}</caption>" if caption else ""
    return (
        f"<div class='table-wrap'><table>{title}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _summary_html(report):
    """The network's test and train scores beside its baselines' test scores."""
    summary = report.summary()
    splits = ["test", "train"] if report.has_train_scores else ["test"]
    header = ["metric", *(f"network, {split}" for split in splits)]
    columns = [(summary[f"{s}_mean"], summary[f"{s}_std"]) for s in splits]
    baselines = report.baseline_summary()
    scored = [name for name in ("linear", "dummy") if f"{name}_test_mean" in baselines]
    for name in scored:
        header.append(f"{name} baseline, test")
        columns.append((baselines[f"{name}_test_mean"], baselines[f"{name}_test_std"]))
    rows, best = [], set()
    test_columns = [1, *range(len(splits) + 1, len(header))]
    for r, metric in enumerate(report.metrics):
        means = [float(mean.iloc[r]) for mean, _ in columns]
        rows.append(
            [metric.name]
            + [mean_and_std(mean.iloc[r], std.iloc[r]) for mean, std in columns]
        )
        if scored:
            best |= {(r, c) for c in _best_columns(means, test_columns, metric)}
    parts = ["<h2>Summary (mean ± std over folds)</h2>"]
    comparison = report.comparison()
    if comparison:
        parts.append(f"<p class='verdict'>{_text(comparison)}</p>")
    parts.append(table_html(header, rows, best=best))
    if scored:
        parts.append(_baselines_text(report, scored))
    return "\n".join(parts)


def _best_columns(means, test_columns, metric):
    """The test columns holding the best mean of a row (ties all bold)."""
    values = {c: means[c - 1] for c in test_columns if not math.isnan(means[c - 1])}
    if not values:
        return []
    pick = min if metric.sign == -1 else max
    target = pick(values.values())
    return [c for c, value in values.items() if value == target]


def _baselines_text(report, names):
    items = "".join(
        f"<li><b>{_text(name)}</b>: {_text(report.baselines[name].model)}, "
        f"{_text(report.baselines[name].description)}</li>"
        for name in names
    )
    return (
        "<p>Baselines, cross-validated on the same folds, after the same "
        "preprocessing, with the same metrics (the best test score of each "
        f"row in bold):</p><ul>{items}</ul>"
    )


def _chosen_parameters_html(report):
    """What the search chose in each fold, when the estimator is a search."""
    chosen = report.chosen_parameters()
    if chosen.empty:
        return ""
    header = ["fold", *chosen.columns]
    rows = [
        [
            str(fold),
            *(
                format_number(value)
                if name == "best_inner_score"
                else readable_value(value)
                for name, value in row.items()
            ),
        ]
        for fold, row in chosen.iterrows()
    ]
    return (
        "<h2>Chosen parameters per fold</h2>"
        "<p>The search ran inside each training part (nested cross-validation); "
        "each fold's model was refitted with its choice, named here as a "
        "parameter of the learning step. best_inner_score is the search's own "
        "cross-validated score of that choice.</p>" + table_html(header, rows)
    )


def _folds_html(report):
    """Per-fold scores, one table per split, and the training of each fold."""
    frame = report.to_frame()
    parts = ["<h2>Folds</h2>"]
    splits = (("test", "Test scores"), ("train", "Training scores"))
    for split, caption in splits:
        columns = [f"{split}_{m.name}" for m in report.metrics]
        if not all(column in frame for column in columns):
            continue
        rows = [
            [str(fold), *(format_number(frame.loc[fold, c]) for c in columns)]
            for fold in frame.index
        ]
        parts.append(table_html(["fold", *report.metric_names], rows, caption))
    training = [c for c in ("best_epoch", "n_epochs") if c in frame]
    header = ["fold", *training, "fit time (s)", "score time (s)"]
    capped = set(report.epoch_cap_folds()) if training else set()
    if training:
        header.append("ended by")
    rows = []
    for fold in frame.index:
        row = [str(fold)]
        row += [
            "" if _missing(frame.loc[fold, c]) else str(frame.loc[fold, c])
            for c in training
        ]
        row += [format_number(frame.loc[fold, "fit_time"], 3)]
        row += [format_number(frame.loc[fold, "score_time"], 3)]
        if training:
            row.append(_ending(report, fold, capped))
        rows.append(row)
    parts.append(table_html(header, rows, "Training"))
    return "\n".join(parts)


def _ending(report, fold, capped):
    """How a fold's training ended: early stopping, or the epoch cap."""
    final = final_step(report.estimators_[fold - 1])
    if fold in capped:
        return "max_epochs cap, still improving"
    if getattr(final, "patience", None) is None:
        return "max_epochs"
    return "early stopping"


def _missing(value):
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):
        return False


def _context_html(context):
    """The data and model description as a definition list."""
    if not context:
        return ""
    items = "".join(
        f"<dt>{_text(key)}</dt><dd>{_text(value)}</dd>"
        for key, value in context.items()
    )
    return f"<h2>Data and model</h2><dl class='context'>{items}</dl>"


def _notes_html(notes):
    if not notes:
        return ""
    items = "".join(f"<li>{_text(note)}</li>" for note in notes)
    return f"<h2>Notes</h2><ul class='notes'>{items}</ul>"


def _run_html(report):
    """The command line and library versions the report was made with."""
    entries = {}
    command = getattr(report, "command", None)
    if command:
        entries["Command"] = command
    created = getattr(report, "created", None)
    if created:
        entries["Created"] = created
    versions = getattr(report, "versions", {})
    if versions:
        entries["Versions"] = ", ".join(f"{k} {v}" for k, v in versions.items())
    if not entries:
        return ""
    items = "".join(
        f"<dt>{_text(key)}</dt><dd>{_text(value)}</dd>"
        for key, value in entries.items()
    )
    return f"<h2>Made with</h2><dl class='context'>{items}</dl>"


def _figure_html(name, png):
    """An ``<img>`` holding a PNG image as a base64 data URI, at its size."""
    encoded = base64.b64encode(png).decode("ascii")
    title = html.escape(figure_title(name))
    width, height = _png_size(png)
    size = f" width='{width}' height='{height}'" if width else ""
    return (
        f"<figure><img alt='{title}'{size} src='data:image/png;base64,{encoded}'>"
        f"<figcaption>{title}</figcaption></figure>"
    )


def _png_size(png):
    """Width and height of a PNG image from its header, or (0, 0)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return 0, 0
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
