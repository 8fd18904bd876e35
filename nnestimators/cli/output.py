"""The ``--out`` folder: which folders the command may write into, and how.

The command never overwrites or deletes what it did not write. ``--out``
must be a new or empty folder, or a folder holding an earlier report of
this command (recognised by the marker file :data:`MARKER`), and the latter
only with ``--overwrite``. The marker records every file the report wrote
with its size and SHA-256; ``--overwrite`` removes a file only when its name
is one a report writes and it still has that size and hash. Anything else
(a file of the user's, one changed since, one the marker names without a
hash) stays, and the command names it. It never writes over the ``--data``
file. The folder is checked before the table is read, so a wrong ``--out``
fails at once, and again just before writing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import CliError, RunError

# Written into every report folder; it lists the files the command wrote.
MARKER = ".nnestimators-report"

# The files every report writes; figures join them by task.
TABLE_FILE_NAMES = frozenset(
    {
        "report.html",
        "folds.csv",
        "summary.csv",
        "predictions.csv",
        "metrics.json",
    }
)

# Every file name a report may write (the figures depend on the task).
REPORT_FILE_NAMES = frozenset(
    TABLE_FILE_NAMES
    | {
        "training_curves.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "confusion_matrix.png",
        "calibration.png",
        "prediction_error.png",
        MARKER,
    }
)

# A marker is a short JSON file; a larger one is not ours.
MAX_MARKER_BYTES = 1 << 20
_CHUNK = 1 << 20


@dataclass
class Earlier:
    """What an earlier report left in ``--out``, sorted by what may happen to it.

    Attributes
    ----------
    removable : list of str
        Files a report writes that the marker records and that still have
        the recorded size and SHA-256: ``--overwrite`` removes them.
    kept : dict of str to str
        Every other entry of the folder, with the reason it stays.
    """

    removable: list = field(default_factory=list)
    kept: dict = field(default_factory=dict)


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
        report without ``--overwrite``, a report folder holding ``data``
        under a name the report writes, or one where a name every report
        writes holds something the earlier report did not write.
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
    try:
        earlier = survey(out)
    except OSError as error:
        raise CliError(f"cannot read --out directory {out}: {error}") from None
    # Strict before training: any name a report may write must be free or
    # hold the earlier report's own file, unchanged.
    blocking = _blocking(earlier, REPORT_FILE_NAMES)
    if blocking:
        raise CliError(
            f"--out directory {out} holds {_list(blocking, earlier)} under the "
            "names a report writes, but not as files the earlier report wrote; "
            "nothing was removed: move them away or choose another directory"
        )
    return out


def _blocking(earlier, names):
    """Entries under ``names`` that stay: the report cannot write there."""
    return sorted(name for name in earlier.kept if name in names)


def _list(names, earlier):
    """``"summary.csv (not a plain file), ..."``."""
    return ", ".join(f"{name} ({earlier.kept[name]})" for name in names)


def survey(out):
    """Sort the entries of ``out`` into what ``--overwrite`` may remove and what stays.

    Parameters
    ----------
    out : path-like
        A folder holding an earlier report.

    Returns
    -------
    earlier : Earlier
    """
    out = Path(out)
    recorded = recorded_files(out)
    earlier = Earlier()
    for entry in sorted(os.scandir(out), key=lambda entry: entry.name):
        name = entry.name
        if name == MARKER:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                earlier.kept[name] = "not a plain file"
            continue
        reason = _why_kept(out / name, name, recorded.get(name, False))
        if reason is None:
            earlier.removable.append(name)
        else:
            earlier.kept[name] = reason
    return earlier


def _why_kept(path, name, record):
    """Why ``path`` must stay, or None when the earlier report wrote it as it is."""
    if name not in REPORT_FILE_NAMES:
        return (
            "listed in the marker, but not a file a report writes"
            if record is not False
            else "not written by this command"
        )
    if path.is_symlink() or not path.is_file():
        return "not a plain file"
    if record is False:
        return "not listed in the marker"
    if record is None:
        return "listed in the marker without its size and hash"
    size, digest = record
    if path.stat().st_size != size or file_digest(path) != digest:
        return "changed since the earlier report wrote it"
    return None


def file_digest(path):
    """The SHA-256 of a file, as hex digits, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_files(out):
    """The files an earlier report's marker records.

    Returns
    -------
    files : dict of str to (int, str) or None
        By plain file name (a name with a folder in it is ignored: a marker
        must not point outside its folder), the recorded size and SHA-256,
        or None for a name the marker lists without them.
    """
    path = Path(out) / MARKER
    try:
        if path.is_symlink() or path.stat().st_size > MAX_MARKER_BYTES:
            return {}
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(entries, list):
        return {}
    files = {}
    for entry in entries:
        if isinstance(entry, str):
            name, record = entry, None
        elif isinstance(entry, dict):
            name, record = entry.get("name"), _size_and_hash(entry)
        else:
            continue
        if isinstance(name, str) and _plain_name(name):
            files[name] = record
    return files


