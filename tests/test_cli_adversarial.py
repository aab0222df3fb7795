"""Every `erbp` command attacked as a user would (docs/reliability.md section 3): bad numbers, bad
paths, existing outputs, damaged files, Ctrl-C. Each case gives argv -> the exit code and a
fragment of the one line `Error: ...`; no case may print a traceback, and a refused command changes
nothing on disk (every file under the test directory keeps its bytes, nothing is added)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.reference import SEMANTICS_VERSION
from erbp.reference.modelfile import HEADER, MAGIC
from erbp.reference.params import word_count

TINY = ["--dataset", "digits", "--topology", "64-16-10", "--set", "ticks_train=8",
        "--set", "ticks_infer=8", "--set", "burn_in=1", "--no-progress"]
LONG = "n" * 300


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A directory with a finished run, a model, damaged files and other obstacles."""
    d = tmp_path_factory.mktemp("adversarial")
    r = CliRunner().invoke(main, ["train", *TINY, "--samples", "6", "--test-every", "3",
                                  "--test-samples", "3", "--out", str(d / "run")])
    assert r.exit_code == 0, r.output
    model = (d / "run" / "model.erbp").read_bytes()
    (d / "model.erbp").write_bytes(model)
    (d / "truncated.erbp").write_bytes(model[:100])
    (d / "huge.erbp").write_bytes(HEADER.pack(MAGIC, 1, SEMANTICS_VERSION, 0xFFFFFFF0, 0, 0, word_count()) + bytes(64))
    (d / "empty").mkdir()
    (d / "dir.h").mkdir()
    (d / "full").mkdir()
    (d / "full" / "notes.txt").write_text("mine")
    (d / "a_file").write_text("not a directory")
    metrics = (d / "run" / "metrics.jsonl").read_text().splitlines()
    for name, lines in [("corrupt_run", ["{oops", *metrics[1:]]), ("torn_run", metrics)]:
        (d / name).mkdir()
        for f in ("config.json", "model.erbp", "state.json"):
            (d / name / f).write_bytes((d / "run" / f).read_bytes())
        (d / name / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    with open(d / "torn_run" / "metrics.jsonl", "a") as f:
        f.write('{"samples_seen": 9, "te')
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# (argv with {w} for the world directory, exit code, fragment of the Error line)
CASES = [
    # train: numbers
    (["train", *TINY, "--epochs", "nan", "--out", "{w}/new"], 2, "'nan' is not a finite number"),
    (["train", *TINY, "--epochs", "inf", "--out", "{w}/new"], 2, "'inf' is not a finite number"),
    (["train", *TINY, "--epochs", "-1", "--out", "{w}/new"], 2, "-1.0 is not in the range x>0"),
    (["train", *TINY, "--epochs", "1e12", "--out", "{w}/new"], 2, "more than 4294967295"),
    (["train", *TINY, "--samples", "-1", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--samples", "4294967296", "--out", "{w}/new"], 2,
     "0<=x<=4294967295"),
    (["train", *TINY, "--epoch-size", "0", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--epoch-size", "99999999999", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--seed", "-1", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--batch-size", "0", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--window", "0", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--lr-halve-every", "nan", "--out", "{w}/new"], 2, "not a finite number"),
    (["train", *TINY, "--lr-halve-start", "inf", "--out", "{w}/new"], 2, "not a finite number"),
    (["train", *TINY, "--test-samples", "-1", "--out", "{w}/new"], 2, "not in the range"),
    (["train", *TINY, "--set", "ticks_train=99999999999999999999", "--out", "{w}/new"], 1,
     "outside [1, 65535]"),
    (["train", "--dataset", "digits", "--topology", "64-0-10", "--out", "{w}/new"], 1, ""),
    (["train", "--dataset", "digits", "--topology", "64-99999-10", "--out", "{w}/new"], 1,
     "outside"),
    # train: paths and existing outputs
    (["train", *TINY, "--samples", "2", "--out", "{w}/" + LONG], 1,
     "cannot create run directory"),
    (["train", *TINY, "--samples", "2", "--out", "{w}/run"], 1, "already holds a run"),
    (["train", *TINY, "--samples", "2", "--out", "{w}/full"], 1, "not empty"),
    (["train", *TINY, "--samples", "2", "--out", "{w}/a_file"], 1, "is not a directory"),
    (["train", *TINY, "--samples", "2", "--out", "{w}/a_file/run"], 1,
     "cannot create run directory"),
    (["train", "--resume", "{w}/nowhere"], 1, "does not exist"),
    (["train", "--resume", "{w}/empty"], 1, "is not a run directory"),
    (["train", "--resume", "{w}/run"], 1, "is complete: 6 samples seen"),
    (["train", "--resume", "{w}/run", "--samples", "4294967296"], 2, "0<=x<=4294967295"),
    (["train", "--resume", "{w}/corrupt_run", "--samples", "9"], 1, "line 1 is corrupt"),
    (["train", "--dataset", "mnist", "--data-dir", "{w}/nowhere", "--out", "{w}/new"], 1,
     "does not exist"),
    # eval
    (["eval", "{w}/none.erbp"], 1, "cannot read model file"),
    (["eval", "/dev/zero"], 1, "not an erbp model file"),
    (["eval", "{w}/empty"], 1, "cannot read model file"),
    (["eval", "{w}/truncated.erbp"], 1, "truncated"),
    (["eval", "{w}/run", "--test-samples", "0"], 2, "not in the range"),
    (["eval", "{w}/run", "--start", "-1"], 2, "not in the range"),
    (["eval", "{w}/run", "--start", "100000"], 2, "the test set has 359 samples"),
    (["eval", "{w}/run", "--batch-size", "0"], 2, "not in the range"),
    (["eval", "{w}/run", "--json", "{w}/empty"], 2, "is a directory"),
    # info
    (["info", "/dev/zero"], 1, "not an erbp model file"),
    (["info", "{w}/huge.erbp"], 1, "more than the largest valid model file"),
    (["info", "{w}/truncated.erbp"], 1, "truncated"),
    (["info", "{w}/empty"], 1, "cannot read model file"),
    (["info", "{w}/a_file"], 1, "truncated: 15 bytes"),
    # export
    (["export", "{w}/model.erbp", "--format", "c", "--out", "{w}/m.h", "--name", "1abc"], 1,
     "not a valid C identifier"),
    (["export", "{w}/model.erbp", "--format", "c", "--out", "{w}/dir.h"], 1, "Is a directory"),
    (["export", "{w}/model.erbp", "--format", "c", "--out", "{w}/full"], 1,
     "holds other files (notes.txt)"),
    (["export", "{w}/model.erbp", "--format", "c", "--out", "{w}/a_file"], 1, "is a file"),
    (["export", "{w}/model.erbp", "--format", "c", "--out", "{w}/m.h", "--samples", "-1"], 2,
     "not in the range"),
    (["export", "/dev/zero", "--format", "model", "--out", "{w}/m2.erbp"], 1,
     "not an erbp model file"),
    (["export", "{w}/huge.erbp", "--format", "c", "--out", "{w}/m.h"], 1,
     "more than the largest valid model file"),
    # plot
    (["plot", "curve", "{w}/nowhere"], 2, "does not exist"),
    (["plot", "curve", "{w}/empty"], 1, "not a run directory"),
    (["plot", "curve", "{w}/corrupt_run", "--out", "{w}/plots"], 1, "line 1 is corrupt"),
    (["plot", "all", "{w}/run", "--digits", "0"], 2, "not in the range"),
    # baseline
    (["baseline", "--dataset", "digits", "--lr", "nan", "--out", "{w}/b"], 2,
     "not a finite number"),
    (["baseline", "--dataset", "digits", "--lr", "-1", "--out", "{w}/b"], 2, "not in the range"),
    (["baseline", "--dataset", "digits", "--epochs", "1", "--out", "{w}/b"], 1,
     "topology 784-100-10 has 784 inputs"),
    # board (no board needed: refused before the link is opened)
    (["board", "info", "--port", "/dev/nonexistent-erbp"], 1, "cannot open"),
    (["board", "info", "--port", "/dev/null", "--timeout", "nan"], 2, "not a finite number"),
    (["board", "stream", "--mode", "infer", "--count", "-5", "--out", "{w}/s.jsonl"], 2,
     "not in the range"),
    (["board", "stream", "--mode", "infer", "--first", "-3", "--out", "{w}/s.jsonl"], 2,
     "not in the range"),
    (["board", "stream", "--mode", "infer", "--dataset", "digits", "--first", "359",
      "--out", "{w}/s.jsonl"], 1, "outside the test split of digits"),
    (["board", "deploy", "/dev/zero", "--port", "/dev/null"], 1, "not an erbp model file"),
    (["board", "deploy", "{w}/truncated.erbp", "--port", "/dev/null"], 1, "truncated"),
    (["board", "start", "no-such-board"], 2, "no-such-board"),
]


@pytest.mark.parametrize("argv, code, fragment", CASES,
                         ids=[" ".join(c[0][:3] + c[0][-2:])[:60] for c in CASES])
def test_refused_with_one_line_and_nothing_changed(world, argv, code, fragment):
    before = snapshot(world)
    r = CliRunner().invoke(main, [a.replace("{w}", str(world)) for a in argv])
    assert r.exit_code == code, r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)  # no uncaught exception
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, r.output
    assert fragment in errors[0], errors[0]
    assert snapshot(world) == before, "a refused command changed files"


def test_a_torn_last_metrics_line_is_tolerated_with_a_warning(world, tmp_path):
    """What a crash leaves: plot and resume go on (warning), and resuming rewrites the file."""
    r = CliRunner().invoke(main, ["plot", "curve", str(world / "torn_run"), "--out",
                                  str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p" / "learning_curve.png").is_file()
    run = tmp_path / "torn"
    run.mkdir()
    for f in (world / "torn_run").iterdir():
        (run / f.name).write_bytes(f.read_bytes())
    r = CliRunner().invoke(main, ["train", "--resume", str(run), "--samples", "9",
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["samples_seen"] for m in records] == [3, 6, 9]


def test_ctrl_c_exits_130_and_leaves_a_resumable_run(tmp_path, monkeypatch):
    """A first Ctrl-C stops training at the next sample, checkpoints, and exits 130 (it used to
    exit 0); the run then resumes to the model of an uninterrupted run."""
    import contextlib

    from erbp.cli import train as train_cmd
    from erbp.reference import modelfile

    @contextlib.contextmanager
    def pressed_at_once():
        yield lambda: True

    monkeypatch.setattr(train_cmd, "stop_on_sigint", pressed_at_once)
    args = [*TINY, "--samples", "6", "--batch-size", "2", "--test-samples", "2"]
    r = CliRunner().invoke(main, ["train", *args, "--out", str(tmp_path / "cut")])
    assert r.exit_code == 130, r.output
    assert "interrupted: checkpoint saved" in r.output
    assert modelfile.load(tmp_path / "cut" / "model.erbp").samples_seen < 6
    monkeypatch.undo()
    assert CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "cut"),
                                     "--no-progress"]).exit_code == 0
    assert CliRunner().invoke(main, ["train", *args, "--out",
                                     str(tmp_path / "whole")]).exit_code == 0
    a, b = (modelfile.load(tmp_path / d / "model.erbp") for d in ("cut", "whole"))
    assert modelfile.dumps(a) == modelfile.dumps(b)


def test_ctrl_c_anywhere_else_exits_130_with_one_line(tmp_path, monkeypatch):
    from erbp.cli import train as train_cmd

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd, "start_run", interrupted)
    r = CliRunner().invoke(main, ["train", *TINY, "--samples", "2", "--out",
                                  str(tmp_path / "r")])
    assert r.exit_code == 130, r.output
    assert [line for line in r.output.splitlines() if line.startswith("Error")] == \
        ["Error: interrupted (Ctrl-C)"]
    assert not (tmp_path / "r").exists()
