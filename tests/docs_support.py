"""Running the command blocks of the docs as written (tests/test_docs.py, tests/test_wheel.py).

A fenced block right after the line ``<!-- test: run -->`` is runnable: ```sh blocks run in bash,
```python blocks in the Python of the environment under test. The runnable blocks of one document
run in order as one bash script (``set -euo pipefail``, so an ``export`` carries over to the next
block) in an empty working directory. Nothing is substituted but that directory and the value of
an ``export ERBP_DATA=...`` line (the MNIST directory the tests use).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARK = "<!-- test: run -->"
FENCE = re.compile(r"^```(\w+)\s*$")
DATA_LINE = re.compile(r"^(\s*export ERBP_DATA=)\S+")


@dataclass(frozen=True)
class Block:
    lang: str   # "sh" or "python"
    code: str
    line: int   # 1-based line of the opening fence


def runnable_blocks(text: str) -> list[Block]:
    """The blocks marked runnable, in order. A mark not followed by a fenced sh/python block is
    an error (so a typo cannot silently drop a block from the tests)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        m = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if not m or m.group(1) not in ("sh", "python"):
            raise ValueError(f"line {i + 1}: {MARK} must stand right before a ```sh or ```python "
                             f"block")
        end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == "```")
        out.append(Block(m.group(1), "\n".join(lines[i + 2:end]) + "\n", i + 2))
    return out


def script(blocks: list[Block], name: str, data_dir: Path) -> str:
    """One bash script running the blocks in order."""
    parts = ["set -euo pipefail"]
    for b in blocks:
        parts.append(f"echo '### {name}:{b.line}' >&2")
        if b.lang == "sh":
            code = "\n".join(DATA_LINE.sub(lambda m: m.group(1) + shlex.quote(str(data_dir)), ln)
                             for ln in b.code.splitlines())
            parts.append("set -x\n" + code + "\nset +x")
        else:
            parts.append(f"python - <<'ERBP_DOC_SNIPPET'\n{b.code}ERBP_DOC_SNIPPET")
    return "\n".join(parts) + "\n"


def run_doc(doc: Path, workdir: Path, bindir: Path, data_dir: Path, cache: Path,
            timeout: float = 1500) -> subprocess.CompletedProcess:
    """Run the runnable blocks of ``doc`` in ``workdir`` with ``bindir`` (the environment's
    ``erbp`` and ``python``) first on PATH; emulated boards left running are stopped after."""
    blocks = runnable_blocks(doc.read_text())
    assert blocks, f"{doc} has no runnable block"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ERBP_BOARD",
                                                            "VIRTUAL_ENV")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", ERBP_DATA=str(data_dir),
               XDG_CACHE_HOME=str(cache))
    try:
        return subprocess.run(["bash", "-c", script(blocks, doc.name, data_dir)], cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        subprocess.run([str(bindir / "erbp"), "board", "stop", "--all"], env=env,
                       capture_output=True, timeout=60)


def check(r: subprocess.CompletedProcess, *expect: str) -> None:
    """The script succeeded and its output holds every expected text."""
    tail = f"\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-6000:]}"
    assert r.returncode == 0, tail
    for e in expect:
        assert e in r.stdout + r.stderr, f"{e!r} not in the output{tail}"