def _size_and_hash(entry):
    size, digest = entry.get("size"), entry.get("sha256")
    if isinstance(size, int) and not isinstance(size, bool) and isinstance(digest, str):
        return size, digest.lower()
    return None


def _plain_name(name):
    return name == Path(name).name and name not in ("", ".", "..")


def _check_data_not_overwritten(out, data):
    """Raise if the report would write over the ``--data`` file."""
    try:
        data = data.resolve()
        inside = data.parent == out.resolve()
    except OSError:
        return
    if not inside:
        return
    # Only those names are ever written or removed.
    if data.name in REPORT_FILE_NAMES:
        raise CliError(
            f"--out {out} would overwrite the --data file {data.name}; "
            "choose another --out directory"
        )


def prepare_out_dir(out):
    """Create ``out`` (before training, so a path that cannot be made fails fast)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create --out directory {out}: {error}") from None
    return out


def remove_earlier_report(out, names):
    """Delete the earlier report's files that are unchanged; keep everything else.

    Called after training succeeded, so a failed run leaves the earlier
    report as it was.

    Parameters
    ----------
    out : path-like
        The ``--out`` folder.
    names : iterable of str
        The files this run is about to write.

    Returns
    -------
    kept : dict of str to str
        The entries that stay, with the reason for each.

    Raises
    ------
    RunError
        If something that stays sits under a name this run writes; nothing
        is removed then.
    """
    out = Path(out)
    try:
        if not (out / MARKER).exists():
            earlier = Earlier(kept=_unmarked(out))
        else:
            earlier = survey(out)
        # Checked before training too; again now, just before writing.
        blocking = _blocking(earlier, set(names) | {MARKER})
        if blocking:
            raise RunError(
                f"not writing the report into {out}: {_list(blocking, earlier)} "
                "appeared there under the names a report writes; nothing was "
                "overwritten"
            )
        for name in earlier.removable:
            (out / name).unlink()
    except OSError as error:
        raise RunError(f"cannot replace the report in {out}: {error}") from None
    return earlier.kept


def _unmarked(out):
    """The entries of a folder without a marker: none is the command's."""
    return {
        entry.name: "not written by this command"
        for entry in sorted(os.scandir(out), key=lambda entry: entry.name)
    }


def write_marker(out, names):
    """Write the marker file recording ``names`` with their sizes and SHA-256.

    Parameters
    ----------
    out : path-like
        The folder.
    names : iterable of str
        The files the report wrote there.

    Returns
    -------
    path : pathlib.Path
    """
    out = Path(out)
    files = [
        {
            "name": name,
            "size": (out / name).stat().st_size,
            "sha256": file_digest(out / name),
        }
        for name in sorted(set(names) - {MARKER})
    ]
    document = {
        "written_by": "nnestimators report",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": files,
    }
    path = out / MARKER
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
