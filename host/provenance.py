"""Where a number came from: the command that made it, when, and on what machine.

Experiments (baselines, benchmarks, sweeps) record these beside every result, so every figure in
the docs can be traced back to a command.
"""
from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from typing import Any


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
