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

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em;
       color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
"""


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
        "<h2>Summary (mean ± std over folds)</h2>",
        report.formatted_summary().to_html(),
        "<h2>Folds</h2>",
        report.to_frame().to_html(float_format=lambda v: f"{v:.4g}"),
        "<h2>Figures</h2>",
        *(_figure_html(name, png) for name, png in pngs.items()),
        "<h2>Estimator</h2>",
        f"<pre>{html.escape(repr(report.estimator))}</pre>",
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


def _figure_html(name, png):
    """An ``<img>`` holding a PNG image as a base64 data URI."""
    encoded = base64.b64encode(png).decode("ascii")
    title = html.escape(name.replace("_", " "))
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
        ``positive_label``, ``metrics``,
        ``summary`` (metric -> statistics), ``folds`` (list of per-fold
        records) and ``created``.
    """
    folds = report.to_frame().reset_index()
    return {
        "task": report.task,
        "estimator": report.describe(),
        # One line: scikit-learn's repr wraps and indents nested estimators.
        "estimator_repr": " ".join(repr(report.estimator).split()),
        "n_splits": report.n_splits,
        "positive_label": _json_value(report.pos_label),
        "metrics": report.metric_names,
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
    "figure_to_png",
    "frame_to_markdown",
    "metrics_document",
    "render_figures",
    "save",
    "to_html",
    "to_markdown",
]
