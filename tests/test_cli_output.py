"""Machine-readable output of `erbp`: `--json -` and `--csv -` put only data on stdout (messages go
to stderr), progress bars appear only on a terminal unless asked for, and every long command can
switch them (docs/usage.md, "Output for scripts")."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

TINY = ["--dataset", "digits", "--topology", "64-16-10", "--set", "ticks_train=16",
        "--set", "ticks_infer=16", "--set", "burn_in=2"]


def erbp(*args, ok: bool = True) -> subprocess.CompletedProcess:
    """`python -m erbp ARGS` with pipes (not a terminal) for stdout and stderr."""
    r = subprocess.run([sys.executable, "-m", "erbp", *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "run"
    r = erbp("train", *TINY, "--samples", 20, "--test-every", 10, "--test-samples", 5,
             "--out", out)
    assert "\r" not in r.stderr and "sample/s" not in r.stderr  # no bar off a terminal
    return out


def test_eval_json_on_stdout_is_pure_json(run, tmp_path):
    r = erbp("eval", run, "--test-samples", 30, "--json", "-")
    doc = json.loads(r.stdout)  # nothing else on stdout
    assert doc["test_samples"] == 30 and doc["dataset"] == "digits"
    assert "test error:" in r.stderr and "\r" not in r.stderr
    r2 = erbp("eval", run, "--test-samples", 30, "--json", tmp_path / "e.json")
    assert "test error:" in r2.stdout and json.loads((tmp_path / "e.json").read_text()) == {
        **doc, "time_s": json.loads((tmp_path / "e.json").read_text())["time_s"]}


def test_eval_csv_has_one_row_per_sample(run):
    r = erbp("eval", run, "--test-samples", 25, "--start", 4, "--csv", "-", "--json",
             "/dev/null")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["position", "label", "prediction", "events", "ticks"]
    assert [int(row[0]) for row in rows[1:]] == list(range(4, 29))
    doc = json.loads(erbp("eval", run, "--test-samples", 25, "--start", 4, "--json", "-").stdout)
    ticks = sorted(int(row[4]) for row in rows[1:])
    assert 1 <= ticks[0] and ticks[-1] <= doc["ticks_infer"]
    assert sum(ticks) / 25 == pytest.approx(doc["ticks_per_sample"]["mean"])
    assert sum(int(row[3]) for row in rows[1:]) == doc["events"]
    wrong = sum(row[1] != row[2] for row in rows[1:])
    assert f"({wrong} of 25 wrong" in r.stderr
    assert erbp("eval", run, "--json", "-", "--csv", "-", ok=False).returncode == 2


def test_progress_bars_only_when_asked_off_a_terminal(run):
    quiet = erbp("eval", run, "--test-samples", 30)
    loud = erbp("eval", run, "--test-samples", 30, "--progress")
    assert "sample" not in quiet.stderr
    assert "/30 [" in loud.stderr and "/30 [" not in loud.stdout


@pytest.mark.parametrize("command", [["train"], ["eval"], ["board", "stream"],
                                     ["board", "deploy"]])
def test_every_long_command_has_the_progress_switch(command):
    from click.testing import CliRunner

    from erbp.cli import main

    text = CliRunner().invoke(main, [*command, "--help"]).output
    assert "--progress / --no-progress" in text


def test_info_csv(run):
    r = erbp("info", run, "--csv")
    rows = dict(csv.reader(io.StringIO(r.stdout)))
    assert rows["key"] == "value" and rows["topology"] == "64-16-10"
    assert rows["samples_seen"] == "20" and rows["config.ticks_train"] == "16"
    assert erbp("info", run, "--csv", "--json", ok=False).returncode == 2


def test_usage_lists_every_exit_code():
    """docs/usage.md's table of exit codes is the one erbp uses (erbp.cli._common.EXIT_*)."""
    import re

    from conftest import ROOT
    from erbp.cli import _common

    text = (ROOT / "docs" / "usage.md").read_text()
    table = text[text.index("| code | meaning |"):].split("\n\n")[0]
    codes = {int(c) for c in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert codes == {_common.EXIT_OK, _common.EXIT_ERROR, _common.EXIT_USAGE,
                     _common.EXIT_INTERRUPTED} == {0, 1, 2, 130}
