"""Malformed and hostile CSV files given to ``nnestimators report --data``.

Each file gets a correct report or a one-line error before any training, and
reading stays bounded in memory: files beyond the limits in
``nnestimators.cli.limits`` are refused, the limit named, before pandas
parses them. The limits are patched down here rather than writing large files.
"""

import codecs
import gzip
import os
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from nnestimators.cli import (
    csv_layout,
    data,
    limits,
    main,
    models,
    reading,
    report_command,
    text_encoding,
)


def _run(capsys, *args):
    status = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def no_training(monkeypatch):
    """Make any training fail loudly: every check must come before it.

    Patched where the command calls it: ``report_command`` holds its own
    reference, taken when it was first imported.
    """

    def training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(report_command, "cross_validated_report", training)


def _refused(capsys, path, *options):
    """The one error line for ``--data path``; asserts its form."""
    status, out, err = _run(capsys, "--data", path, *options)
    assert status == 2, out + err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnestimators: error: ")
    return lines[0]


def _text_table(n_rows=40):
    """A table with accents in names and values, as text (no encoding yet)."""
    rng = np.random.default_rng(0)
    lines = ["âge,ville,étiquette"]
    for i, age in enumerate(rng.normal(40, 10, n_rows).round(1)):
        town = ("Zürich", "Genève", "Besançon")[i % 3]
        lines.append(f"{age},{town},{'oui' if age > 40 else 'non'}")
    return "\n".join(lines) + "\n"


def _numbers(n_rows=40, header="a,b,y"):
    rows = "".join(f"{i},{i * 2 % 7},{i % 2}\n" for i in range(n_rows))
    return f"{header}\n{rows}"


def _write(tmp_path, content, name="t.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def _quiet(text):
    pass


# -- encodings ----------------------------------------------------------------

ENCODED = {
    # name: (bytes of the table, the note printed or None)
    "utf-8": (lambda t: t.encode(), None),
    "utf-8 with BOM": (lambda t: codecs.BOM_UTF8 + t.encode(), None),
    "latin-1": (lambda t: t.encode("latin-1"), "read as Windows-1252"),
    "cp1252": (lambda t: t.encode("cp1252"), "read as Windows-1252"),
    "utf-16 with BOM": (lambda t: t.encode("utf-16"), "is UTF-16 text"),
    "utf-16-le without BOM": (lambda t: t.encode("utf-16-le"), "is UTF-16-LE"),
    "utf-16-be without BOM": (lambda t: t.encode("utf-16-be"), "is UTF-16-BE"),
    "utf-32 with BOM": (lambda t: t.encode("utf-32"), "is UTF-32 text"),
}


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_encodings_read_as_the_utf8_table(encoding, tmp_path):
    encode, note = ENCODED[encoding]
    text = _text_table()
    said = []
    frame = data.load_table(_write(tmp_path, encode(text)), say=said.append)
    expected = pd.read_csv(_write(tmp_path, text, "utf8.csv"))
    pd.testing.assert_frame_equal(frame, expected)
    assert list(frame.columns) == ["âge", "ville", "étiquette"]
    if note is None:
        assert said == []
    else:
        assert len(said) == 1 and note in said[0]


def test_windows_1252_characters_beyond_latin_1(tmp_path):
    text = "prix,devise,y\n" + "".join(f"{i},€ “{i % 2}”,{i % 2}\n" for i in range(30))
    said = []
    frame = data.load_table(_write(tmp_path, text.encode("cp1252")), said.append)
    assert frame["devise"].iloc[1] == "€ “1”"
    assert "not UTF-8 (byte 0x80 at offset 16)" in said[0]


@pytest.mark.slow
def test_excel_export_in_cp1252_with_semicolons_gets_a_report(tmp_path, capsys):
    """A French Excel export: cp1252, semicolons, decimal commas."""
    rng = np.random.default_rng(1)
    lines = ["âge;ville;étiquette"]
    for i, age in enumerate(rng.normal(40, 10, 40).round(1)):
        town = ("Zürich", "Genève", "Besançon")[i % 3]
        lines.append(
            f"{str(age).replace('.', ',')};{town};{'oui' if age > 40 else 'non'}"
        )
    path = _write(tmp_path, "\n".join(lines).encode("cp1252") + b"\n")
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", path, "--max-epochs", 1, "--cv", 2, "--out", out_dir
    )
    assert status == 0, err
    assert "Note: t.csv is not UTF-8 (byte 0xe2 at offset 0)" in out
    assert "uses ';' as delimiter and decimal commas" in out
    assert "40 rows, 2 feature columns, target 'étiquette' (binary" in out
    assert len(pd.read_csv(out_dir / "folds.csv")) == 2
    assert "<dd>étiquette</dd>" in (out_dir / "report.html").read_text()


