"""Small helpers shared by experiment scripts: atomic JSON files, JSON lines, the command line.

Experiments (baselines, benchmarks, sweeps) cache one JSON file per finished run and record the
command that made it, so an interrupted sweep resumes where it stopped and every number can be
traced back to a command.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file via a temporary file renamed over the target (never half-written)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, p)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file."""
    return json.loads(Path(path).read_text())


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a JSON line."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every record of a JSON-lines file (empty list if the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def write_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> None:
    """Replace a JSON-lines file with ``records``, atomically."""
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records))


def command_line(argv: list[str] | None = None) -> str:
    """The current invocation as a shell command, e.g. ``python benchmarks/x.py --tiny``."""
    args = list(sys.argv if argv is None else argv)
    if args and args[0].endswith(".py"):
        return shlex.join(["python", *args])
    return shlex.join(args)


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def machine() -> dict[str, Any]:
    """Where a measurement ran: host name, CPU count, Python and numpy versions."""
    import numpy as np

    return {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}


def resolve_engine(name: str) -> str:
    """An engine name for erbp.engines: ``auto`` becomes "c" if the C engine is built, else
    "python"; another name is checked (EngineUnavailable if unknown or not built)."""
    from .engines import EngineUnavailable, engine_class

    if name != "auto":
        engine_class(name)
        return name
    try:
        engine_class("c")
        return "c"
    except EngineUnavailable:
        return "python"
