"""The machine the numbers were measured on: CPU, cores, load, and the versions of everything."""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import os
import platform
import resource
from pathlib import Path
from typing import Any

import numpy as np

import nnlite as nl


def describe_machine() -> dict[str, str]:
    """CPU, cores, the load when the run began, Python, numpy and its BLAS, the optional engines,
    and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine = {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "load average": _load(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "BLAS": _blas(),
        "nnlite": nl.__version__,
        "PyTorch": _version("torch"),
        "JAX": _version("jax"),
        "scikit-learn": _version("scikit-learn"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return machine


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _load() -> str:
    """The 1, 5 and 15 minute load averages, when the system has them."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 minutes) when the run began"


def _blas() -> str:
    """numpy's BLAS: from threadpoolctl when installed, else numpy.show_config."""
    try:
        threadpoolctl: Any = importlib.import_module("threadpoolctl")
        pools = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
        if pools:
            pool = pools[0]
            return (
                f"{pool['internal_api']} {pool['version']} ({pool.get('architecture', '?')}, "
                f"{pool['num_threads']} threads), via threadpoolctl"
            )
    except ImportError:
        pass
    try:
        config: Any = np.show_config(mode="dicts")  # numpy >= 1.26; older ones: TypeError
        blas = config["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}, via numpy.show_config".strip()
    except (TypeError, KeyError):
        return "unknown"


def busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux), None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    """CPU seconds this process's finished children have used."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