def test_file_neither_utf8_nor_cp1252_is_refused(tmp_path, capsys, no_training):
    # 0x81 and 0x9d are undefined in cp1252 and invalid alone in UTF-8.
    path = _write(tmp_path, b"a,y\n1,0\n\x81\x9d,1\n")
    line = _refused(capsys, path)
    assert "is neither UTF-8 (byte 0x81 at offset 8) nor Windows-1252" in line
    assert line.endswith(
        "save it as UTF-8, or name its encoding with --encoding (e.g. --encoding cp1251)"
    )


def test_invalid_utf8_far_into_the_file_is_found_before_parsing(tmp_path):
    """The scan decodes every block, so the fallback is decided once."""
    body = "".join(f"{i},{'xy'[i % 2]}\n" for i in range(300_000))
    path = _write(tmp_path, ("a,y\n" + body).encode() + "9,é\n".encode("latin-1"))
    assert path.stat().st_size > 2 * text_encoding.SCAN_BYTES
    said = []
    frame = data.load_table(path, said.append)
    assert frame["y"].iloc[-1] == "é"
    assert f"at offset {path.stat().st_size - 2:,}" in said[0]


def test_explicit_encoding(tmp_path, capsys, no_training):
    text = "возраст,метка\n" + "".join(
        f"{i},{'да' if i % 2 else 'нет'}\n" for i in range(9)
    )
    path = _write(tmp_path, text.encode("cp1251"))
    frame = data.load_table(path, _quiet, encoding="cp1251")
    assert list(frame.columns) == ["возраст", "метка"]
    assert frame["метка"].iloc[1] == "да"
    frame, source = data.read_input(path, _quiet, encoding="cp1251")
    assert source == str(path) and frame.shape == (9, 2)
    with pytest.raises(data.CliError, match="unknown encoding 'klingon'"):
        data.load_table(path, _quiet, encoding="klingon")
    with pytest.raises(data.CliError, match="is not valid ascii text .byte 0xe2"):
        data.load_table(path, _quiet, encoding="ascii")


def _russian_table(n_rows=40):
    """Cyrillic names and values, as text: cp1251 bytes are valid cp1252."""
    rows = "".join(
        f"{20 + i},{('Москва', 'Казань', 'Омск')[i % 3]},{'да' if i % 2 else 'нет'}\n"
        for i in range(n_rows)
    )
    return "возраст,город,метка\n" + rows


@pytest.mark.slow
def test_encoding_option_reads_a_cp1251_file(tmp_path, capsys):
    path = _write(tmp_path, _russian_table().encode("cp1251"))
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", path, "--encoding", "cp1251", "--max-epochs", 1,
        "--cv", 2, "--out", out_dir,
    )  # fmt: skip
    assert status == 0, err
    assert "not UTF-8" not in out and "Windows-1252" not in out
    assert "40 rows, 2 feature columns, target 'метка' (binary, " in out
    assert "да: 20" in out and "нет: 20" in out
    html = (out_dir / "report.html").read_text()
    assert "<dd>метка</dd>" in html and "--encoding cp1251" in html


