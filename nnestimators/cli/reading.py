"""The ``--data`` file, read in bounded time and memory or refused on one line.

A CSV file is inspected before pandas parses it: its size, its encoding, its
header and its number of lines. A file too large for a report is refused with
the limit it exceeds after a scan of about a second per 500 MB, so parsing
never fills the memory. Binary files (compressed archives, spreadsheets, NUL
bytes) are refused by name rather than read as text.

Encodings: a byte-order mark picks UTF-8, UTF-16 or UTF-32; UTF-16 without one
is recognised by its NUL bytes; other files are UTF-8 when every byte decodes,
otherwise Windows-1252 (``FALLBACK_ENCODING``, which includes Latin-1), with a
note saying so.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from pathlib import Path

import pandas as pd
from pandas.api.types import is_numeric_dtype

from .errors import CliError, first_line

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

# Bytes read to detect the delimiter and decimal mark, and per scanned block.
SNIFF_BYTES = 65536
SCAN_BYTES = 2**20

# Rows per batch when a parquet file's text columns are measured.
PARQUET_BATCH_ROWS = 65536

# The most text given to csv.Sniffer: its time grows with the square of its
# input (64 KB of '";"' repeated take 36 s; 4 KB, 0.2 s).
SNIFFER_CHARS = 4096

# Read when a file is not valid UTF-8 and has no byte-order mark.
FALLBACK_ENCODING = "cp1252"

# Delimiters a CSV file may use; the comma is preferred when it fits.
CSV_DELIMITERS = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}

# Byte-order marks, the longest first (UTF-32's begins like UTF-16's).
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", None),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
]

# The first bytes of binary formats a table is often saved in, and what to do.
_BINARY_FORMATS = [
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive", "an Excel .xlsx workbook? export it as CSV"),
    (b"PK\x05\x06", "an empty zip archive", "export the table as CSV"),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd)"),
    (b"PAR1", "a parquet file", "name it .parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook", "export it as CSV"),
]


def load_table(path, say=print, encoding=None):
    """Read a CSV or parquet file, turning every failure into a CliError.

    A CSV file's encoding and delimiter (a comma, semicolon, tab or ``|``)
    are detected. Files beyond ``MAX_DATA_BYTES``, ``MAX_CELLS`` values or
    ``MAX_COLUMNS`` columns are refused before they are parsed.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.pq`` file.
    say : callable, default=print
        Where the notes about the encoding and delimiter go.
    encoding : str, default=None
        A CSV file's encoding, any name Python knows; None detects it.

    Returns
    -------
    frame : pandas.DataFrame
        At least one row and two columns, with string column names.

    Raises
    ------
    CliError
        If the file is missing, of another type, empty, too large or
        unreadable.

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
    size = path.stat().st_size
    if size == 0:
        raise CliError(f"--data file is empty: {path}")
    if size > MAX_DATA_BYTES:
        raise CliError(
            f"--data file {path} is {_bytes(size)}, more than the "
            f"{_bytes(MAX_DATA_BYTES)} a report reads; use a sample of its rows"
        )
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
        head = file.read(MAX_HEADER_BYTES)
    complete = len(head) == size
    if encoding is None:
        encoding, note = _detect_encoding(head, path)
        n_lines, encoding, note = _scan_detected(path, encoding, note)
    else:
        note = None
        n_lines = _scan_explicit(path, encoding)
    text = codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    if not text.strip():
        raise CliError(f"--data file is empty: {path}")
    if note:
        say(f"Note: {path.name} {note}.")
    cut = len(text) > SNIFF_BYTES or not complete
    delimiter = _delimiter_of(text[:SNIFF_BYTES], cut)
    decimal = "."
    if delimiter != ",":
        decimal = _decimal_of(text, delimiter, complete)
        how = " and decimal commas" if decimal == "," else ""
        say(f"Note: {path.name} uses {CSV_DELIMITERS[delimiter]} as delimiter{how}.")
    header, first_row = _first_records(text, delimiter, path, complete)
    _check_names(header, path)
    if len(first_row) > len(header):
        # pandas would take the first fields as row names, shifting the columns.
        raise CliError(
            f"the first row of {path} has {len(first_row)} fields but its header "
            f"names {len(header)} columns; name every column in the header line, "
            "or remove the delimiter that ends each row"
        )
    _check_cells(n_lines, len(header), path, "lines")
    frame = _read_with(
        lambda p: pd.read_csv(
            p, sep=delimiter, decimal=decimal, encoding=encoding, low_memory=False
        ),
        path,
        delimiter,
    )
    _check_single_column(frame, path)
    _check_header(frame, path)
    return frame


