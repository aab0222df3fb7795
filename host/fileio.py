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
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import ErbpError
from .reference.fileio import (FileLimitError, make_dir_atomic, open_atomic, read_limited,
                               write_bytes_atomic)

__all__ = ["open_atomic", "make_dir_atomic", "user_cache_dir", "write_bytes_atomic",
           "write_text_atomic", "write_json", "read_json", "append_jsonl", "read_jsonl",
           "write_jsonl", "read_limited", "FileLimitError", "JsonFileError", "MAX_JSON_BYTES"]

#: The largest JSON or JSON-lines file read (run configurations, metrics, results): 256 MiB,
#: far above what erbp writes (a metrics record is ~300 bytes, a stream result ~200).
MAX_JSON_BYTES = 256 << 20


class JsonFileError(ErbpError, ValueError):
    """A JSON or JSON-lines file that is not what erbp wrote (the message names the line)."""


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def user_cache_dir() -> Path:
    """erbp's cache: ``$XDG_CACHE_HOME/erbp``, else ``~/.cache/erbp`` (firmware builds of an
    installed package, records of detached emulators)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "erbp"


def write_text_atomic(path: str | os.PathLike, text: str, *, parents: bool = False) -> None:
    """Replace a text file (UTF-8) by ``text``, atomically."""
    with open_atomic(path, "w", parents=parents) as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2,
               parents: bool = False) -> None:
    """Write ``obj`` as JSON (indented by ``indent``; None: one line) and a newline, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=indent) + "\n", parents=parents)


def read_json(path: str | os.PathLike, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes (:class:`JsonFileError` if it is not
    JSON, FileLimitError if larger; OSError if it cannot be read)."""
    data = read_limited(path, max_bytes, "JSON file")
    try:
        return json.loads(data)
    except ValueError as e:
        raise JsonFileError(f"{path}: not valid JSON ({e})") from None


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a JSON line (not atomic: see the module docstring)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: str | os.PathLike, *, max_bytes: int = MAX_JSON_BYTES,
               warn: Callable[[str], None] | None = _warn) -> list[dict[str, Any]]:
    """Every record (JSON object) of a JSON-lines file (empty list if the file does not exist).

    A torn last line (no newline after it and not a whole JSON object: what a writer killed
    mid-line leaves) is skipped with a warning (``warn``); a bad line anywhere else is corruption
    and raises :class:`JsonFileError` naming the line. Files over ``max_bytes`` are refused."""
    p = Path(path)
    if not p.exists():
        return []
    lines = read_limited(p, max_bytes, "JSON-lines file").split(b"\n")
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            rec, err = None, str(e)
        else:
            err = "" if isinstance(rec, dict) else f"a JSON {type(rec).__name__}, not an object"
        if err:
            if i == len(lines) - 1:  # after the last newline: an interrupted append
                if warn:
                    warn(f"{p}: the last line is incomplete (an interrupted write?): ignored")
                break
            raise JsonFileError(f"{p}: line {i + 1} is corrupt ({err})")
        records.append(rec)
    return records


def write_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]], *,
                parents: bool = False) -> None:
    """Replace a JSON-lines file with ``records``, atomically."""
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records), parents=parents)
