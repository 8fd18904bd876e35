"""A description of the machine and software the benchmark ran on."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import re
from importlib import metadata
from pathlib import Path

import torch
from threadpoolctl import threadpool_info


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def _total_ram() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return "unknown"
    match = re.search(r"^MemTotal:\s+(\d+)\s+kB", text, re.MULTILINE)
    return f"{int(match.group(1)) / 2**20:.1f} GiB" if match else "unknown"


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    # Not pip-installed, e.g. imported from a source checkout.
    try:
        module = importlib.import_module(distribution)
    except ImportError:
        return "not installed"
    return f"{getattr(module, '__version__', 'unknown')} (not pip-installed)"


def _blas_threads() -> str:
    """The BLAS libraries numpy/sklearn use, with their thread limits."""
    entries = [
        f"{info['internal_api']} ({info['num_threads']})"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return ", ".join(entries) or "none found"


Load = tuple[float, float, float]


def load_averages() -> Load | None:
    """The 1/5/15-minute load averages, or None where the OS has none."""
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def format_load(load: Load | None) -> str:
    return "unknown" if load is None else " / ".join(f"{v:.2f}" for v in load)


def describe_machine() -> dict[str, str]:
    """Label -> value, in display order. Call after the threads are configured."""
    return {
        "Date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "CPU": _cpu_model(),
        "Cores": f"{os.cpu_count()} logical, {usable_cores()} usable by this process",
        "RAM": _total_ram(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": _version("skorch"),
        "scikit-learn": _version("scikit-learn"),
        "numpy": _version("numpy"),
        "nnestimators": _version("nnestimators"),
        "torch threads (intra-op)": str(torch.get_num_threads()),
        "BLAS threads (numpy / sklearn)": _blas_threads(),
    }