def _detect_encoding(head, path):
    """The encoding the first bytes show, and a note for the user or None.

    Refuses binary files. A file without a byte-order mark is taken as UTF-8
    here; the scan falls back to ``FALLBACK_ENCODING`` if it is not.
    """
    for bom, encoding, name in _BOMS:
        if head.startswith(bom):
            return (
                encoding,
                name and f"is {name} text (it starts with a byte-order mark)",
            )
    for magic, what, advice in _BINARY_FORMATS:
        if head.startswith(magic):
            raise CliError(f"--data file {path} is {what}, not a text CSV; {advice}")
    if b"\x00" in head:
        encoding = _utf16_without_bom(head[:SNIFF_BYTES])
        if encoding is None:
            raise CliError(
                f"--data file {path} holds NUL bytes: it is a binary file, not "
                "a text CSV; save the table as CSV text (UTF-8)"
            )
        return encoding, f"is {encoding.upper()} text (told by its NUL bytes)"
    return "utf-8", None


def _utf16_without_bom(sample):
    """``"utf-16-le"`` or ``"utf-16-be"`` when NULs pair with ASCII bytes."""
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    # Delimiters and line ends are ASCII: in UTF-16 one of each byte pair is 0.
    if odd >= 0.2 * half and even * 10 <= odd:
        return "utf-16-le"
    if even >= 0.2 * half and odd * 10 <= even:
        return "utf-16-be"
    return None


def _scan_detected(path, encoding, note):
    """Count lines, falling back from UTF-8 to ``FALLBACK_ENCODING``."""
    try:
        return _count_lines(path, encoding), encoding, note
    except _Undecodable as error:
        if encoding != "utf-8":
            raise CliError(
                f"--data file {path} is not valid {encoding.upper()} text "
                f"({error}); save it as UTF-8"
            ) from None
        utf8_error = error
    try:
        n_lines = _count_lines(path, FALLBACK_ENCODING)
    except _Undecodable as error:
        raise CliError(
            f"--data file {path} is neither UTF-8 ({utf8_error}) nor "
            f"Windows-1252 text ({error}); save it as UTF-8"
        ) from None
    note = (
        f"is not UTF-8 ({utf8_error}); it is read as Windows-1252 (cp1252, "
        "which includes Latin-1): if its text looks wrong, save it as UTF-8"
    )
    return n_lines, FALLBACK_ENCODING, note


def _scan_explicit(path, encoding):
    """Count lines in a file the user said is in ``encoding``."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CliError(f"unknown encoding {shorten(encoding)!r}") from None
    try:
        return _count_lines(path, encoding)
    except _Undecodable as error:
        raise CliError(
            f"--data file {path} is not valid {encoding} text ({error})"
        ) from None


def _count_lines(path, encoding):
    """Lines in the file, decoding it block by block; refuses NUL characters.

    The count bounds the rows (quoted line breaks only make it larger);
    ``\\r`` alone ends a line too, as in old Mac files.

    Raises
    ------
    _Undecodable
        Where the file stops being ``encoding``.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = returns = offset = 0
    last = ""
    with open(path, "rb") as file:
        while True:
            block = file.read(SCAN_BYTES)
            # Bytes held from the previous block start the decoded input.
            start = offset - len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                raise _Undecodable(
                    start + error.start, error.object[error.start : error.start + 1]
                ) from None
            if not block:
                break
            if "\x00" in text:
                raise CliError(
                    f"--data file {path} holds NUL characters: it is a binary "
                    "file, not a text CSV; save the table as CSV text (UTF-8)"
                )
            newlines += text.count("\n")
            returns += text.count("\r")
            offset += len(block)
            last = text[-1:] or last
    # The last line may end without a line break.
    return max(newlines, returns) + (last not in ("", "\n", "\r"))