def test_without_the_encoding_option_cp1251_is_read_garbled_with_a_note(tmp_path):
    """Every cp1251 byte here is a cp1252 character: the fallback cannot tell."""
    said = []
    frame = data.load_table(
        _write(tmp_path, _russian_table().encode("cp1251")), said.append
    )
    assert list(frame.columns) == ["âîçðàñò", "ãîðîä", "ìåòêà"]
    assert len(said) == 1 and "it is read as Windows-1252" in said[0]
    assert "name its encoding with --encoding (e.g. --encoding cp1251)" in said[0]


@pytest.fixture
def stop_at_training(monkeypatch):
    """Record what the command would train on, and stop there (exit 1)."""
    seen = {}

    def training(model, X, y, **kwargs):
        seen["X"], seen["y"] = X, y
        raise report_command.RunError("stopped before training")

    monkeypatch.setattr(report_command, "cross_validated_report", training)
    return seen


def test_shift_jis_is_refused_without_the_encoding_option_and_read_with_it(
    tmp_path, capsys, stop_at_training
):
    # "ソ" is 0x83 0x5c in Shift-JIS: a backslash byte inside a character.
    rows = "".join(
        f"{20 + i},{('東京', '大阪', 'ソウル')[i % 3]},{'はい' if i % 2 else 'いいえ'}\n"
        for i in range(40)
    )
    path = _write(tmp_path, ("年齢,都市,ラベル\n" + rows).encode("shift_jis"))
    line = _refused(capsys, path)
    assert "is neither UTF-8 (byte 0x94 at offset 0) nor Windows-1252" in line
    assert "name its encoding with --encoding" in line
    status, out, err = _run(capsys, "--data", path, "--encoding", "shift_jis")
    assert status == 1 and "stopped before training" in err
    assert "target 'ラベル' (binary, " in out
    assert "いいえ: 20" in out and "はい: 20" in out
    assert list(stop_at_training["X"].columns) == ["年齢", "都市"]
    assert set(stop_at_training["X"]["都市"]) == {"東京", "大阪", "ソウル"}


def test_data_line_counts_have_thousands_separators(tmp_path, capsys, stop_at_training):
    path = _write(tmp_path, _numbers(n_rows=1500))
    status, out, err = _run(capsys, "--data", path)
    assert status == 1 and "stopped before training" in err
    assert "t.csv, 1,500 rows, 2 feature columns, target 'y' (binary, " in out
    assert "0: 750" in out and "1: 750" in out


@pytest.mark.parametrize(
    "name, expected",
    [
        ("klingon", "unknown encoding 'klingon'; name a text encoding such as"),
        ("zlib", "'zlib' is no character set of text files"),
        ("base64", "'base64' is no character set of text files"),
        ("idna", "'idna' is no character set of text files"),
    ],
)
def test_unknown_encoding_is_a_one_line_error(
    name, expected, tmp_path, capsys, no_training
):
    path = _write(tmp_path, _numbers())
    line = _refused(capsys, path, "--encoding", name)
    assert line.startswith("nnestimators: error: argument --encoding: ")
    assert expected in line
    with pytest.raises(data.CliError, match=expected):
        data.load_table(path, _quiet, encoding=name)


def test_encoding_option_keeps_the_other_checks(tmp_path, capsys, no_training):
    text = _russian_table()
    gzipped = _write(tmp_path, gzip.compress(text.encode("cp1251")), "g.csv")
    assert "is gzip-compressed" in _refused(capsys, gzipped, "--encoding", "cp1251")
    utf16 = _write(tmp_path, text.encode("utf-16-le"), "u.csv")
    line = _refused(capsys, utf16, "--encoding", "utf-8")
    assert "holds NUL characters read as utf-8" in line and "--encoding" in line
    line = _refused(capsys, _write(tmp_path, text.encode()), "--encoding", "ascii")
    assert (
        "is not valid ascii text (byte 0xd0 at offset 0); check its --encoding" in line
    )


