"""pyproject.toml lists every package of the tree: each folder of host/ with an __init__.py is a
subpackage of erbp, so a non-editable install (a wheel) carries all of them."""
from __future__ import annotations

import tomllib

from conftest import ROOT


def test_pyproject_lists_every_package():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = tool["package-dir"]
    listed = set(tool["packages"])
    found = {"erbp"}
    for init in (ROOT / dirs["erbp"]).rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT / dirs["erbp"])
        if rel.parts and "__pycache__" not in rel.parts:
            found.add(".".join(("erbp", *rel.parts)))
    found |= {name for name in dirs if name != "erbp"}
    assert listed == found