class _Undecodable(Exception):
    """A file's bytes that its encoding cannot decode."""

    def __init__(self, offset, byte):
        super().__init__(offset, byte)
        self.offset, self.byte = offset, byte

    def __str__(self):
        shown = f"byte 0x{self.byte.hex()} " if self.byte else "a cut character "
        return f"{shown}at offset {self.offset:,}"


def _first_records(text, delimiter, path, complete):
    """The header's names and the first row's fields, as lists of str.

    Read with Python's csv module from the start of the file, skipping blank
    lines as pandas does; an absent first row is an empty list.
    """
    if not complete and "\n" not in text and "\r" not in text:
        raise CliError(
            f"the first line of {path} is longer than "
            f"{_bytes(MAX_HEADER_BYTES)}; a header line names the columns"
        )
    records = []
    try:
        for fields in csv.reader(_lines(text, complete), delimiter=delimiter):
            if any(field.strip() for field in fields):
                records.append(fields)
            if len(records) == 2:
                break
    except csv.Error as error:
        # A first row the csv module cannot read is left to pandas.
        if not records:
            problem = first_line(error)
            if "field larger than field limit" in problem:
                problem = (
                    f"a column name is longer than {csv.field_size_limit():,} "
                    "characters"
                )
            raise CliError(
                f"could not read the header line of {path}: {problem}"
            ) from None
    records += [[], []]
    return records[0], records[1]


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def _lines(text, complete):
    """The lines of ``text`` one by one, with their ends; no copy of the whole.

    Without ``complete``, the file goes on and a last line without its end
    is left out.
    """
    for match in _LINE.finditer(text):
        line = match.group()
        if not line or (not complete and not line.endswith(("\n", "\r"))):
            return
        yield line


def _check_names(header, path):
    """Refuse too many columns, and a name given to two columns."""
    if len(header) > MAX_COLUMNS:
        raise CliError(
            f"--data file {path} has {len(header):,} columns, more than the "
            f"{MAX_COLUMNS:,} a report handles; keep the columns you need"
        )
    seen = {}
    for number, name in enumerate(header, start=1):
        if not name.strip():
            continue  # pandas names it "Unnamed: i"
        if name in seen:
            raise CliError(
                f"the header of {path} names two columns {shorten(name)!r} "
                f"(columns {seen[name]} and {number}); give each column its "
                "own name"
            )
        seen[name] = number


def _check_cells(n_lines, n_columns, path, lines):
    """Refuse a file whose lines could hold more than ``MAX_CELLS`` values."""
    if n_lines * n_columns > MAX_CELLS:
        raise CliError(
            f"--data file {path} has {n_lines:,} {lines} of {n_columns:,} "
            f"columns, up to {n_lines * n_columns:,} values: more than the "
            f"{MAX_CELLS:,} a report reads; use a sample of its rows or fewer "
            "columns"
        )


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
    if metadata.num_columns > MAX_COLUMNS:
        raise CliError(
            f"--data file {path} has {metadata.num_columns:,} columns, more than "
            f"the {MAX_COLUMNS:,} a report handles; keep the columns you need"
        )
    _check_cells(metadata.num_rows, metadata.num_columns, path, "rows")
    declared = sum(
        group.column(j).total_uncompressed_size
        for group in map(metadata.row_group, range(metadata.num_row_groups))
        for j in range(group.num_columns)
    )
    if declared > MAX_DATA_BYTES:
        _refuse_size(path, "decompressed", declared)
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
        if total > MAX_DATA_BYTES:
            _refuse_size(path, "as text", total, at_least=True)