def test_encoding_option_needs_a_csv_file(tmp_path, capsys, no_training):
    status, out, err = _run(capsys, "--encoding", "cp1251", "--out", tmp_path / "o")
    assert status == 2
    assert "--encoding is for a --data CSV file" in err
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2], "y": [0, 1]}), path)
    assert "--encoding is for CSV files; t.parquet is a parquet file" in _refused(
        capsys, path, "--encoding", "cp1251"
    )


# -- binary files and empty files ----------------------------------------------

BINARY = {
    "gzip": (gzip.compress(_numbers().encode()), "is gzip-compressed"),
    "zip or xlsx": (b"PK\x03\x04" + bytes(60), "is a zip archive"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(60), "Excel .xls workbook"),
    "parquet": (
        b"PAR1" + bytes(60),
        "is a parquet file, not a text CSV; name it .parquet",
    ),
    "NUL bytes": (b"a,y\n1\x00,0\n2,1\n", "holds NUL bytes: it is a binary file"),
    "random bytes": (
        bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        "binary file",
    ),
}


@pytest.mark.parametrize("case", list(BINARY))
def test_binary_files_are_refused_by_name(case, tmp_path, capsys, no_training):
    content, expected = BINARY[case]
    assert expected in _refused(capsys, _write(tmp_path, content))


def test_nul_characters_after_the_first_block_are_refused(tmp_path, capsys):
    big = _numbers(n_rows=1_000_000)
    assert len(big) > limits.MAX_HEADER_BYTES
    path = _write(tmp_path, big.encode() + b"7,\x00,1\n")
    assert "holds NUL characters" in _refused(capsys, path)


EMPTY = {
    "no bytes": b"",
    "a UTF-8 BOM only": codecs.BOM_UTF8,
    "a UTF-16 BOM only": codecs.BOM_UTF16_LE,
    "blank lines": b"\n\n\r\n",
    "spaces": b"   \n  \n",
}


@pytest.mark.parametrize("case", list(EMPTY))
def test_empty_files(case, tmp_path, capsys, no_training):
    assert "is empty" in _refused(capsys, _write(tmp_path, EMPTY[case]))


@pytest.mark.parametrize("content", ["a,b,y\n", "a,b,y", '"a","b","y"\r\n'])
def test_header_only(content, tmp_path, capsys, no_training):
    line = _refused(capsys, _write(tmp_path, content))
    assert "has 0 rows and 3 columns; a report needs at least 1 row" in line


def test_directory_and_fifo_are_not_read(tmp_path, capsys, no_training):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert "must be a file" in _refused(capsys, folder)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.csv"
        os.mkfifo(fifo)  # opening it would wait for a writer forever
        assert "must be a file" in _refused(capsys, fifo)


# -- rows and fields ---------------------------------------------------------------


def test_row_longer_than_the_header(tmp_path, capsys, no_training):
    path = _write(tmp_path, _numbers() + "1,2,3,4\n")
    line = _refused(capsys, path)
    assert (
        f"could not read {path}: line 42 has 4 fields, but the header names 3" in line
    )


@pytest.mark.parametrize("ending", [",", ",0"])
def test_every_row_longer_than_the_header(ending, tmp_path, capsys, no_training):
    """pandas would read the first field as row names, shifting every column."""
    rows = "".join(f"{i},{i % 2}{ending}\n" for i in range(40))
    line = _refused(capsys, _write(tmp_path, "a,y\n" + rows))
    assert "first row of" in line and "has 3 fields but its header names 2" in line


def test_short_row_reads_missing_values(tmp_path):
    """Missing trailing fields are missing values, as in pandas and R."""
    frame = data.load_table(_write(tmp_path, "a,b,y\n1,2,0\n3,4\n5,6,1\n"), _quiet)
    assert frame["y"].isna().tolist() == [False, True, False]


def test_trailing_delimiter_in_the_header_makes_an_empty_column(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(40))
    frame = data.load_table(_write(tmp_path, "a,y,\n" + rows), _quiet)
    X, dropped = data.select_features(frame.drop(columns="y"), say=_quiet)
    assert dropped == {"Unnamed: 2": "no values"} and list(X.columns) == ["a"]


