"""erbp export: the C header runs in a compiled C program (the C hello world) with the same
predictions as the Python engines; MicroPython and model-file exports; bad inputs."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.export import ExportError, c_header, export
from erbp.reference import INFER, NetConfig, Network, modelfile

from conftest import ROOT

CPORT = ROOT / "cport"


def cc() -> str:
    c = shutil.which("gcc") or shutil.which("cc")
    if c is None:
        pytest.fail("no C compiler: run `make setup` (installs build-essential)")
    return c


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist):
    from erbp.engines.c import CNetwork

    net = CNetwork.create(NetConfig.default("784-100-10", ticks_train=60, ticks_infer=60), 3)
    net.run_samples(mnist.train_x[:150], mnist.train_y[:150].astype(np.int64), "train")
    path = tmp_path_factory.mktemp("model") / "model.erbp"
    net.save(path)
    return path


def test_c_hello_world_matches_the_reference(trained, mnist, tmp_path):
    """The exported C project (model.h, hello.c, cport, Makefile) builds with make, outside the
    source tree, and its hello world predicts what the reference predicts."""
    k = 12
    proj = tmp_path / "hello"
    files = export(trained, "c", proj, samples=(mnist.test_x[:k], mnist.test_y[:k]))
    assert {"model.h", "hello.c", "Makefile", "erbp.h", "erbp_sample.c"} <= {f.name for f in files}
    assert all(f.is_relative_to(proj) for f in files)
    cc()
    subprocess.run(["make", "-s", "-C", str(proj), "CFLAGS=-std=c99 -O2 -Wall -Wextra -Werror"],
                   check=True)
    out = subprocess.run([str(proj / "hello")], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    net = modelfile.load(trained)
    ref = [net.run_sample(mnist.test_x[i], -1, INFER, sample=i).prediction for i in range(k)]
    got = [int(line.split()[2]) for line in out[:k]]
    assert got == ref
    cost = [net.run_sample(mnist.test_x[i], -1, INFER, sample=i) for i in range(k)]
    assert [[int(x) for x in line.split()[3:]] for line in out[:k]] == \
        [[r.ticks, r.events] for r in cost]
    assert [int(line.split()[1]) for line in out[:k]] == mnist.test_y[:k].tolist()
    assert out[k] == f"right {sum(int(a == b) for a, b in zip(ref, mnist.test_y[:k]))} of {k}"
    for i in range(k):  # on-device learning, one pass, then inference again
        net.run_sample(mnist.test_x[i], int(mnist.test_y[i]), "train")
    after = sum(net.run_sample(mnist.test_x[i], -1, INFER, sample=i).prediction ==
                mnist.test_y[i] for i in range(k))
    assert out[k + 1] == (f"after learning on them once: right {after} of {k} (samples_seen "
                          f"{net.samples_seen})")
    # exported again onto the built project: replaced; a directory of other files is refused
    assert export(trained, "c", proj, samples=(mnist.test_x[:k], mnist.test_y[:k])) == files
    (proj / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="holds other files"):
        export(trained, "c", proj, samples=(mnist.test_x[:k], mnist.test_y[:k]))


def test_c_library_query(tmp_path):
    """python -m erbp.cport names the headers and sources a program compiles with."""
    import sys

    inc = subprocess.run([sys.executable, "-m", "erbp.cport", "--include"], capture_output=True,
                         text=True, check=True).stdout.strip()
    src = subprocess.run([sys.executable, "-m", "erbp.cport", "--sources"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert (Path(inc) / "erbp.h").is_file() and len(src) >= 5
    prog = tmp_path / "p.c"
    prog.write_text('#include "erbp.h"\nint main(void) { return (int)ERBP_OK; }\n')
    subprocess.run([cc(), "-std=c99", f"-I{inc}", str(prog), *src, "-o", str(tmp_path / "p")],
                   check=True)
    assert subprocess.run([str(tmp_path / "p")]).returncode == 0


def test_c_hello_rom_infers_from_the_const_data(trained, mnist, tmp_path):
    """hello_rom.c: the same header read in place (erbp_net_init_rom), state only in RAM: the
    predictions, ticks run and events of the network loaded into RAM, and training refused."""
    k = 12
    net = modelfile.load(trained)  # a margin at which this briefly trained model exits early
    net.cfg = net.cfg.replace(exit_margin=2048)
    model = tmp_path / "exit.erbp"
    model.write_bytes(modelfile.dumps(net))
    export(model, "c", tmp_path / "model.h", samples=(mnist.test_x[:k], mnist.test_y[:k]))
    exe = tmp_path / "hello_rom"
    subprocess.run([cc(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Wconversion", "-pedantic",
                    "-Werror", f"-I{CPORT}/include", f"-I{tmp_path}",
                    str(CPORT / "examples" / "hello_rom.c"),
                    *map(str, sorted((CPORT / "src").glob("*.c"))), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    from erbp.engines.c import CNetwork

    res = CNetwork.load(model).run_samples(mnist.test_x[:k], None, INFER)
    assert [tuple(map(int, line.split())) for line in out[:k]] == \
        [(i, int(mnist.test_y[i]), int(res.predictions[i]), int(res.ticks[i]), int(res.events[i]))
         for i in range(k)]
    assert res.ticks.min() < net.cfg.ticks_infer == res.ticks.max()  # exits on some digits
    assert out[k + 1].startswith("training: ERBP_E_ARG")


def test_c_header_contents_and_bad_names(trained):
    text = c_header(trained, "digits_net")
    assert "#define DIGITS_NET_FILE_BYTES" in text and "} digits_net_rom = {{" in text
    assert "#define DIGITS_NET_STATE_BYTES" in text
    cfg = modelfile.load(trained).cfg
    for field in ("ticks_infer", "readout", "exit_margin"):
        assert f"#define DIGITS_NET_{field.upper()} {getattr(cfg, field)}u\n" in text
    assert "DIGITS_NET_N_SAMPLES" not in text
    with pytest.raises(ValueError, match="C identifier"):
        c_header(trained, "2bad-name")
    with pytest.raises(ValueError, match="library"):
        c_header(trained, "erbp_model")


def test_model_and_micropython_exports(trained, tmp_path):
    (p,) = export(trained, "model", tmp_path / "copy.erbp")
    assert p.read_bytes() == trained.read_bytes()
    files = export(trained, "micropython", tmp_path / "mp")
    names = {f.name for f in files}
    assert {"model.erbp", "main.py"} <= names and any(n.startswith("erbp_mp") for n in names)


def test_corrupt_model_is_refused_by_every_format(trained, tmp_path):
    bad = tmp_path / "bad.erbp"
    data = bytearray(trained.read_bytes())
    data[100] ^= 1
    bad.write_bytes(bytes(data))
    for fmt, out in (("c", tmp_path / "x.h"), ("model", tmp_path / "x.erbp"),
                     ("micropython", tmp_path / "xmp")):
        with pytest.raises(modelfile.ModelFileError, match="CRC"):
            export(bad, fmt, out)
        assert not out.exists()


def test_cli_export(trained, tmp_path):
    r = CliRunner().invoke(main, ["export", str(trained), "--format", "c", "--out",
                                  str(tmp_path / "m.h"), "--name", "net"])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "m.h").read_text()
    assert text.count("} net_rom = {{") == 1 and "#define net_file (net_rom.bytes)" in text
    r = CliRunner().invoke(main, ["export", str(tmp_path / "missing.erbp"), "--format", "c",
                                  "--out", str(tmp_path / "n.h")])
    assert r.exit_code != 0 and "Error" in r.output


def test_cli_c_project_errors_are_one_line(trained, tmp_path):
    r = CliRunner().invoke(main, ["export", str(trained), "--format", "c", "--out",
                                  str(tmp_path / "proj"), "--name", "net"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "Error: --name net: a C project's hello.c includes model.h" in r.output
    assert not (tmp_path / "proj").exists()
