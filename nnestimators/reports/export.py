"""Writing a report: HTML, Markdown, CSV, JSON and PNG files."""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path

from .formatting import format_number

# Nothing may be wider than the page: tables scroll inside their own box,
# images shrink, long words and the estimator's text wrap.
_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; overflow-wrap: break-word; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th { background: #f3f3f3; }
dl.context { display: grid; grid-template-columns: max-content minmax(0, 1fr);
             gap: 0.3em 1.2em; margin: 1em 0; }
dl.context dt { font-weight: 600; }
dl.context dd { margin: 0; overflow-wrap: anywhere; }
.notes li { color: #8a4b00; }
figure { margin: 1.5em 0; max-width: 100%; }
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
    "prediction_error": "Prediction error",
}


def figure_to_png(figure, dpi=100):
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


def frame_to_markdown(frame, floatfmt=".4g"):
    """Render a DataFrame as a Markdown table, with or without ``tabulate``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; its index becomes the first column.
    floatfmt : str, default=".4g"
        Format of float cells.

    Returns
    -------
    markdown : str

    Examples
    --------
    >>> import pandas as pd
    >>> print(frame_to_markdown(pd.DataFrame({"a": [1.0]}, index=["x"])))
    ... # doctest: +NORMALIZE_WHITESPACE
    |    |   a |
    |:---|----:|
    | x  |   1 |
    """
    if importlib.util.find_spec("tabulate") is not None:
        return frame.to_markdown(floatfmt=floatfmt)
    return _plain_markdown_table(frame, floatfmt)


def _plain_markdown_table(frame, floatfmt):
    """A pipe table written by hand, for when ``tabulate`` is missing."""

    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else format(value, floatfmt)
        return str(value).replace("|", "\\|")

    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for label, row in frame.iterrows():
        lines.append("| " + " | ".join([cell(label), *map(cell, row)]) + " |")
    return "\n".join(lines)


def to_markdown(report):
    """The summary and per-fold tables of ``report`` as Markdown.

    Parameters
    ----------
    report : CrossValidatedReport
        The report.

    Returns
    -------
    markdown : str
    """
    return "\n\n".join(
        [
            "# Cross-validated report",
            report.describe(),
            "## Summary (mean ± std over folds)",
            frame_to_markdown(report.formatted_summary()),
            "## Folds",
            frame_to_markdown(report.to_frame()),
        ]
    )


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
        f"<h1>Cross-validated report</h1><p>{html.escape(report.describe())}</p>",
        _context_html(getattr(report, "context", {})),
        _notes_html(report.notes()),
        "<h2>Summary (mean ± std over folds)</h2>",
        _table_html(report.formatted_summary()),
        "<h2>Folds</h2>",
        _table_html(report.to_frame(), float_format=format_number),
        "<h2>Figures</h2>",
        *(_figure_html(name, png) for name, png in pngs.items()),
        "<h2>Estimator</h2>",
        f"<pre>{html.escape(estimator_text(report.estimator))}</pre>",
    ]
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head><meta charset='utf-8'>"
        "<title>Cross-validated report</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


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
    of that.
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
        return printer.pformat(estimator)
    except Exception:  # a private helper: fall back to the public repr
        try:
            return estimator.__repr__(N_CHAR_MAX=1_000_000)
        except TypeError:  # not a scikit-learn estimator
            return repr(estimator)


def _table_html(frame, float_format=None):
    """A table in its own horizontally scrolling box."""
    table = frame.to_html(float_format=float_format, na_rep="")
    return f"<div class='table-wrap'>{table}</div>"


def _context_html(context):
    """The data and model description as a definition list."""
    if not context:
        return ""
    items = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(str(value))}</dd>"
        for key, value in context.items()
    )
    return f"<h2>Data and model</h2><dl class='context'>{items}</dl>"


def _notes_html(notes):
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return f"<h2>Notes</h2><ul class='notes'>{items}</ul>"


def _figure_html(name, png):
    """An ``<img>`` holding a PNG image as a base64 data URI."""
    encoded = base64.b64encode(png).decode("ascii")
    title = html.escape(figure_title(name))
    return (
        f"<figure><img alt='{title}' src='data:image/png;base64,{encoded}'>"
        f"<figcaption>{title}</figcaption></figure>"
    )


def metrics_document(report):
    """The report's numbers as a JSON-ready dict (NaN becomes None).

    Parameters
    ----------
    report : CrossValidatedReport
        The report.

    Returns
    -------
    document : dict
        Keys ``task``, ``estimator``, ``estimator_repr``, ``n_splits``,
        ``positive_label``, ``metrics``, ``context`` (what the report says
        about its data and model), ``notes``,
        ``summary`` (metric -> statistics), ``folds`` (list of per-fold
        records) and ``created``.
    """
    folds = report.to_frame().reset_index()
    return {
        "task": report.task,
        "estimator": report.describe(),
        # One line: scikit-learn's repr wraps and indents nested estimators.
        "estimator_repr": " ".join(estimator_text(report.estimator).split()),
        "n_splits": report.n_splits,
        "positive_label": _json_value(report.pos_label),
        "metrics": report.metric_names,
        "context": {
            str(key): _json_value(value)
            for key, value in getattr(report, "context", {}).items()
        },
        "notes": report.notes(),
        "summary": _records(report.summary(), orient="index"),
        "folds": _records(folds, orient="records"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _records(frame, orient):
    """``DataFrame.to_dict`` with plain, JSON-valid Python values."""
    # A JSON round trip through pandas turns numpy scalars, NA and NaN into
    # plain values and null.
    return json.loads(frame.to_json(orient=orient))


def _json_value(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def save(report, directory):
    """Write ``report`` into ``directory``.

    Writes ``report.html``, ``folds.csv``, ``summary.csv``, ``metrics.json``
    and one ``<figure name>.png`` per figure.

    Parameters
    ----------
    report : CrossValidatedReport
        The report.
    directory : str or path-like
        Created, with its parents, when missing.

    Returns
    -------
    paths : dict of str to pathlib.Path
        Every file written, by file name.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pngs = render_figures(report)
    paths = {
        name: directory / name
        for name in ("report.html", "folds.csv", "summary.csv", "metrics.json")
    }
    to_html(report, paths["report.html"], pngs=pngs)
    report.to_frame().to_csv(paths["folds.csv"])
    report.summary().to_csv(paths["summary.csv"])
    paths["metrics.json"].write_text(
        json.dumps(metrics_document(report), indent=2), encoding="utf-8"
    )
    for name, png in pngs.items():
        paths[f"{name}.png"] = directory / f"{name}.png"
        paths[f"{name}.png"].write_bytes(png)
    return paths


__all__ = [
    "estimator_text",
    "figure_title",
    "figure_to_png",
    "frame_to_markdown",
    "metrics_document",
    "render_figures",
    "save",
    "to_html",
    "to_markdown",
]