def test_delimiter_sniffer_sees_a_bounded_sample(tmp_path, monkeypatch):
    """csv.Sniffer takes 36 s on 64 KB of '";"': it sees only the first 4 KB."""
    import csv

    seen = []
    sniff = csv.Sniffer.sniff

    def recording(self, sample, delimiters=None):
        seen.append(len(sample))
        return sniff(self, sample, delimiters)

    monkeypatch.setattr(csv.Sniffer, "sniff", recording)
    path = _write(tmp_path, '";"' * 21_845)
    assert data.sniff_delimiter(path) in csv_layout.CSV_DELIMITERS
    lines = "".join(f"{i};{'x' * 50};{i % 2}\n" for i in range(2000))
    assert data.load_table(_write(tmp_path, "a;b;y\n" + lines, "s.csv"), _quiet).shape
    assert seen and max(seen) <= csv_layout.SNIFFER_CHARS


def test_unclosed_quote(tmp_path, capsys, no_training):
    line = _refused(capsys, _write(tmp_path, 'a,y\n1,"x\n2,y\n'))
    assert (
        'ends inside a quoted value that opens in row 1; a closing quote (") is' in line
    )


def test_quoted_line_breaks_and_old_mac_line_ends(tmp_path):
    rows = "".join(f'{i},"first\nsecond {i % 3}",{i % 2}\n' for i in range(30))
    frame = data.load_table(_write(tmp_path, "a,note,y\n" + rows), _quiet)
    assert frame.shape == (30, 3)
    assert frame["note"].iloc[4] == "first\nsecond 1"
    frame = data.load_table(_write(tmp_path, _numbers().replace("\n", "\r")), _quiet)
    assert frame.shape == (40, 3)


def test_duplicate_column_names(tmp_path, capsys, no_training):
    """pandas would rename the second 'y' to 'y.1', the default target."""
    path = _write(tmp_path, _numbers(header="a,y,y"))
    line = _refused(capsys, path)
    assert "names two columns 'y' (columns 2 and 3); give each column its own" in line


def test_one_row(tmp_path, capsys, no_training):
    line = _refused(capsys, _write(tmp_path, "a,y\n1,x\n"))
    assert "has a single class ('x')" in line
    line = _refused(capsys, _write(tmp_path, "a,y\n1,2.5\n"))
    assert "--cv 5 is larger than the number of rows (1)" in line


def test_one_class(tmp_path, capsys, no_training):
    rows = "".join(f"{i},same\n" for i in range(40))
    line = _refused(capsys, _write(tmp_path, "a,y\n" + rows))
    assert "the target column 'y' has a single class ('same')" in line


def test_too_few_rows_for_early_stopping_is_refused_before_training(
    tmp_path, capsys, no_training
):
    line = _refused(capsys, _write(tmp_path, _numbers(n_rows=21)), "--cv", 2)
    assert (
        "21 rows are too few for --cv 2: each network trains on 10 rows and "
        "holds out 10% of them, at least 2, for early stopping; use at least "
        "22 rows"
    ) in line


@pytest.mark.slow
def test_the_fewest_rows_allowed_train(tmp_path, capsys):
    """The row rule matches the estimators': 22 rows and --cv 2 do train."""
    path = _write(tmp_path, _numbers(n_rows=22))
    status, out, err = _run(
        capsys, "--data", path, "--cv", 2, "--max-epochs", 1, "--out", tmp_path / "o"
    )
    assert status == 0, err