def _text_bytes(array):
    """Bytes of a string or binary array's values, dictionaries written out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        lengths = pc.binary_length(array.dictionary)
        return pc.sum(pc.take(lengths, array.indices)).as_py() or 0
    return pc.sum(pc.binary_length(array)).as_py() or 0


def _refuse_size(path, how, size, at_least=False):
    raise CliError(
        f"--data file {path} holds {'at least ' if at_least else ''}"
        f"{_bytes(size)} of data {how}, more than the {_bytes(MAX_DATA_BYTES)} "
        "a report reads; use a sample of its rows"
    )


def sniff_delimiter(path, sample_size=SNIFF_BYTES, encoding="utf-8"):
    """The delimiter of a CSV file: ``","``, ``";"``, ``"\\t"`` or ``"|"``.

    The comma wins when it splits the first lines into the same number (2 or
    more) of fields; otherwise ``csv.Sniffer`` decides among the others. A
    file that fits none is read with commas.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a;b\\n1,5;2\\n")
    >>> sniff_delimiter(path)
    ';'
    """
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as file:
            sample = file.read(sample_size)
    except OSError:
        return ","
    return _delimiter_of(sample, cut=len(sample) == sample_size)


def _delimiter_of(sample, cut):
    """The delimiter of the text ``sample``; ``cut`` if the file goes on."""
    lines = sample.splitlines()
    if cut and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines[:50] if line.strip()]
    if not lines:
        return ","
    if _consistent_fields(lines, ","):
        return ","
    try:
        dialect = csv.Sniffer().sniff(_sniffer_sample(lines), delimiters=";\t|,")
    except csv.Error:
        dialect = None
    if dialect is not None and dialect.delimiter in CSV_DELIMITERS:
        return dialect.delimiter
    for delimiter in (";", "\t", "|"):
        if _consistent_fields(lines, delimiter):
            return delimiter
    return ","


def _sniffer_sample(lines):
    """The first lines, at most ``SNIFFER_CHARS`` characters of them."""
    sample = "\n".join(lines)
    if len(sample) <= SNIFFER_CHARS:
        return sample
    end = sample.rfind("\n", 0, SNIFFER_CHARS)
    return sample[: end if end > 0 else SNIFFER_CHARS]


def _decimal_of(text, delimiter, complete, n_lines=200):
    """``","`` when the first lines have more numbers read with decimal commas.

    Files separated by semicolons often come from locales that write
    ``40,5`` for 40.5.
    """
    sample = "".join(itertools.islice(_lines(text, complete), n_lines))
    counts = {}
    try:
        for decimal in (".", ","):
            frame = pd.read_csv(io.StringIO(sample), sep=delimiter, decimal=decimal)
            counts[decimal] = sum(is_numeric_dtype(frame[c]) for c in frame.columns)
    except (ValueError, csv.Error):
        return "."
    return "," if counts[","] > counts["."] else "."


def _consistent_fields(lines, delimiter):
    """Whether ``delimiter`` splits every line into the same 2+ fields."""
    try:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
    except csv.Error:
        return False
    return len(counts) == 1 and counts.pop() >= 2


def _check_single_column(frame, path):
    """A one-column table whose header holds a delimiter was read wrongly."""
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for delimiter, name in CSV_DELIMITERS.items():
        if delimiter != "," and delimiter in header:
            raise CliError(
                f"--data file {path} was read as a single column, but its "
                f"header holds {name}: the file seems to use {name} as "
                "delimiter, with rows of unequal length; save it with "
                "commas (,) as delimiter"
            )


def _check_header(frame, path):
    """Refuse a CSV file whose first line is data: its first row would be lost."""
    names = [shorten(str(column)) for column in frame.columns]
    if all(_looks_numeric(name) for name in names):
        raise CliError(
            f"the first line of {path} holds numbers ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}), not column names; add a "
            "header line naming the columns"
        )


def _looks_numeric(name):
    # pandas renames a repeated name: a second "0" becomes "0.1".
    return _is_number(name) or _is_number(name.rsplit(".", 1)[0])


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def _bytes(size):
    """``512 MiB`` for a byte count."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.2f}".rstrip("0").rstrip(".") + f" {unit}"
        size /= 1024


def shorten(text, limit=60):
    """``text`` cut to ``limit`` characters for a one-line message."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
