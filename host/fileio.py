"""Files written whole or not at all, and the JSON and JSON-lines files of runs and experiments.

Every file the package replaces (model files, checkpoints, run configuration, results) goes
through :func:`open_atomic` (defined once, in :mod:`erbp.reference.fileio`, because the reference
writes model files and must stay importable alone): a temporary file beside the target, fsynced,
then renamed over it, so an interrupted or failed write leaves the old file intact. Appending a
JSON line (:func:`append_jsonl`) is not atomic; readers of JSON-lines files written by appending
drop a torn last line where that matters (:func:`erbp.boards.stream.read_results`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from .reference.fileio import open_atomic, write_bytes_atomic

__all__ = ["open_atomic", "write_bytes_atomic", "write_text_atomic", "write_json", "read_json",
           "append_jsonl", "read_jsonl", "write_jsonl"]


def write_text_atomic(path: str | os.PathLike, text: str, *, parents: bool = False) -> None:
    """Replace a text file (UTF-8) by ``text``, atomically."""
    with open_atomic(path, "w", parents=parents) as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2,
               parents: bool = False) -> None:
    """Write ``obj`` as JSON (indented by ``indent``; None: one line) and a newline, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=indent) + "\n", parents=parents)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file."""
    return json.loads(Path(path).read_text())


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a JSON line (not atomic: see the module docstring)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every record of a JSON-lines file (empty list if the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def write_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]], *,
                parents: bool = False) -> None:
    """Replace a JSON-lines file with ``records``, atomically."""
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records), parents=parents)
