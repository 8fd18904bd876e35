"""Writing a report's files: HTML, Markdown, CSV, JSON and PNG."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

from .page import (
    FIGURE_TITLES,
    estimator_text,
    figure_title,
    figure_to_png,
    render_figures,
    to_html,
)
from .provenance import readable_value

# The files every report writes; one ``<figure>.png`` per figure joins them.
TABLE_FILES = (
    "report.html",
    "folds.csv",
    "summary.csv",
    "predictions.csv",
    "metrics.json",
)


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
    """The summary, baselines and per-fold tables of ``report`` as Markdown.

    Parameters
    ----------
    report : CrossValidatedReport
        The report.

    Returns
    -------
    markdown : str
    """
    parts = [
        "# Cross-validated report",
        report.describe(),
        "## Summary (mean ± std over folds)",
        frame_to_markdown(report.formatted_summary()),
    ]
    comparison = report.comparison()
    if comparison is not None:
        parts += [
            "## Baselines on the same folds (test scores)",
            comparison,
            frame_to_markdown(report.formatted_comparison()),
        ]
    chosen = report.chosen_parameters()
    if not chosen.empty:
        parts += [
            "## Chosen parameters per fold",
            frame_to_markdown(chosen.map(readable_value)),
        ]
    parts += ["## Folds", frame_to_markdown(report.to_frame())]
    return "\n\n".join(parts)


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
        about its data and model), ``notes``, ``summary`` (metric ->
        statistics), ``folds`` (list of per-fold records), ``baselines``
        (name -> ``model``, ``description``, ``summary``, ``folds`` and
        ``error``), ``comparison`` (the sentence saying which model is
        best), ``chosen_parameters`` (per fold, under a search; else an
        empty list), ``command``, ``versions`` and ``created``.
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
        "baselines": _baselines_document(report),
        "comparison": report.comparison(),
        "chosen_parameters": _chosen_document(report),
        "command": getattr(report, "command", None),
        "versions": dict(getattr(report, "versions", {})),
        "created": report.created,
    }


def _baselines_document(report):
    """Each baseline's scores, as the network's are recorded."""
    document = {}
    summary = report.baseline_summary()
    for name, result in report.baselines.items():
        entry = {
            "model": result.model,
            "description": result.description,
            "summary": None,
            "folds": None,
            "error": result.error,
        }
        if result.cv_results is not None:
            prefix = f"{name}_"
            own = summary[[c for c in summary.columns if c.startswith(prefix)]]
            own.columns = [c[len(prefix) :] for c in own.columns]
            entry["summary"] = _records(own, orient="index")
            entry["folds"] = [
                {
                    "fold": number,
                    **{
                        f"{split}_{m.name}": float(result.scores(split, m)[number - 1])
                        for split in ("test", "train")
                        for m in report.metrics
                        if f"{split}_{m.name}" in result.cv_results
                    },
                    "fit_time": float(result.cv_results["fit_time"][number - 1]),
                }
                for number in range(1, report.n_splits + 1)
            ]
        document[name] = entry
    return document


def _chosen_document(report):
    """The search's choice in each fold, values as JSON allows."""
    chosen = report.chosen_parameters()
    return [
        {
            "fold": int(fold),
            "parameters": {
                name: _json_parameter(value)
                for name, value in row.items()
                if name != "best_inner_score"
            },
            "best_inner_score": _json_value(row.get("best_inner_score")),
        }
        for fold, row in chosen.iterrows()
    ]


def _json_parameter(value):
    """Numbers and strings as they are, tuples as lists, anything else as text."""
    if isinstance(value, (tuple, list)):
        return [_json_parameter(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, type):
        value = value.item()  # numpy scalars
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return readable_value(value)


def _records(frame, orient):
    """``DataFrame.to_dict`` with plain, JSON-valid Python values."""
    # A JSON round trip through pandas turns numpy scalars, NA and NaN into
    # plain values and null.
    return json.loads(frame.to_json(orient=orient))


def _json_value(value):
    if hasattr(value, "item") and not isinstance(value, type):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def file_names(report):
    """The names of the files ``save`` writes for ``report``, in order.

    Returns
    -------
    names : list of str
    """
    return [*TABLE_FILES, *(f"{name}.png" for name in report.figure_names())]


def summary_table(report):
    """``summary.csv``: the network's statistics, then each baseline's."""
    summary = report.summary()
    baselines = report.baseline_summary()
    return summary.join(baselines) if len(baselines.columns) else summary


def predictions_table(report):
    """``predictions.csv``: one row per sample, without the positional index."""
    return report.predictions().reset_index(drop=True)


def save(report, directory):
    """Write ``report`` into ``directory``.

    Writes ``report.html``, ``folds.csv``, ``summary.csv`` (the network's
    statistics, then each baseline's), ``predictions.csv`` (out-of-fold
    predictions, one row per sample), ``metrics.json`` and one
    ``<figure name>.png`` per figure.

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
    paths = {name: directory / name for name in TABLE_FILES}
    to_html(report, paths["report.html"], pngs=pngs)
    report.to_frame().to_csv(paths["folds.csv"])
    summary_table(report).to_csv(paths["summary.csv"])
    predictions_table(report).to_csv(paths["predictions.csv"], index=False)
    paths["metrics.json"].write_text(
        json.dumps(metrics_document(report), indent=2), encoding="utf-8"
    )
    for name, png in pngs.items():
        paths[f"{name}.png"] = directory / f"{name}.png"
        paths[f"{name}.png"].write_bytes(png)
    return paths


__all__ = [
    "FIGURE_TITLES",
    "TABLE_FILES",
    "estimator_text",
    "file_names",
    "figure_title",
    "figure_to_png",
    "frame_to_markdown",
    "metrics_document",
    "predictions_table",
    "render_figures",
    "save",
    "summary_table",
    "to_html",
    "to_markdown",
]