@pytest.mark.parametrize(
    "n_rows, cv, search, rows",
    [
        (22, 2, "none", 11),
        (14, 5, "none", 11),
        (34, 2, "grid", 11),
        (22, 5, "random", 11),
    ],
)
def test_training_rows_of_the_smallest_part(n_rows, cv, search, rows):
    from sklearn.model_selection import KFold

    fraction = models.VALIDATION_FRACTION
    assert data._training_rows(n_rows, cv, search) == rows
    assert data._holds_out_enough(rows, fraction)
    # The smallest outer training fold of a plain KFold has that size too.
    if search == "none":
        folds = KFold(cv).split(np.zeros(n_rows))
        assert min(len(train) for train, _ in folds) == rows
    fewer = data._training_rows(n_rows - 1, cv, search)
    assert not data._holds_out_enough(fewer, fraction)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_row_rule_holds_out_what_the_network_holds_out(task):
    """check_folds reads VALIDATION_FRACTION; the networks are built with it."""
    for preset in models.MODEL_PRESETS:
        network = models.make_network(task, preset, 1, 0)
        assert network.validation_fraction == models.VALIDATION_FRACTION
        assert network.patience == models.PATIENCE


@pytest.mark.slow
def test_fewest_rows_allowed_train_with_a_search(tmp_path, capsys):
    path = _write(tmp_path, _numbers(n_rows=34))
    args = ["--cv", 2, "--max-epochs", 1, "--search", "random", "--out"]
    status, _, err = _run(capsys, "--data", path, *args, tmp_path / "o")
    assert status == 0, err
    assert "33 rows are too few" in _refused(
        capsys, _write(tmp_path, _numbers(n_rows=33), "s.csv"), *args, tmp_path / "p"
    )


# -- values --------------------------------------------------------------------


def test_missing_and_infinite_value_spellings(tmp_path, capsys, no_training):
    missing = ["nan", "NaN", "NA", "", "n/a", "NULL", "1", "2"] * 5
    rows = "".join(f"{value},{i},{i % 2}\n" for i, value in enumerate(missing))
    frame = data.load_table(_write(tmp_path, "a,b,y\n" + rows), _quiet)
    assert frame["a"].isna().sum() == 30 and frame["a"].dtype.kind == "f"
    for spelling in ("inf", "-inf", "Infinity", "-Infinity"):
        path = _write(tmp_path, f"a,b,y\n{spelling},1,0\n" + rows, f"{spelling}.csv")
        assert "column(s) 'a' hold infinite values" in _refused(capsys, path)


def test_target_without_values(tmp_path, capsys, no_training):
    for empty in ("", "NA", "nan"):
        rows = "".join(f"{i},{empty},{i % 2}\n" for i in range(40))
        path = _write(tmp_path, "a,y,z\n" + rows, f"t{empty}.csv")
        line = _refused(capsys, path, "--target", "y")
        assert line.endswith("the target column 'y' has no values")
    # A header line ending with a delimiter names an empty last column.
    rows = "".join(f"{i},{i % 2}\n" for i in range(40))
    line = _refused(capsys, _write(tmp_path, "a,y,\n" + rows))
    assert (
        "the target column 'Unnamed: 2' has no values; it is the last column, " in line
    )
    assert line.endswith("the default: choose the target with --target")


def test_identifier_like_target(tmp_path, capsys, no_training):
    rows = "".join(f"{i % 7},user{i}\n" for i in range(40))
    line = _refused(capsys, _write(tmp_path, "a,y\n" + rows))
    assert "'y' has 40 distinct values in 40 rows: it looks like an identifier" in line


def test_columns_without_values_are_dropped(tmp_path, capsys, no_training):
    rows = "".join(f",{i},,{i % 2}\n" for i in range(40))
    frame = data.load_table(_write(tmp_path, "a,b,c,y\n" + rows), _quiet)
    said = []
    X, dropped = data.select_features(frame.drop(columns="y"), say=said.append)
    assert list(X.columns) == ["b"]
    assert dropped == {"a": "no values", "c": "no values"}
    assert said == [
        "Note: dropped column 'a': no values.",
        "Note: dropped column 'c': no values.",
    ]
    rows = "".join(f",,{i % 2}\n" for i in range(40))
    line = _refused(capsys, _write(tmp_path, "a,b,y\n" + rows, "empty.csv"))
    assert "no feature column is left after dropping a, b" in line


