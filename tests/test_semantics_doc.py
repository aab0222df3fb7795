"""docs/semantics.md stays consistent with the code and with itself: the configuration layout is
the one generated from reference/params.py, and every "section N" it (or any file of the project)
points to exists."""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from erbp.engines.c import engine as cengine
from erbp.reference import gen_doc, rng
from erbp.reference.params import FIELDS, field_offsets, word_count

from conftest import ROOT

DOCS = ROOT / "docs"
SEMANTICS = DOCS / "semantics.md"


def test_the_configuration_layout_is_generated_from_params():
    text = SEMANTICS.read_text()
    assert gen_doc.update(text) == text, (
        "docs/semantics.md's configuration layout is stale: run `python -m erbp.reference.gen_doc`")


def test_the_layout_lists_every_word_once():
    block = gen_doc.render()
    words = []
    for f in FIELDS:
        o = field_offsets()[f.name]
        cell = str(o) if f.slots == 1 else f"{o}..{o + f.slots - 1}"
        assert f"| {cell} | `{f.name}" in block, f.name
        words += range(o, o + f.slots)
    assert words == list(range(word_count()))
    assert f"**{word_count()} int32 words**" in block


def test_the_uniform_vectors_of_section_5_hold_in_the_reference_and_c():
    rows = [line for line in SEMANTICS.read_text().splitlines() if line.startswith("| `UNIFORM(")]
    lib = cengine._load()[1]
    pairs = []
    for row in rows:
        calls, values = row.split("|")[1:3]
        args = re.findall(r"UNIFORM\((0x[0-9a-f]+|\d+), (\d+)\)", calls)
        want = [int(v) for v in re.findall(r"`(-?\d+)`", values)]
        assert len(args) == len(want), row
        pairs += [(int(r, 0), int(a), w) for (r, a), w in zip(args, want)]
    assert any(a >= 16384 for _, a, _ in pairs)
    for r, a, want in pairs:
        assert rng.uniform_int(np.array([r], np.uint32), a)[0] == want == lib.erbp_uniform(r, a)


def headings(doc) -> set[str]:
    """Section numbers of a markdown file: '## 7. A sample' -> '7', '### 7.1 One tick' -> '7.1'."""
    return set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", doc.read_text(), re.M))


#: "section 7", "sections 1.2 to 1.5", "sections 1 and 5", "section 7.1, phase 2", optionally
#: after a document's name ("docs/results.md, section 5", "semantics.md 1.6").
REF = re.compile(r"(?:([\w/.-]+\.md),? )?(?:[Ss]ections? )(\d+(?:\.\d+)?"
                 r"(?:(?:, | and | to |, and )\d+(?:\.\d+)?)*)")
BARE = re.compile(r"([\w/.-]*semantics\.md),? (\d+\.\d+)\b")


def references(text: str, default: str) -> list[tuple[str, str]]:
    """(document name, section number) for every reference in text."""
    out = []
    for m in REF.finditer(text):
        doc = m.group(1) or default
        out += [(doc, n) for n in re.findall(r"\d+(?:\.\d+)?", m.group(2))]
    out += [(m.group(1), m.group(2)) for m in BARE.finditer(text)]
    return out


def test_every_section_reference_of_the_document_exists():
    have = headings(SEMANTICS)
    missing = [n for doc, n in references(SEMANTICS.read_text(), "semantics.md")
               if doc.endswith("semantics.md") and n not in have]
    assert not missing, f"docs/semantics.md points to sections it lacks: {missing}"
    phases = re.findall(r"[Pp]hases? (\d)", SEMANTICS.read_text())
    assert phases and set(phases) <= {"1", "2", "3", "4", "5"}


def tracked_files() -> list:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / p for p in out.stdout.split()
            if p.endswith((".md", ".py", ".c", ".h")) and not p.startswith("tests/golden/")]


def test_every_reference_to_a_section_of_a_document_exists():
    """Everywhere in the project, "docs/X.md section N" names a section X.md has."""
    known = {p.name: headings(p) for p in DOCS.glob("*.md")}
    bad = []
    for path in tracked_files():
        if not path.exists():
            continue
        for doc, n in references(path.read_text(errors="replace"), ""):
            name = doc.rsplit("/", 1)[-1]
            if name in known and n not in known[name]:
                bad.append(f"{path.relative_to(ROOT)}: {doc} section {n}")
    assert not bad, bad


@pytest.mark.parametrize("text, want", [
    ("see section 7.1, phase 2", [("x", "7.1")]),
    ("sections 1.2 to 1.5", [("x", "1.2"), ("x", "1.5")]),
    ("(docs/results.md, section 5)", [("docs/results.md", "5")]),
    ("(semantics.md 1.6)", [("semantics.md", "1.6")]),
])
def test_references_are_parsed(text, want):
    assert references(text, "x") == want
