"""skorch's own tests, with skorch's estimators swapped for nnestimators'.

    python tests/skorch_suite/run.py                  # check; exit 1 on a new failure
    python tests/skorch_suite/run.py --write-expected # record today's failures

Steps: download the source distribution of the installed skorch version
(``pip download --no-binary :all:``, cached), extract its ``skorch/tests`` into
a temporary folder, run pytest on the targets below twice over -- once stock
(unless a baseline for this environment is committed or cached) and once with
the ``nnestimators_skorch_swap`` plugin, which rebinds
``skorch.NeuralNetClassifier``, ``skorch.NeuralNetBinaryClassifier`` and
``skorch.NeuralNetRegressor`` (and their ``skorch.classifier`` /
``skorch.regressor`` names) to nnestimators' classes before collection -- and
compare per item.

An item counts when it passes on stock skorch. It fails the check when it does
not pass with nnestimators (fails, errors, or is never collected because its
module no longer imports) and is not in ``expected-failures.txt``. Items that
skip in the swapped run (an optional dependency missing here) do not count.
Expected failures that now pass are listed so that the file can shrink.

Every group of ``expected-failures.txt`` carries a mark, counted per run:

``## forced: <the convention> -- <what the test expects>``
    scikit-learn's conventions or the class name rule skorch's behaviour out.
``## chosen: <the decision; what a skorch user loses> | setting: <setting>``
    a product decision; ``setting`` is what gives skorch's behaviour back.
``## TODO ...``
    a failure nobody has explained yet, or a known bug being fixed. These fail
    the check under ``--strict``.

Exit status: 0 no new failure, 1 new failures (or, with ``--strict``, an
unmarked group or a TODO item still failing), 2 the run itself broke.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected-failures.txt"
# Every file of skorch's tests that builds NeuralNetClassifier,
# NeuralNetBinaryClassifier or NeuralNetRegressor, except two whose nets need
# packages this project does not depend on: test_cli.py (fire, numpydoc; it
# skips without them) and test_hf.py (tokenizers, transformers, accelerate; it
# does not import without them). Stock skorch passes nothing in them here.
TARGETS = [
    "skorch/tests/test_net.py",
    "skorch/tests/test_classifier.py",
    "skorch/tests/test_regressor.py",
    "skorch/tests/callbacks",
    "skorch/tests/test_dataset.py",
    "skorch/tests/test_doctor.py",
    "skorch/tests/test_helper.py",
    "skorch/tests/test_history.py",
    "skorch/tests/test_scoring.py",
    "skorch/tests/test_utils.py",
]
# Versions recorded with a baseline. A committed baseline is used where skorch's
# version, the optional packages present and the major.minor versions of
# scikit-learn and torch match (see baseline_key).
ENV_PACKAGES = ["skorch", "scikit-learn", "torch", "numpy", "scipy", "pandas"]
OPTIONAL_PACKAGES = [
    "tensorboard",
    "mlflow",
    "neptune",
    "wandb",
    "sacred",
    "accelerate",
    "transformers",
    "safetensors",
    "flaky",
]
TODO = "TODO"
MARKS = ("forced", "chosen", "todo")


def log(*args):
    print("[skorch-suite]", *args, flush=True)


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment():
    env = {name: _version(name) for name in ENV_PACKAGES}
    env["optional"] = sorted(n for n in OPTIONAL_PACKAGES if _version(n))
    env["python"] = "{}.{}".format(*sys.version_info[:2])
    return env


def baseline_key(env):
    def minor(v):
        return ".".join((v or "").split("+")[0].split(".")[:2])

    return {
        "skorch": env.get("skorch"),
        "optional": env.get("optional"),
        "scikit-learn": minor(env.get("scikit-learn")),
        "torch": minor(env.get("torch")),
    }


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "nnestimators-skorch-suite"


# ----------------------------------------------------------------- the sdist


def fetch_sdist(version, cache):
    cache.mkdir(parents=True, exist_ok=True)
    name = f"skorch-{version}.tar.gz"
    path = cache / name
    if path.exists():
        return path
    log(f"downloading the source distribution of skorch {version}")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"skorch=={version}",
        "--no-binary",
        ":all:",
        "--no-deps",
        "--quiet",
        "-d",
        str(cache),
    ]
    subprocess.run(cmd, check=True)
    if not path.exists():
        raise SystemExit(f"pip download did not leave {path}")
    return path


def extract_tests(sdist, dest):
    """``skorch-X/skorch/tests/**`` -> ``dest/skorch/tests/**``.

    No ``skorch/__init__.py`` is extracted: ``import skorch`` has to stay the
    installed package that nnestimators builds on.
    """
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) >= 3 and parts[1:3] == ("skorch", "tests"):
                if not (member.isfile() or member.isdir()):
                    continue
                member.name = str(Path(*parts[1:]))
                members.append(member)
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest, members=members, **kwargs)
    tests = dest / "skorch" / "tests"
    if not (tests / "conftest.py").exists():
        raise SystemExit(f"{sdist} has no skorch/tests/conftest.py")
    # Our own ini, so that no configuration from a parent folder applies.
    (dest / "pytest.ini").write_text("[pytest]\n")
    return tests


# ----------------------------------------------------------------- pytest


def run_pytest(root, *, swap, timeout, targets, log_path, extra, stream):
    report = root / ("swapped.json" if swap else "stock.json")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(HERE), env.get("PYTHONPATH", "")] if p
    )
    env["NNESTIMATORS_SKORCH_TESTS"] = str(root / "skorch" / "tests")
    env["NNESTIMATORS_SKORCH_REPORT"] = str(report)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONUNBUFFERED"] = "1"
    # Tiny networks gain nothing from threads; on a shared 2-core machine
    # OpenMP threads fighting for cores make every step many times slower.
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "nnestimators_skorch_record",
        *(["-p", "nnestimators_skorch_swap"] if swap else []),
        "--rootdir",
        str(root),
        "-c",
        str(root / "pytest.ini"),
        "--timeout",
        str(timeout),
        "--continue-on-collection-errors",
        "--tb=short",
        "-rN",
        *extra,
        *targets,
    ]
    log(f"{'swapped' if swap else 'stock'} run: pytest {' '.join(targets)}")
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        last = ""
        for line in proc.stdout:
            out.write(line)
            if stream:
                sys.stdout.write(line)
            if line.strip():
                last = line.strip()
        code = proc.wait()
    elapsed = time.monotonic() - start
    log(f"  pytest exit {code} after {elapsed:.0f} s: {last}")
    log(f"  full output: {log_path}")
    if code not in (0, 1) or not report.exists():
        # 2 with --continue-on-collection-errors still writes the report.
        if not report.exists():
            raise SystemExit(2)
    return json.loads(report.read_text())


# ----------------------------------------------------------------- lists


def read_ids(path):
    """Node ids in ``path``, one a line; ``#`` starts a comment."""
    ids = []
    for line in path.read_text().splitlines():
        line = line.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            ids.append(line)
    return ids


def read_expected(path):
    """``{nodeid: reason}``; a ``## reason`` line heads the ids below it."""
    expected = {}
    reason = TODO
    if not path.exists():
        return expected
    for raw in path.read_text().splitlines():
        if raw.startswith("## "):
            reason = raw[3:].strip()
            continue
        line = raw.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            expected[line] = reason
    return expected


def parse_reason(reason):
    """``(mark, text, setting)`` of a ``## reason`` line (without the ``## ``).

    ``mark`` is ``"forced"``, ``"chosen"``, ``"todo"`` or ``None`` where the
    line has no mark; ``setting`` is the text after ``| setting:`` of a chosen
    group, else ``""``.
    """
    if reason == TODO or reason.startswith(TODO + " ") or reason.startswith(TODO + ":"):
        return "todo", reason[len(TODO) :].lstrip(" :"), ""
    mark, sep, rest = reason.partition(":")
    if not sep or mark.strip() not in ("forced", "chosen"):
        return None, reason, ""
    text, _, setting = rest.partition("| setting:")
    return mark.strip(), text.strip(), setting.strip()


def count_marks(failing, expected):
    """``{mark: number of expected, still failing items}`` (``None`` unmarked)."""
    counts = dict.fromkeys(MARKS, 0)
    for nodeid in failing:
        if nodeid in expected:
            mark = parse_reason(expected[nodeid])[0]
            counts[mark] = counts.get(mark, 0) + 1
    return counts


def write_expected(path, failures, old, version, messages):
    groups = {}
    for nodeid in sorted(failures):
        groups.setdefault(old.get(nodeid, TODO), []).append(nodeid)
    rank = {"forced": 0, "chosen": 1, None: 2, "todo": 3}
    order = sorted(groups, key=lambda r: (rank[parse_reason(r)[0]], r))
    lines = [
        f"# Items of skorch {version}'s test suite that pass on stock skorch but are",
        "# expected to fail with nnestimators' estimators swapped in, grouped by",
        "# reason: a '## reason' line applies to every node id below it. Each reason",
        "# is marked:",
        "#   ## forced: <the scikit-learn convention or class-name rule> -- <what the test expects>",
        "#   ## chosen: <the product decision; what a skorch user loses> | setting: <what gives skorch's behaviour back>",
        f"#   ## {TODO} ...: not explained yet, or a bug being fixed (fails under --strict)",
        "# Written by 'python tests/skorch_suite/run.py --write-expected', which keeps",
        "# the reasons of ids still failing, drops ids that pass, and puts new failures",
        f"# under '## {TODO}' with their error after '  # '. Give them a reason.",
        "",
    ]
    for reason in order:
        lines.append(f"## {reason}")
        for nodeid in groups[reason]:
            msg = messages.get(nodeid, "") if reason == TODO else ""
            lines.append(f"{nodeid}  # {msg}" if msg else nodeid)
        lines.append("")
    path.write_text("\n".join(lines))


def baseline_path_committed(version):
    return HERE / f"stock-passing-skorch-{version}.txt"


def read_committed_baseline(path):
    header = {}
    for line in path.read_text().splitlines():
        if line.startswith("# env: "):
            header = json.loads(line[len("# env: ") :])
    return header, set(read_ids(path))


def write_committed_baseline(path, env, passing, counts):
    lines = [
        "# Items of skorch's suite (tests/skorch_suite/run.py TARGETS) that pass on",
        "# stock skorch in the environment below; the swapped run is measured",
        "# against them. The runner uses this file only where the environment",
        "# matches, and otherwise runs stock skorch itself (cached). Regenerate with",
        "# 'python tests/skorch_suite/run.py --write-baseline'.",
        f"# stock outcomes: {json.dumps(counts, sort_keys=True)}",
        f"# env: {json.dumps(env, sort_keys=True)}",
        "",
        *sorted(passing),
        "",
    ]
    path.write_text("\n".join(lines))


def outcome_counts(results):
    counts = {}
    for res in results.values():
        counts[res["outcome"]] = counts.get(res["outcome"], 0) + 1
    return counts


# ----------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    p.add_argument("--timeout", type=int, default=300, help="seconds per item")
    p.add_argument(
        "--write-expected",
        action="store_true",
        help="rewrite expected-failures.txt from this run's failures; exit 0",
    )
    p.add_argument(
        "--write-baseline",
        action="store_true",
        help="run stock skorch and commit its passing items for this environment",
    )
    p.add_argument(
        "--recompute-baseline",
        action="store_true",
        help="run stock skorch even where a baseline is committed or cached",
    )
    p.add_argument(
        "--targets",
        nargs="+",
        default=TARGETS,
        help="pytest targets under skorch/tests (default: TARGETS, every file that builds nets)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="also fail on unmarked groups and on TODO items that still fail",
    )
    p.add_argument("--json", type=Path, help="write the per-item comparison here")
    p.add_argument("--keep", action="store_true", help="keep the extracted tests")
    p.add_argument("--stream", action="store_true", help="echo pytest's output")
    p.add_argument(
        "--pytest-args", default="", help="extra pytest arguments, one string"
    )
    return p.parse_args(argv)


def stock_baseline(args, env, root, log_dir):
    version = env["skorch"]
    committed = baseline_path_committed(version)
    full = args.targets == TARGETS
    if (
        full
        and committed.exists()
        and not (args.recompute_baseline or args.write_baseline)
    ):
        header, passing = read_committed_baseline(committed)
        if baseline_key(header) == baseline_key(env):
            log(f"stock baseline: {committed.name} ({len(passing)} items)")
            return passing
        log(f"{committed.name} is for another environment; running stock skorch")
        log(f"  committed: {baseline_key(header)}")
        log(f"  here:      {baseline_key(env)}")
    key = hashlib.sha256(
        json.dumps([env, args.targets], sort_keys=True).encode()
    ).hexdigest()[:16]
    cached = args.cache_dir / f"stock-{version}-{key}.json"
    if cached.exists() and not (args.recompute_baseline or args.write_baseline):
        log(f"stock baseline: cached {cached}")
        results = json.loads(cached.read_text())
    else:
        results = run_pytest(
            root,
            swap=False,
            timeout=args.timeout,
            targets=args.targets,
            log_path=log_dir / f"stock-{version}.log",
            extra=args.pytest_args.split(),
            stream=args.stream,
        )
        cached.write_text(json.dumps(results, indent=0, sort_keys=True))
    passing = {k for k, v in results.items() if v["outcome"] == "passed"}
    log(f"stock outcomes: {outcome_counts(results)}")
    if args.write_baseline:
        if not full:
            raise SystemExit("--write-baseline needs the default --targets")
        write_committed_baseline(committed, env, passing, outcome_counts(results))
        log(f"wrote {committed}")
    return passing


def main(argv=None):
    args = parse_args(argv)
    env = environment()
    version = env["skorch"]
    if version is None:
        raise SystemExit("skorch is not installed")
    if not _version("flaky"):
        log(
            "note: skorch's test_net.py imports 'flaky'; install it (pip install flaky)"
        )
    sdist = fetch_sdist(version, args.cache_dir)
    log_dir = args.cache_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="skorch-suite-")
    root = Path(tmp)
    try:
        extract_tests(sdist, root)
        passing = stock_baseline(args, env, root, log_dir)
        ours = run_pytest(
            root,
            swap=True,
            timeout=args.timeout,
            targets=args.targets,
            log_path=log_dir / f"swapped-{version}.log",
            extra=args.pytest_args.split(),
            stream=args.stream,
        )
    finally:
        if args.keep:
            log(f"extracted tests kept in {root}")
        else:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    return compare(args, version, passing, ours)


def compare(args, version, passing, ours):
    expected = read_expected(EXPECTED)
    counted, skipped, failing = [], [], {}
    for nodeid in sorted(passing):
        res = ours.get(nodeid, {"outcome": "missing", "message": "not collected"})
        if res["outcome"] == "passed":
            counted.append(nodeid)
        elif res["outcome"] == "skipped":
            skipped.append(nodeid)
        else:
            failing[nodeid] = f"{res['outcome']}: {res['message']}"
    # Only judge the items this run covered (--targets may be a subset).
    scope = {n for n in passing}
    new = sorted(n for n in failing if n not in expected)
    now_pass = sorted(n for n in counted if n in expected)
    stale = sorted(n for n in expected if n not in scope)

    total = len(counted) + len(failing)
    marks = count_marks(failing, expected)
    todo = sorted(
        n for n in failing if n in expected and parse_reason(expected[n])[0] == "todo"
    )
    unmarked = sorted({r for r in expected.values() if parse_reason(r)[0] is None})
    print()
    log(f"{len(counted)} of {total} stock-passing items pass with nnestimators")
    log(
        f"{len(failing) - len(new)} expected failures, {len(new)} new failures, "
        f"{len(skipped)} skipped in the swapped run (not counted)"
    )
    log(
        "expected failures by mark: "
        + ", ".join(f"{mark} {marks.get(mark, 0)}" for mark in MARKS)
        + (f", unmarked {marks[None]}" if marks.get(None) else "")
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "skorch": version,
                    "passed": counted,
                    "failing": failing,
                    "skipped": skipped,
                    "new": new,
                    "expected_now_passing": now_pass,
                    "marks": {str(k): v for k, v in marks.items()},
                },
                indent=1,
            )
        )
    if args.write_expected:
        if args.targets != TARGETS:
            raise SystemExit("--write-expected needs the default --targets")
        messages = {n: m.replace("\n", " ")[:200] for n, m in failing.items()}
        write_expected(EXPECTED, set(failing), expected, version, messages)
        log(f"wrote {EXPECTED} ({len(failing)} items)")
        return 0
    if now_pass:
        log(f"{len(now_pass)} items of expected-failures.txt now pass; remove them:")
        for nodeid in now_pass:
            print("    " + nodeid)
    if stale and args.targets == TARGETS:
        log(f"{len(stale)} items of expected-failures.txt do not pass on stock:")
        for nodeid in stale:
            print("    " + nodeid)
    if unmarked:
        log(f"{len(unmarked)} groups of expected-failures.txt have no mark:")
        for reason in unmarked:
            print("    ## " + reason)
    if todo:
        log(f"{len(todo)} TODO items still fail (bugs, or not explained):")
        for nodeid in todo:
            print(f"    {nodeid}\n        {failing[nodeid]}")
    if new:
        log(f"{len(new)} NEW failures (pass on stock skorch, not expected):")
        for nodeid in new:
            print(f"    {nodeid}\n        {failing[nodeid]}")
        return 1
    if args.strict and (unmarked or todo):
        log("--strict: unmarked groups or TODO items fail the check")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
