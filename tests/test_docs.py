"""The docs run as written: the runnable command blocks of docs/*.md (marked ``<!-- test: run -->``,
tests/docs_support.py) run in an empty directory against this checkout's environment (README.md's
run from the wheel, tests/test_wheel.py); every relative link and every project file path the
docs cite exists."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from docs_support import check, run_doc, runnable_blocks

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: What each runnable document must print, beyond succeeding.
EXPECT = {
    "firmware.md": ["verified: all 100 results equal the PC's C engine; the board's weights are "
                    "bit-identical to the PC's"],
    "micropython.md": ["trained on one sample in"],
}


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCS if runnable_blocks(d.read_text())
                                 and d.name != "README.md"], ids=lambda d: d.name)
def test_runnable_blocks_run_as_written(doc, tmp_path, mnist_dir):
    """(README.md's blocks run in tests/test_wheel.py, from the wheel in a fresh venv.)"""
    r = run_doc(doc, tmp_path / "work", BIN, mnist_dir, tmp_path / "cache")
    check(r, *EXPECT.get(doc.name, []))


def test_marks_stand_before_blocks():
    for d in DOCS:
        runnable_blocks(d.read_text())  # raises on a mark without its block
    assert len(runnable_blocks((ROOT / "README.md").read_text())) == 3


# --- links and cited files ----------------------------------------------------------------------
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
PATHLIKE = re.compile(r"^[\w.-]+(/[\w.-]*)+$")
FOLDERS = ("reference/", "cport/", "firmware/", "host/", "tests/", "docs/", "benchmarks/")
#: Cited paths that are made by commands, not committed (build outputs, run directories).
GENERATED = ("benchmarks/out/", "build/", "firmware/build/", "runs/", "board/", "hello/")
#: Placeholders in cited paths (a board's folder, a run directory, ...).
PLACEHOLDER = re.compile(r"NAME|<|>|\*|\{|\.\.\.|\$")


def cited_paths(text: str) -> list[str]:
    """Backticked project paths: under a top-level folder, or a file name with an extension in
    a folder (``docs/usage.md``, ``host/engines/base.py``)."""
    out = []
    for m in CODE.finditer(text):
        p = m.group(1).rstrip(".,:;")
        if PLACEHOLDER.search(p) or p.startswith(GENERATED) or not PATHLIKE.match(p):
            continue
        if p.startswith(FOLDERS) or re.search(r"\.(md|py|c|h|ld|S|toml)$", p):
            out.append(p)
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_links_and_cited_files_exist(doc):
    text = doc.read_text()
    missing = []
    for m in LINK.finditer(text):
        url = m.group(1)
        if re.match(r"[a-z]+:", url) or url.startswith("#"):
            continue
        if not (doc.parent / url.split("#")[0]).exists():
            missing.append(f"link {url}")
    for p in cited_paths(text):
        if not (ROOT / p).exists() and not (doc.parent / p).exists():
            missing.append(f"path {p}")
    assert not missing, f"{doc.name} cites what the repository does not have: {missing}"
    outside = [w for w in ("../shared", "shared/research", "shared/data") if w in text]
    assert not outside, f"{doc.name} cites files outside the project: {outside}"


def test_the_scanner_sees_a_missing_file():
    assert cited_paths("see `host/nothing_here.py` and `docs/usage.md`, not `runs/first`") == \
        ["host/nothing_here.py", "docs/usage.md"]


def test_one_copy_command_for_micropython_boards(tmp_path):
    """README, docs/micropython.md and the exported main.py give the same copy command."""
    from erbp.export.micropython import COPY_COMMAND, MAIN_PY

    cmd = COPY_COMMAND.format(dir="board")
    assert cmd in (ROOT / "README.md").read_text()
    assert cmd in (ROOT / "docs" / "micropython.md").read_text()
    assert "{copy}" in MAIN_PY
