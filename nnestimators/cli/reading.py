"""The ``--data`` file, read in bounded time and memory or refused on one line.

A CSV file is inspected before pandas parses it: its size, its encoding
(``text_encoding``), its header, delimiter and decimal mark (``csv_layout``)
and its number of lines. A file beyond a limit (``limits``) is refused with
the limit named after a scan of about a second per 500 MB, so parsing never
fills the memory. A parquet file's sizes are checked from its metadata and
its text columns before pandas reads it.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pandas as pd

from . import limits
from .csv_layout import (
    CSV_DELIMITERS,
    SNIFF_BYTES,
    check_header,
    check_names,
    check_single_column,
    decimal_of,
    delimiter_of,
    first_records,
)
from .errors import CliError, first_line, shorten
from .text_encoding import detect_encoding, refuse_binary, scan_detected, scan_given

# Rows per batch when a parquet file's text columns are measured.
PARQUET_BATCH_ROWS = 65536

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}


def load_table(path, say=print, encoding=None):
    """Read a CSV or parquet file, turning every failure into a CliError.

    A CSV file's encoding and delimiter (a comma, semicolon, tab or ``|``)
    are detected. Files beyond ``limits.MAX_DATA_BYTES``,
    ``limits.MAX_CELLS`` values or ``limits.MAX_COLUMNS`` columns are
    refused before they are parsed.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.pq`` file.
    say : callable, default=print
        Where the notes about the encoding and delimiter go.
    encoding : str, default=None
        A CSV file's text encoding (``"cp1251"``, ``"shift_jis"``, any
        character set Python knows), used without detection or fallback;
        None detects it.

    Returns
    -------
    frame : pandas.DataFrame
        At least one row and two columns, with string column names.

    Raises
    ------
    CliError
        If the file is missing, of another type, empty, too large or
        unreadable, or ``encoding`` is unknown or given for a parquet file.

    Examples
    --------
    >>> load_table("houses.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise CliError(f"--data file not found: {path}")
    if not path.is_file():
        raise CliError(f"--data must be a file; {path} is not")
    kind = path.suffix.lower()
    if kind not in READERS:
        raise CliError(
            f"unsupported file type {shorten(path.suffix or path.name)!r} for "
            "--data; use a .csv or .parquet file"
        )
    if encoding is not None and kind != ".csv":
        raise CliError(
            f"--encoding is for CSV files; {path.name} is a parquet file, "
            "whose text is UTF-8"
        )
    size = path.stat().st_size
    if size == 0:
        raise CliError(f"--data file is empty: {path}")
    limits.check_file_size(path, size)
    if kind == ".csv":
        frame = _read_csv(path, size, say, encoding)
    else:
        frame = _read_parquet(path)
    if len(frame.columns) < 2 or len(frame) == 0:
        raise CliError(
            f"--data file {path} has {len(frame)} rows and {len(frame.columns)} "
            "columns; a report needs at least 1 row and 2 columns "
            "(features and a target)"
        )
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _read_csv(path, size, say, encoding):
    """Inspect, then parse a CSV file; the checks come before pandas reads it."""
    with open(path, "rb") as file:
        head = file.read(limits.MAX_HEADER_BYTES)
    complete = len(head) == size
    refuse_binary(head, path)
    if encoding is None:
        encoding, note = detect_encoding(head, path)
        n_lines, encoding, note = scan_detected(path, encoding, note)
    else:
        note = None
        n_lines = scan_given(path, encoding)
    text = codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    if not text.strip():
        raise CliError(f"--data file is empty: {path}")
    if note:
        say(f"Note: {path.name} {note}.")
    cut = len(text) > SNIFF_BYTES or not complete
    delimiter = delimiter_of(text[:SNIFF_BYTES], cut)
    decimal = "."
    if delimiter != ",":
        decimal = decimal_of(text, delimiter, complete)
        how = " and decimal commas" if decimal == "," else ""
        say(f"Note: {path.name} uses {CSV_DELIMITERS[delimiter]} as delimiter{how}.")
    header, first_row = first_records(text, delimiter, path, complete)
    check_names(header, path)
    if len(first_row) > len(header):
        # pandas would take the first fields as row names, shifting the columns.
        raise CliError(
            f"the first row of {path} has {len(first_row)} fields but its header "
            f"names {len(header)} columns; name every column in the header line, "
            "or remove the delimiter that ends each row"
        )
    limits.check_cells(n_lines, len(header), path, "lines")
    frame = _read_with(
        lambda p: pd.read_csv(
            p, sep=delimiter, decimal=decimal, encoding=encoding, low_memory=False
        ),
        path,
        delimiter,
    )
    check_single_column(frame, path)
    check_header(frame, path)
    return frame


def _read_parquet(path):
    """Read a parquet file after checking the sizes it holds, without reading it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        raise CliError(
            f"reading {path.suffix} files needs an optional package: "
            f"{first_line(error)}"
        ) from None
    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
    except (ValueError, OSError, TypeError) as error:
        raise CliError(f"could not read {path}: {first_line(error)}") from None
    limits.check_columns(metadata.num_columns, path)
    limits.check_cells(metadata.num_rows, metadata.num_columns, path, "rows")
    declared = sum(
        group.column(j).total_uncompressed_size
        for group in map(metadata.row_group, range(metadata.num_row_groups))
        for j in range(group.num_columns)
    )
    limits.check_data_size(path, "decompressed", declared)
    try:
        _check_text_size(pq, path, parquet.schema_arrow)
    except (ValueError, OSError, TypeError) as error:
        raise CliError(f"could not read {path}: {first_line(error)}") from None
    return _read_with(pd.read_parquet, path)


def _check_text_size(pq, path, schema):
    """Refuse text whose values, written out, would exceed ``MAX_DATA_BYTES``.

    A dictionary-encoded column stores each distinct value once, so 460 KB
    of parquet can hold 20 GB of text, which pandas writes out. Here the
    text columns are read batch by batch with their dictionaries kept, and
    the written-out size is added up without being allocated.
    """
    import pyarrow as pa

    def is_text(kind):
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or (pa.types.is_binary(kind) or pa.types.is_large_binary(kind))
        )

    names = [field.name for field in schema if is_text(field.type)]
    if not names:
        return
    parquet = pq.ParquetFile(path, read_dictionary=names)
    total = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names):
        total += sum(_text_bytes(column) for column in batch.columns)
        limits.check_data_size(path, "as text", total, at_least=True)


def _text_bytes(array):
    """Bytes of a string or binary array's values, dictionaries written out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        lengths = pc.binary_length(array.dictionary)
        return pc.sum(pc.take(lengths, array.indices)).as_py() or 0
    return pc.sum(pc.binary_length(array)).as_py() or 0


_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _read_with(reader, path, delimiter=","):
    """Call ``reader(path)``; report unreadable files as a CliError."""
    try:
        return reader(path)
    except pd.errors.EmptyDataError:
        raise CliError(f"--data file is empty: {path}") from None
    except ImportError as error:
        raise CliError(
            f"reading {path.suffix} files needs an optional package: "
            f"{first_line(error)}"
        ) from None
    except pd.errors.ParserError as error:
        raise CliError(_parser_message(error, path, delimiter)) from None
    except (ValueError, OSError, TypeError) as error:
        # UnicodeDecodeError and pyarrow's ArrowInvalid are ValueErrors.
        raise CliError(f"could not read {path}: {first_line(error)}") from None


def _parser_message(error, path, delimiter):
    """pandas' tokenizer errors, said in the file's terms."""
    text = first_line(error)
    if match := _FIELD_COUNT.search(text):
        expected, line, saw = match.groups()
        name = CSV_DELIMITERS.get(delimiter, repr(delimiter))
        text = (
            f"line {line} has {saw} fields, but the header names {expected} "
            f"columns; fix that line (a value holding {name} must be quoted)"
        )
    elif match := _OPEN_QUOTE.search(text):
        text = (
            f"it ends inside a quoted value that opens in row {match.group(1)}; "
            'a closing quote (") is missing'
        )
    return f"could not read {path}: {text}"
