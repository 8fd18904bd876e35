"""The layout of a CSV file's text: delimiter, decimal mark, header line.

Found from the start of the decoded file before pandas parses it, in time
bounded by the sample looked at, and checked on the table pandas read.
"""

from __future__ import annotations

import csv
import io
import itertools
import re

import pandas as pd
from pandas.api.types import is_numeric_dtype

from . import limits
from .errors import CliError, first_line, shorten

# Characters of text read to detect the delimiter and decimal mark.
SNIFF_BYTES = 65536

# The most text given to csv.Sniffer: its time grows with the square of its
# input (64 KB of '";"' repeated take 36 s; 4 KB, 0.2 s).
SNIFFER_CHARS = 4096

# Delimiters a CSV file may use; the comma is preferred when it fits.
CSV_DELIMITERS = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


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
    return delimiter_of(sample, cut=len(sample) == sample_size)


def delimiter_of(sample, cut):
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


def _consistent_fields(lines, delimiter):
    """Whether ``delimiter`` splits every line into the same 2+ fields."""
    try:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
    except csv.Error:
        return False
    return len(counts) == 1 and counts.pop() >= 2


def decimal_of(text, delimiter, complete, n_lines=200):
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


def first_records(text, delimiter, path, complete):
    """The header's names and the first row's fields, as lists of str.

    Read with Python's csv module from the start of the file, skipping blank
    lines as pandas does; an absent first row is an empty list.
    """
    limits.check_header_line(text, complete, path)
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


def check_names(header, path):
    """Refuse too many columns, and a name given to two columns."""
    limits.check_columns(len(header), path)
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


def check_single_column(frame, path):
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


def check_header(frame, path):
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