def test_saved_row_index_is_dropped(tmp_path):
    """pandas' to_csv writes the index first, under an empty name."""
    frame = pd.DataFrame({"a": np.arange(40) % 7, "y": np.arange(40) % 2})
    frame.to_csv(tmp_path / "t.csv")
    read = data.load_table(tmp_path / "t.csv", _quiet)
    said = []
    X, dropped = data.select_features(read.drop(columns="y"), say=said.append)
    assert list(X.columns) == ["a"]
    assert said == [
        "Note: dropped column 'Unnamed: 0': no name and increasing row numbers, "
        "a saved index."
    ]
    # Row numbers in a later unnamed column, unnamed columns of other values,
    # or row numbers with a name: kept.
    later = read.assign(**{"Unnamed: 3": np.arange(40)})
    assert "Unnamed: 3" in data.select_features(later, say=_quiet)[0]
    shuffled = read.assign(**{"Unnamed: 0": read["Unnamed: 0"][::-1].to_numpy()})
    assert "Unnamed: 0" in data.select_features(shuffled, say=_quiet)[0]
    named = read.rename(columns={"Unnamed: 0": "order"})
    assert "order" in data.select_features(named, say=_quiet)[0]


def test_a_huge_value_makes_a_short_error_line(tmp_path, capsys, no_training):
    giant = "x" * 1_000_000
    path = _write(
        tmp_path, f"a,y\n1,{giant}\n" + "".join(f"{i},k\n" for i in range(30))
    )
    line = _refused(capsys, path)
    assert len(line) < 300 and "class 'xxxx" in line and "...' has a single row" in line
    path = _write(tmp_path, f"a,{giant}\n1,2\n", "h.csv")
    line = _refused(capsys, path)
    assert len(line) < 300
    assert "could not read the header line of" in line
    assert "a column name is longer than 131,072 characters" in line
    path = _write(tmp_path, f"a,{giant[:100_000]}\n1,2\n", "n.csv")
    line = _refused(capsys, path, "--target", "b")
    assert (
        len(line) < 300
        and "unknown target column 'b'; available columns: a, xxx" in line
    )


# -- size limits ----------------------------------------------------------------


