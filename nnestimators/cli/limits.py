"""How much of a ``--data`` file a report reads: the limits and their checks.

Every limit is checked before pandas parses the file, from its size, its
header line and its line count (a parquet file: from its metadata), so a
file beyond one is refused on one line that names the limit, in bounded time
and memory. The checks read the limits from this module when they run.
"""

from __future__ import annotations

from .errors import CliError

# The largest file a report reads, checked before anything is read. Parsing a
# CSV file takes about three times its size in memory at the peak.
MAX_DATA_BYTES = 512 * 2**20

# The most values (rows x columns) a table may hold; 400 MB as float64. A CSV
# file's rows are counted as its lines, before parsing: one byte (",") can
# make a value, so the file size alone does not bound the table.
MAX_CELLS = 50_000_000

# The most columns a table may have. Scikit-learn's preprocessing and pandas
# spend time per column: 10,000 columns take about 20 s (numbers) to 80 s
# (text) per fold on two cores.
MAX_COLUMNS = 20_000

# The header line must end within this many bytes; its names are checked
# (count, duplicates) before the file is parsed.
MAX_HEADER_BYTES = 4 * 2**20


def check_file_size(path, size):
    """Refuse a file larger than ``MAX_DATA_BYTES``, from its size alone."""
    if size > MAX_DATA_BYTES:
        raise CliError(
            f"--data file {path} is {format_bytes(size)}, more than the "
            f"{format_bytes(MAX_DATA_BYTES)} a report reads; use a sample of its rows"
        )


def check_data_size(path, how, size, at_least=False):
    """Refuse ``size`` bytes of data held ``how`` beyond ``MAX_DATA_BYTES``.

    For what a small file expands to: a parquet file decompressed, or its
    text written out.
    """
    if size > MAX_DATA_BYTES:
        raise CliError(
            f"--data file {path} holds {'at least ' if at_least else ''}"
            f"{format_bytes(size)} of data {how}, more than the "
            f"{format_bytes(MAX_DATA_BYTES)} a report reads; use a sample of its rows"
        )


def check_columns(n_columns, path):
    """Refuse more than ``MAX_COLUMNS`` columns."""
    if n_columns > MAX_COLUMNS:
        raise CliError(
            f"--data file {path} has {n_columns:,} columns, more than the "
            f"{MAX_COLUMNS:,} a report handles; keep the columns you need"
        )


def check_cells(n_lines, n_columns, path, lines):
    """Refuse a file whose ``lines`` could hold more than ``MAX_CELLS`` values."""
    if n_lines * n_columns > MAX_CELLS:
        raise CliError(
            f"--data file {path} has {n_lines:,} {lines} of {n_columns:,} "
            f"columns, up to {n_lines * n_columns:,} values: more than the "
            f"{MAX_CELLS:,} a report reads; use a sample of its rows or fewer "
            "columns"
        )


def check_header_line(text, complete, path):
    """Refuse a header line that does not end within ``MAX_HEADER_BYTES``.

    ``text`` is the decoded start of the file, at most that many bytes of
    it; ``complete`` says whether it is the whole file.
    """
    if not complete and "\n" not in text and "\r" not in text:
        raise CliError(
            f"the first line of {path} is longer than "
            f"{format_bytes(MAX_HEADER_BYTES)}; a header line names the columns"
        )


def format_bytes(size):
    """``512 MiB`` for a byte count.

    Examples
    --------
    >>> format_bytes(512 * 2**20), format_bytes(1536)
    ('512 MiB', '1.5 KiB')
    """
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.2f}".rstrip("0").rstrip(".") + f" {unit}"
        size /= 1024
