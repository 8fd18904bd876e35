"""The ``--out`` folder: which folders the command may write into, and how.

The command never overwrites what it did not write. ``--out`` must be a new
or empty folder, or a folder holding an earlier report of this command
(recognised by the marker file :data:`MARKER`), and the latter only with
``--overwrite``. It never writes over the ``--data`` file. All of this is
checked before the table is read, so a wrong ``--out`` fails at once.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .errors import CliError, RunError

# Written into every report folder; it lists the files the command wrote.
MARKER = ".nnestimators-report"

# Every file name a report may write (the figures depend on the task).
REPORT_FILE_NAMES = frozenset(
    {
        "report.html",
        "folds.csv",
        "summary.csv",
        "metrics.json",
        "training_curves.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "confusion_matrix.png",
        "prediction_error.png",
        MARKER,
    }
)


def check_out_dir(path, data=None, overwrite=False):
    """Check that the report may be written to ``path``; create nothing.

    Parameters
    ----------
    path : str or path-like
        The ``--out`` option.
    data : str or path-like, default=None
        The ``--data`` option; the report never writes over it.
    overwrite : bool, default=False
        The ``--overwrite`` option: replace an earlier report.

    Returns
    -------
    out : pathlib.Path

    Raises
    ------
    CliError
        If ``path`` is a file, a folder holding other files, an earlier
        report without ``--overwrite``, or a report folder holding ``data``
        under a name the report writes.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out must be a directory; {out} is a file")
    if data is not None:
        _check_data_not_overwritten(out, Path(data))
    if not out.is_dir():
        return out
    try:
        entries = [entry.name for entry in os.scandir(out)]
    except OSError as error:
        raise CliError(f"cannot read --out directory {out}: {error}") from None
    if not entries:
        return out
    if MARKER not in entries:
        raise CliError(
            f"--out directory {out} is not empty and holds no earlier report of "
            "this command; choose a new or empty directory"
        )
    if not overwrite:
        raise CliError(
            f"--out directory {out} holds an earlier report; pass --overwrite to "
            "replace it, or choose another directory"
        )
    foreign = _foreign_entries(out, entries)
    if foreign:
        raise CliError(
            f"--out directory {out} holds {', '.join(foreign)} under the names a "
            "report writes, but not as files an earlier report wrote (a link, a "
            "folder or a file of yours); move them away or choose another directory"
        )
    return out


def _foreign_entries(out, entries):
    """Names the report writes that hold something an earlier report did not write.

    Writing there would go through a link or over a file of the user's, so
    they must be plain files the marker lists (the marker itself included).
    """
    listed = set(written_files(out)) | {MARKER}
    foreign = []
    for name in sorted(REPORT_FILE_NAMES & set(entries)):
        path = Path(out) / name
        if path.is_symlink() or not path.is_file() or name not in listed:
            foreign.append(name)
    return foreign


def _check_data_not_overwritten(out, data):
    """Raise if the report would write over the ``--data`` file."""
    try:
        data = data.resolve()
        inside = data.parent == out.resolve()
    except OSError:
        return
    if not inside:
        return
    if data.name in REPORT_FILE_NAMES | set(written_files(out)):
        raise CliError(
            f"--out {out} would overwrite the --data file {data.name}; "
            "choose another --out directory"
        )


def written_files(out):
    """The file names an earlier report listed in its marker file."""
    try:
        document = json.loads((Path(out) / MARKER).read_text(encoding="utf-8"))
        names = document["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    # Plain names only: a marker must not point outside its folder.
    return [
        name
        for name in names
        if isinstance(name, str) and name == Path(name).name and name not in ("", ".")
    ]


def prepare_out_dir(out):
    """Create ``out`` (before training, so a path that cannot be made fails fast)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create --out directory {out}: {error}") from None
    return out


def remove_earlier_report(out):
    """Delete the files an earlier report in ``out`` wrote (its marker lists them).

    Anything else in the folder stays. Called after training succeeded, so a
    failed run leaves the earlier report as it was.
    """
    out = Path(out)
    try:
        for name in written_files(out):
            path = out / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
        # Checked before training too; again now, just before writing.
        foreign = _foreign_entries(out, [entry.name for entry in os.scandir(out)])
    except OSError as error:
        raise RunError(f"cannot replace the report in {out}: {error}") from None
    if foreign:
        raise RunError(
            f"not writing the report into {out}: {', '.join(foreign)} appeared "
            "there under the names a report writes; nothing was overwritten"
        )


def write_marker(out, names):
    """Write the marker file listing ``names``, the files the report wrote."""
    document = {
        "written_by": "nnestimators report",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": sorted({*names, MARKER}),
    }
    path = Path(out) / MARKER
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
