"""A CSV file's text encoding: named with ``--encoding``, or detected.

Detection: a byte-order mark picks UTF-8, UTF-16 or UTF-32; UTF-16 without
one is recognised by its NUL bytes; other files are UTF-8 when every byte
decodes, otherwise Windows-1252 (``FALLBACK_ENCODING``, which includes
Latin-1), with a note saying so. A named encoding is used as it is, without
detection or fallback. Binary files (compressed archives, spreadsheets, NUL
bytes) are refused by name rather than read as text. Either way the whole
file is decoded block by block, counting its lines, before pandas reads it.
"""

from __future__ import annotations

import codecs

from .errors import CliError, shorten

# Read when a file is not valid UTF-8 and has no byte-order mark.
FALLBACK_ENCODING = "cp1252"

# Bytes decoded per block when the lines are counted.
SCAN_BYTES = 2**20

# Bytes looked at for the NUL bytes of UTF-16 without a byte-order mark.
NUL_SAMPLE_BYTES = 65536

# What the messages about an encoding advise.
ENCODING_ADVICE = (
    "save it as UTF-8, or name its encoding with --encoding (e.g. --encoding cp1251)"
)

# Text codecs Python knows that are no character set a table is saved in:
# domain-name codecs, Python's escapes, and one that always fails.
NOT_A_CHARACTER_SET = {
    "idna",
    "punycode",
    "undefined",
    "unicode-escape",
    "raw-unicode-escape",
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


def check_encoding(name):
    """``name`` if it is a character set Python decodes text files with.

    Raises
    ------
    CliError
        For a name Python does not know, and for codecs that are no
        character set: ``base64`` or ``zlib`` (bytes to bytes), ``rot13``,
        ``idna``.

    Examples
    --------
    >>> check_encoding("Shift-JIS")
    'Shift-JIS'
    """
    examples = "utf-8, cp1252, latin-1, cp1251 or shift_jis"
    try:
        codec = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise CliError(
            f"unknown encoding {shorten(name)!r}; name a text encoding such as "
            f"{examples}"
        ) from None
    try:
        "".encode(name)  # a LookupError for codecs of bytes to bytes
    except LookupError:
        codec = None
    if codec is None or codec.name in NOT_A_CHARACTER_SET:
        raise CliError(
            f"{shorten(name)!r} is no character set of text files; name one "
            f"such as {examples}"
        )
    return name


def refuse_binary(head, path):
    """Refuse a file whose first bytes are those of a binary format."""
    for magic, what, advice in _BINARY_FORMATS:
        if head.startswith(magic):
            raise CliError(f"--data file {path} is {what}, not a text CSV; {advice}")


def detect_encoding(head, path):
    """The encoding the first bytes show, and a note for the user or None.

    A file without a byte-order mark is taken as UTF-8 here; the scan falls
    back to ``FALLBACK_ENCODING`` if it is not. NUL bytes that are not
    UTF-16's refuse the file.
    """
    for bom, encoding, name in _BOMS:
        if head.startswith(bom):
            return (
                encoding,
                name and f"is {name} text (it starts with a byte-order mark)",
            )
    if b"\x00" in head:
        encoding = _utf16_without_bom(head[:NUL_SAMPLE_BYTES])
        if encoding is None:
            raise CliError(
                f"--data file {path} holds NUL bytes: it is a binary file, not "
                "a text CSV; save the table as CSV text (UTF-8), or, if it is "
                "text in an encoding such as UTF-16, name it with --encoding"
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


def scan_detected(path, encoding, note):
    """Count lines, falling back from UTF-8 to ``FALLBACK_ENCODING``.

    Returns
    -------
    n_lines : int
    encoding : str
        The encoding the whole file decodes with.
    note : str or None
        What to tell the user about it.
    """
    try:
        return count_lines(path, encoding), encoding, note
    except Undecodable as error:
        if encoding != "utf-8":
            raise CliError(
                f"--data file {path} is not valid {encoding.upper()} text "
                f"({error}); {ENCODING_ADVICE}"
            ) from None
        utf8_error = error
    try:
        n_lines = count_lines(path, FALLBACK_ENCODING)
    except Undecodable as error:
        raise CliError(
            f"--data file {path} is neither UTF-8 ({utf8_error}) nor "
            f"Windows-1252 text ({error}); {ENCODING_ADVICE}"
        ) from None
    note = (
        f"is not UTF-8 ({utf8_error}); it is read as Windows-1252 (cp1252, "
        "which includes Latin-1): if its text looks wrong, name its encoding "
        "with --encoding (e.g. --encoding cp1251), or save it as UTF-8"
    )
    return n_lines, FALLBACK_ENCODING, note


def scan_given(path, encoding):
    """Count lines in a file the user said is in ``encoding``."""
    check_encoding(encoding)
    try:
        return count_lines(path, encoding, given=True)
    except Undecodable as error:
        raise CliError(
            f"--data file {path} is not valid {shorten(encoding)} text ({error}); "
            "check its --encoding"
        ) from None


def count_lines(path, encoding, given=False):
    """Lines in the file, decoding it block by block; refuses NUL characters.

    The count bounds the rows (quoted line breaks only make it larger);
    ``\\r`` alone ends a line too, as in old Mac files. ``given`` says the
    user named the encoding, for the message about NUL characters.

    Raises
    ------
    Undecodable
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
                raise Undecodable(
                    start + error.start, error.object[error.start : error.start + 1]
                ) from None
            if not block:
                break
            if "\x00" in text:
                raise CliError(_nul_message(path, encoding, given))
            newlines += text.count("\n")
            returns += text.count("\r")
            offset += len(block)
            last = text[-1:] or last
    # The last line may end without a line break.
    return max(newlines, returns) + (last not in ("", "\n", "\r"))


def _nul_message(path, encoding, given):
    if given:
        return (
            f"--data file {path} holds NUL characters read as "
            f"{shorten(encoding)}: a binary file, or text in another encoding; "
            "check its --encoding"
        )
    return (
        f"--data file {path} holds NUL characters: it is a binary file, not a "
        "text CSV; save the table as CSV text (UTF-8)"
    )


class Undecodable(Exception):
    """A file's bytes that its encoding cannot decode."""

    def __init__(self, offset, byte):
        super().__init__(offset, byte)
        self.offset, self.byte = offset, byte

    def __str__(self):
        shown = f"byte 0x{self.byte.hex()} " if self.byte else "a cut character "
        return f"{shown}at offset {self.offset:,}"
