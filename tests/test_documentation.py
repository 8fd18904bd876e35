"""The Python snippets of README.md and docs/ run, and print what they say.

Each page's ```python blocks run in order in one namespace, as a reader
would paste them, in a temporary folder (snippets write checkpoints,
figures and reports). A ``print(...)`` followed by comment lines holding a
Python literal, such as::

    print(clf.history_frame().columns.tolist())
    # ['epoch', 'lr', 'dur', ...]

must print exactly that literal. Blocks that need a GPU, a Dask cluster or
another machine are skipped, each with its reason in ``SKIPPED``; the few
blocks that take minutes run only with ``NNESTIMATORS_DOCS_ALL=1``
(``LONG``). Running the snippets trains networks page after page: it is the
slow tier's work; the fast tier checks that every snippet compiles.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
import types
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    REPO_ROOT / "README.md",
    *sorted((REPO_ROOT / "docs").rglob("*.md")),
]

# (page, block number from 0): why the block does not run here.
SKIPPED = {
    ("docs/distributed.md", 2): "starts a Dask cluster of worker processes "
    "(tests/test_dask.py runs the searches and reports on one)",
    ("docs/distributed.md", 3): "starts a Dask cluster of worker processes "
    "(tests/test_dask.py runs the searches and reports on one)",
    ("docs/distributed.md", 4): "connects to a Dask scheduler on another "
    "machine (tcp://SCHEDULER:8786): needs the network",
    ("docs/distributed.md", 5): "needs the Dask client of the blocks before "
    "(tests/test_dask.py runs this on a local cluster)",
    ("docs/distributed.md", 6): "writes to a shared file system "
    "(/shared/experiments) through a Dask cluster",
    ("docs/distributed.md", 7): "needs dask_cuda and a GPU",
    ("docs/distributed.md", 8): "needs a Dask cluster with GPU workers",
}

# (page, block): why it runs only with NNESTIMATORS_DOCS_ALL=1.
LONG = {
    ("docs/distributed.md", 0): "a 20-fit grid search with automatic epochs: "
    "minutes on two CPU cores",
    ("docs/distributed.md", 1): "refits block 0's search under a thread limit: "
    "minutes on two CPU cores",
}
RUN_LONG = os.environ.get("NNESTIMATORS_DOCS_ALL") == "1"

_FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)
_PRINT = re.compile(r"^print\((?P<expr>.*)\)\s*$")


def _name(page):
    return page.relative_to(REPO_ROOT).as_posix()


def python_blocks(page):
    """The ```python blocks of a Markdown page, dedented, in order."""
    blocks = []
    for indent, code in _FENCE.findall(page.read_text(encoding="utf-8")):
        lines = [line[len(indent) :] for line in code.splitlines()]
        blocks.append("\n".join(lines) + "\n")
    return blocks


def documented_outputs(code):
    """``(line number, expression, literal)`` for each print with its output."""
    lines = code.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = _PRINT.match(line)
        if not match:
            continue
        comments = []
        for following in lines[number + 1 :]:
            if not following.startswith("#"):
                break
            comments.append(following[1:].strip())
        try:
            expected = ast.literal_eval(" ".join(comments))
        except (ValueError, SyntaxError):
            continue
        found.append((number, match.group("expr"), expected))
    return found


def _with_output_checks(code):
    """``code`` with each documented print replaced by an equality check."""
    lines = code.splitlines()
    for number, expr, expected in documented_outputs(code):
        lines[number] = f"__documented__({expr}, {expected!r}, {number + 1})"
    return "\n".join(lines) + "\n"


def _documented(value, expected, line):
    shown = value.tolist() if hasattr(value, "tolist") else value
    assert shown == expected, (
        f"line {line} prints {shown!r}, the page says {expected!r}"
    )


def _missing_modules(code):
    """Top-level modules a block imports that are not installed."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return sorted(n for n in names if importlib.util.find_spec(n) is None)


def test_every_snippet_is_python_and_every_skip_names_a_snippet():
    blocks = {_name(page): python_blocks(page) for page in PAGES}
    for name, codes in blocks.items():
        for number, code in enumerate(codes):
            compile(code, f"{name} block {number}", "exec")
    for name, number in [*SKIPPED, *LONG]:
        assert number < len(blocks[name]), f"{name} has no block {number}"
    # The output checks find what they are meant to find.
    example = "print(sorted({'b': 1, 'a': 2}))\n# ['a', 'b']\nprint(1)  # one\n"
    assert documented_outputs(example) == [(0, "sorted({'b': 1, 'a': 2})", ["a", "b"])]


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [page for page in PAGES if python_blocks(page)], ids=_name
)
def test_documented_snippets_run(page, tmp_path, monkeypatch):
    name = _name(page)
    blocks = python_blocks(page)
    monkeypatch.chdir(tmp_path)
    # A real module, as a script's __main__ is: classes defined in a snippet
    # import back by name (checkpoints store them so).
    module = types.ModuleType("docs_" + re.sub(r"\W", "_", name))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    namespace["__documented__"] = _documented
    ran = 0
    for number, code in enumerate(blocks):
        if (name, number) in SKIPPED:
            continue
        if (name, number) in LONG and not RUN_LONG:
            continue
        missing = _missing_modules(code)
        if missing:
            pytest.skip(f"{name} block {number} needs {', '.join(missing)}")
        checked = compile(_with_output_checks(code), f"{name} block {number}", "exec")
        exec(checked, namespace)
        ran += 1
    if not ran:
        reasons = {**SKIPPED, **LONG}
        pytest.skip(
            f"no snippet of {name} runs here: "
            + "; ".join(
                f"block {n}: {why}"
                for (page, n), why in reasons.items()
                if page == name
            )
        )


def test_readme_and_guide_name_the_estimator_checks_expected_to_fail():
    spec = importlib.util.spec_from_file_location(
        "estimator_checks", REPO_ROOT / "tests" / "test_estimator_checks.py"
    )
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    expected = sorted(checks.EXPECTED_FAILURES)
    assert expected, "no expected failure to document"
    for page in ("README.md", "docs/guide/estimators.md"):
        text = " ".join((REPO_ROOT / page).read_text(encoding="utf-8").split())
        named = sorted(set(re.findall(r"check_sample_weight_equivalence\w*", text)))
        assert named == expected, f"{page} names {named}; the tests grant {expected}"


def test_reports_guide_states_the_commands_reading_limits():
    """The guide's numbers are the limits nnestimators.cli applies."""
    from nnestimators.cli import data, limits, text_encoding
    from nnestimators.cli.limits import format_bytes

    words = " ".join((REPO_ROOT / "docs/guide/reports.md").read_text().split())
    stated = [
        f"larger than {format_bytes(limits.MAX_DATA_BYTES)} (`MAX_DATA_BYTES`",
        f"more than {limits.MAX_CELLS:,} values (`MAX_CELLS`",
        f"more than {limits.MAX_COLUMNS:,} columns (`MAX_COLUMNS`)",
        f"longer than {format_bytes(limits.MAX_HEADER_BYTES)} (`MAX_HEADER_BYTES`)",
        f"at most {data.MAX_ENCODED_COLUMNS:,} columns (`MAX_ENCODED_COLUMNS`)",
        f"and {data.MAX_CELLS:,} values",
        f"Windows-1252 (`{text_encoding.FALLBACK_ENCODING}`",
    ]
    for text in stated:
        assert text in words
