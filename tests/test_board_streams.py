"""`erbp board stream` results files: a file holds one stream (its header records what defines
it) and is never continued under other arguments; rows outside the split are refused; --verify
checks only the stream the file records, from the model it began with. Against the host build of
the firmware (a Linux process on a pty)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from firmware_support import make


@pytest.fixture(scope="module")
def board_url():
    from erbp.boards.emulators import start_board

    make("host")
    emu = start_board("host")
    yield emu.url
    emu.stop()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    d = tmp_path_factory.mktemp("models")
    cfg = NetConfig.default("64-16-10", "erbp", ticks_train=20, ticks_infer=20, burn_in=2)
    for seed in (1, 2):
        CNetwork.create(cfg, seed=seed).save(d / f"m{seed}.erbp")
    return d


def erbp(*args):
    from erbp.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(r, code: int = 1) -> str:
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, r.output
    return errors[0]


def stream(url, out, *args):
    return erbp("board", "stream", "--port", url, "--dataset", "digits", "--out", out, *args)


def test_a_results_file_is_not_continued_with_other_rows(board_url, models, tmp_path):
    """The case of the report: infer rows 0..29, then the same file with --first 100 --count 40
    (it used to hold rows 0-29 and 130-139 with indices 0-39, and --verify passed)."""
    assert erbp("board", "deploy", models / "m1.erbp", "--port", board_url,
                "--force").exit_code == 0
    out = tmp_path / "i.jsonl"
    r = stream(board_url, out, "--mode", "infer", "--split", "test", "--first", 0, "--count", 30)
    assert r.exit_code == 0, r.output
    before = out.read_bytes()
    header = json.loads(before.splitlines()[0])["stream"]
    assert {header[k] for k in ("mode", "count", "first", "split", "dataset")} \
        == {"infer", 30, 0, "test", "digits"}
    assert len(header["data_sha256"]) == len(header["model_sha256"]) == 64
    for args, what in [(("--first", 100, "--count", 40), "first 0 -> 100"),
                       (("--first", 0, "--count", 40), "count 30 -> 40"),
                       (("--first", 0, "--count", 30, "--split", "train"), "split 'test' -> "),
                       (("--first", 0, "--count", 30, "--mode", "train"), "mode 'infer' -> ")]:
        if "--mode" not in args:
            args = ("--mode", "infer", *args)
        line = one_line_error(stream(board_url, out, *args))
        assert "holds another stream" in line and what in line, line
        assert out.read_bytes() == before  # nothing written
    r = stream(board_url, out, "--mode", "infer", "--split", "test", "--count", 30,
               "--verify", models / "m1.erbp")
    assert r.exit_code == 0 and "verified: all 30 results" in r.output, r.output


def test_verify_refuses_another_model_than_the_stream_began_with(board_url, models, tmp_path):
    assert erbp("board", "deploy", models / "m1.erbp", "--port", board_url,
                "--force").exit_code == 0
    out = tmp_path / "t.jsonl"
    r = stream(board_url, out, "--mode", "train", "--count", 12, "--verify", models / "m2.erbp")
    line = one_line_error(r)
    assert "is not the model" in line and "m2.erbp" in line


def test_a_file_without_a_stream_header_is_refused(board_url, models, tmp_path):
    out = tmp_path / "old.jsonl"
    out.write_text(json.dumps({"pos": 0, "index": 0, "prediction": 1}) + "\n")
    line = one_line_error(stream(board_url, out, "--mode", "infer", "--count", 5))
    assert "no stream header" in line


@pytest.mark.parametrize("args, code, fragment", [
    (("--count", -5), 2, "-5 is not in the range x>=1"),
    (("--count", 0), 2, "0 is not in the range x>=1"),
    (("--first", -3), 2, "-3 is not in the range x>=0"),
    (("--first", 359), 1, "--first 359 is outside the test split of digits (rows 0..358)"),
    (("--first", 350, "--count", 10), 1, "at most --count 9"),
    (("--timeout", "nan"), 2, "not a finite number"),
    (("--timeout", 0), 2, "0 is not in the range x>0"),
    (("--retries", 0), 2, "0 is not in the range x>=1"),
    (("--checkpoint-every", -1), 2, "-1 is not in the range x>=0"),
])
def test_rows_and_options_outside_their_range_are_refused(board_url, tmp_path, args, code,
                                                          fragment):
    out = tmp_path / "r.jsonl"
    line = one_line_error(stream(board_url, out, "--mode", "infer", *args), code)
    assert fragment in line, line
    assert not out.exists()