def _forbid_parsing(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(csv_layout.pd, "read_csv", parse)
    monkeypatch.setattr(csv_layout.pd, "read_parquet", parse)


def test_file_beyond_the_size_limit_is_refused_unread(
    tmp_path, capsys, monkeypatch, no_training
):
    path = _write(tmp_path, _numbers(n_rows=300))
    monkeypatch.setattr(limits, "MAX_DATA_BYTES", 1024)
    _forbid_parsing(monkeypatch)
    opened = []
    for module in (reading, text_encoding, csv_layout):
        monkeypatch.setattr(
            module, "open", lambda *a, **k: opened.append(a), raising=False
        )
    line = _refused(capsys, path)
    assert f"is {path.stat().st_size / 1024:.2f} KiB, more than the 1 KiB a" in line
    assert "use a sample of its rows" in line
    assert opened == []


@pytest.mark.skipif(os.name != "posix", reason="needs a sparse file")
def test_sparse_gigabyte_file_is_refused_at_once(tmp_path, capsys, no_training):
    """A 1.5 GB file (sparse: no disk used) is refused from its size alone."""
    path = tmp_path / "huge.csv"
    with open(path, "wb") as file:
        file.write(b"a,y\n")
        file.truncate(1536 * 2**20)
    line = _refused(capsys, path)
    assert "is 1.5 GiB, more than the 512 MiB a report reads" in line


def test_too_many_values_are_refused_in_bounded_memory(
    tmp_path, capsys, monkeypatch, no_training
):
    """Commas alone make values: 24 MB here would be 192 MB of float64."""
    n_columns, n_rows = 1000, 24_000
    row = "," * (n_columns - 1) + "\n"
    header = ",".join(f"c{j}" for j in range(n_columns)) + "\n"
    path = _write(tmp_path, header + row * n_rows)
    monkeypatch.setattr(limits, "MAX_CELLS", 1_000_000)
    _forbid_parsing(monkeypatch)
    tracemalloc.start()
    try:
        line = _refused(capsys, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "has 24,001 lines of 1,000 columns, up to 24,001,000 values" in line
    assert "more than the 1,000,000 a report reads" in line
    # The scan holds a block and the head, not the file.
    assert peak < limits.MAX_HEADER_BYTES * 3 < path.stat().st_size


def test_too_many_columns(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.setattr(limits, "MAX_COLUMNS", 5)
    rows = "".join(f"{i},1,2,3,4,{i % 2}\n" for i in range(30))
    path = _write(tmp_path, "a,b,c,d,e,y\n" + rows)
    _forbid_parsing(monkeypatch)
    assert "has 6 columns, more than the 5 a report handles" in _refused(capsys, path)


def test_header_line_beyond_the_limit(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.setattr(limits, "MAX_HEADER_BYTES", 100)
    path = _write(tmp_path, "a" * 200 + ",y\n1,0\n" * 5)
    _forbid_parsing(monkeypatch)
    assert "first line of" in _refused(capsys, path)


def test_wide_one_hot_encoding_is_refused(tmp_path, capsys, monkeypatch, no_training):
    rows = "".join(f"{i},t{i % 8},u{i % 9},{i % 2}\n" for i in range(40))
    path = _write(tmp_path, "a,t,u,y\n" + rows)
    monkeypatch.setattr(data, "MAX_ENCODED_COLUMNS", 10)
    line = _refused(capsys, path)
    assert (
        "would be 40 rows x 18 columns (720 values): more than the 10 columns" in line
    )
    monkeypatch.setattr(data, "MAX_ENCODED_COLUMNS", 100)
    monkeypatch.setattr(data, "MAX_CELLS", 700)
    assert "more than the 700 values" in _refused(capsys, path)


def test_parquet_size_is_checked_from_its_metadata(
    tmp_path, capsys, monkeypatch, no_training
):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": range(1000), "y": [0, 1] * 500}).to_parquet(path)
    monkeypatch.setattr(limits, "MAX_CELLS", 1999)
    _forbid_parsing(monkeypatch)
    assert "has 1,000 rows of 2 columns" in _refused(capsys, path)


def test_parquet_text_is_measured_with_its_dictionaries_kept(
    tmp_path, capsys, monkeypatch, no_training
):
    """One 1 KB value stored once, used 2,000 times: pandas would write 2 MB."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n_rows = 2000
    text = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n_rows, dtype=np.int32)), pa.array(["x" * 1000])
    )
    table = pa.table({"a": np.arange(n_rows), "t": text, "y": np.arange(n_rows) % 2})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, store_schema=False)  # read back as plain text
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(limits, "MAX_DATA_BYTES", 1_000_000)
    _forbid_parsing(monkeypatch)
    line = _refused(capsys, path)
    assert "holds at least 1.91 MiB of data as text, more than the 976.56 KiB" in line


def test_parquet_declared_decompressed_size(tmp_path, capsys, monkeypatch, no_training):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.table({"a": np.zeros(100_000), "y": np.arange(100_000) % 2})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, use_dictionary=False, compression="zstd")
    monkeypatch.setattr(limits, "MAX_DATA_BYTES", 200_000)
    assert path.stat().st_size < 200_000
    _forbid_parsing(monkeypatch)
    assert "of data decompressed, more than the" in _refused(capsys, path)


@pytest.mark.slow
def test_ten_thousand_columns_get_a_report(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 10_000)).round(2)).add_prefix("c")
    frame["y"] = np.arange(40) % 2
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", path, "--max-epochs", 1, "--cv", 2, "--out", out_dir
    )
    assert status == 0, err
    assert "40 rows, 10,000 feature columns" in out
    assert (out_dir / "report.html").exists()
