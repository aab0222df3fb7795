"""``erbp board``: boards over a serial link (docs/firmware.md has the user story).

    erbp board list                                   # known boards, serial ports
    erbp board start mps2-an386                       # an emulated board; prints its URL
    export ERBP_BOARD=$(erbp board start mps2-an386 --detach)   # ... in the background
    erbp board stop                                   # stop the one at $ERBP_BOARD
    erbp board flash netduinoplus2 --probe pyocd      # a real board (pyOCD or OpenOCD)
    erbp board info   --port socket://127.0.0.1:PORT
    erbp board deploy runs/first/model.erbp --port ...
    erbp board stream --port ... --mode infer --split test --count 200 --out results.jsonl
    erbp board pull   --port ... --out trained.erbp

``--port`` takes anything pyserial opens (``/dev/ttyACM0``, ``socket://host:port``, a pty); it
defaults to $ERBP_BOARD.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import time
from pathlib import Path

import click

from ._common import DATASET_HELP, DatasetName, FiniteFloat, progress_option, show_progress
from ..boards.client import Board, default_url
from ..boards.emulators import (BOARDS, EmulatorError, detached_boards, ensure_image, spec,
                                start_board, stop_detached)
from ..fileio import write_bytes_atomic


def _user_errors(fn):
    """Print an OSError (a port or file that cannot be opened) as one line (exit code 1); board,
    emulator and stream errors are ErbpErrors, which the ``erbp`` group prints so."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


port_option = click.option("--port", "-p", default=default_url, show_default="$ERBP_BOARD",
                           help="serial device, socket://HOST:PORT (QEMU) or pty of the board")
timeout_option = click.option("--timeout", default=5.0, show_default=True,
                              type=FiniteFloat(min=0, min_open=True),
                              help="longest wait in seconds for an answer before sending again")


def _size(n: int) -> str:
    """Bytes for people: 4 MiB, 112 KiB, 300 B."""
    for unit, k in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << k and n % (1 << k) == 0:
            return f"{n >> k} {unit}"
    return f"{n} B"


def _board_name(ctx: click.Context, param: click.Parameter, name: str) -> str:
    """The NAME argument: a board of the table (`erbp board list`)."""
    try:
        spec(name)
    except EmulatorError as e:
        raise click.BadParameter(str(e)) from None
    return name


def _open(port: str | None, timeout: float = 5.0, retries: int = 8) -> Board:
    if not port:
        raise click.UsageError("no board: give --port (or set ERBP_BOARD); `erbp board start "
                               "mps2-an386` starts an emulated one and prints its URL")
    return Board(port, timeout=timeout, retries=retries,
                 log=lambda m: click.echo(f"warning: {m}", err=True))


@click.group()
def board() -> None:
    """Run eRBP on a microcontroller board (or an emulated one) over a serial link."""


@board.command("list")
def list_boards() -> None:
    """Known boards and the serial ports of this computer."""
    click.echo("boards (emulated by `erbp board start NAME`, which builds the image if needed; "
               "the table: firmware/boards/boards.toml):")
    for b in BOARDS.values():
        state = "built" if b.image_path().exists() else "not built yet"
        arena = f"arena {_size(b.arena_bytes)}" if b.arena_bytes else "model in flash"
        mem = f"RAM {_size(b.ram_bytes)}, {arena}" if b.ram_bytes else arena
        click.echo(f"  {b.name:14s} {b.cpu:36s} {mem:30s} [{state}]")
        click.echo(f"  {'':14s} {b.description}")
    try:
        from serial.tools import list_ports

        ports = list(list_ports.comports())
    except ImportError:  # pragma: no cover - pyserial always has it
        ports = []
    click.echo("serial ports:" if ports else "serial ports: none found")
    for p in ports:
        click.echo(f"  {p.device:20s} {p.description}")
    running = detached_boards()
    click.echo("running (started with --detach):" if running else
               "running (started with --detach): none")
    for r in running:
        click.echo(f"  {r['board']:14s} {r['url']}  pid {r['pid']}")


@board.command()
@click.argument("name", callback=_board_name)
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="firmware image (default: the board table's, built with make if needed)")
@click.option("--tcp-port", type=int, default=None, help="TCP port of the UART (default: free)")
@click.option("--icount/--no-icount", default=True, show_default=True,
              help="count instructions (-icount shift=0): deterministic cycle counts")
@click.option("--detach", is_flag=True,
              help="leave the board running in the background and print only its URL on stdout "
                   "(export ERBP_BOARD=$(erbp board start NAME --detach)); `erbp board stop` "
                   "stops it")
@_user_errors
def start(name: str, image: Path | None, tcp_port: int | None, icount: bool,
          detach: bool) -> None:
    """Start an emulated board NAME (`erbp board list`); keep it running until Ctrl-C (or, with
    --detach, until `erbp board stop`)."""
    import signal

    def say(m: str) -> None:
        click.echo(m, err=True)

    emu = start_board(name, image, icount=icount, port=tcp_port, detach=detach, log=say)
    if detach:
        click.echo(emu.url)
        say(f"board {name} runs in the background at {emu.url} (pid {emu.proc.pid}); "
            f"stop it with: erbp board stop --port {emu.url}")
        return

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    click.echo(f"board {name} at {emu.url}")
    click.echo(f"  {' '.join(emu.command)}")
    click.echo(f"  e.g.  export ERBP_BOARD={emu.url}; erbp board info   (Ctrl-C stops it)")
    try:
        while emu.running:
            time.sleep(0.5)
        click.echo("the emulator exited", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


@board.command()
@port_option
@click.option("--all", "stop_all", is_flag=True, help="every board started with --detach")
def stop(port: str | None, stop_all: bool) -> None:
    """Stop an emulated board started with --detach (the one at --port / $ERBP_BOARD)."""
    if not stop_all and not port:
        raise click.UsageError("which board? give --port (or set ERBP_BOARD), or --all")
    for r in stop_detached(None if stop_all else port):
        click.echo(f"stopped {r['board']} at {r['url']}")


@board.command()
@click.argument("name", callback=_board_name)
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--probe", type=click.Choice(["pyocd", "openocd"]), default="pyocd",
              show_default=True, help="debug-probe tool for real boards")
@click.option("--dry-run", is_flag=True, help="print the command only")
@_user_errors
def flash(name: str, image: Path | None, probe: str, dry_run: bool) -> None:
    """Write the firmware to a real board through a debug probe.

    Emulated boards need no flashing: `erbp board start NAME` runs QEMU with the image."""
    b = spec(name)
    image = image or b.image_path()
    if b.kind == "host":
        raise click.ClickException("the host board is a program: run " + str(image))
    if not (b.pyocd_target and b.openocd_target):
        raise click.ClickException(f"{name} is not flashed through a debug probe: "
                                   + (b.flash_hint or "see docs/firmware.md"))
    if probe == "pyocd":
        cmd = ["pyocd", "flash", "-t", b.pyocd_target, str(image)]
    else:
        cmd = ["openocd", "-f", "interface/stlink.cfg", "-f", b.openocd_target, "-c",
               f"program {image} verify reset exit"]
    click.echo(" ".join(cmd))
    if dry_run:
        return
    if not image.exists():
        image = ensure_image(name, log=lambda m: click.echo(m, err=True))
    if shutil.which(cmd[0]) is None:
        raise click.ClickException(f"{cmd[0]} not found: install it (pip install pyocd, or the "
                                   f"Debian package openocd) or use the other --probe")
    r = subprocess.run(cmd)
    if r.returncode:
        raise click.ClickException(f"{cmd[0]} failed with exit code {r.returncode}")


@board.command()
@port_option
@timeout_option
@_user_errors
def info(port: str | None, timeout: float) -> None:
    """What the board says about itself (versions, memory, model)."""
    with _open(port, timeout) as b:
        c = b.hello()
        click.echo(f"board      {c.board} ({c.firmware}), boot {c.boot_id}")
        click.echo(f"protocol   {c.protocol}, semantics {c.semantics}, model format "
                   f"{c.model_format}")
        click.echo(f"memory     arena {c.arena_bytes} bytes, RAM {c.ram_bytes} bytes, model files "
                   f"up to {c.max_model_bytes} bytes, frames up to {c.max_frame} bytes, chunks "
                   f"{c.max_chunk}")
        click.echo(f"counter    {c.cycles_hz} Hz" + (f" ({1e9 / c.cycles_hz:g} instructions per "
                                                      f"tick under QEMU -icount shift=0)"
                                                      if c.cycles_hz else ""))
        click.echo(f"model      {'loaded' if c.model_loaded else 'none'}"
                   + (f", {c.samples_seen} training samples seen" if c.model_loaded else ""))


@board.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@port_option
@timeout_option
@click.option("--force", is_flag=True, help="upload even if the board holds this very model")
@progress_option
@_user_errors
def deploy(model: Path, port: str | None, timeout: float, force: bool,
           progress: bool | None) -> None:
    """Upload a model file; the board validates it whole before using it."""
    import struct

    from tqdm import tqdm

    from ..reference import modelfile

    data = modelfile.read_bytes(model)  # bounded; checked here before the board sees it
    try:
        modelfile.loads(data)
    except modelfile.ModelFileError as e:
        raise modelfile.ModelFileError(f"{model}: {e}") from e
    with _open(port, timeout) as b:
        c = b.hello()
        if (not force and c.model_loaded and len(data) >= 8
                and b.model_crc() == struct.unpack_from("<I", data, len(data) - 4)[0]):
            click.echo(f"{c.board} already holds {model} (same CRC-32); --force uploads anyway")
            return
        with tqdm(total=len(data), unit="B", unit_scale=True, desc=f"deploy to {c.board}",
                  disable=not show_progress(progress)) as bar:
            s = b.deploy(data, progress=bar.update)
    click.echo(f"deployed {model} ({s['model_bytes']} bytes, {s['n_in']} inputs, {s['n_out']} "
               f"outputs, {s['samples_seen']} samples seen) using {s['arena_bytes']} of "
               f"{c.arena_bytes} arena bytes on {c.board}")


@board.command()
@port_option
@click.option("--mode", type=click.Choice(["train", "infer"]), required=True)
@click.option("--dataset", type=DatasetName(), default="mnist", show_default=True,
              help=DATASET_HELP)
@click.option("--data-dir", default=None, help="MNIST directory (default $ERBP_DATA)")
@click.option("--split", type=click.Choice(["train", "test"]), default=None,
              help="default: train for --mode train, test for --mode infer")
@click.option("--first", default=0, show_default=True, type=click.IntRange(min=0),
              help="first row of the split")
@click.option("--count", default=None, type=click.IntRange(min=1),
              help="rows to stream (default: all from --first)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="results file (JSON lines); an existing one is resumed if it holds this very "
                   "stream (same mode, data, rows and model), refused otherwise")
@click.option("--checkpoint-every", default=100, show_default=True, type=click.IntRange(min=0),
              help="pull the model every N training samples (recovery after a board reset)")
@timeout_option
@click.option("--retries", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--verify", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the model deployed before the stream: re-run every sample with the PC's C "
                   "engine and check the board's results (and, in training, its weights) are "
                   "identical")
@progress_option
@_user_errors
def stream(port: str | None, mode: str, dataset: str, data_dir: str | None, split: str | None,
           first: int, count: int | None, out: Path, checkpoint_every: int, timeout: float,
           retries: int, verify: Path | None, progress: bool | None) -> None:
    """Stream samples for training or inference; results are appended as they arrive."""
    from ..boards.stream import load_split, run_stream

    split = split or ("train" if mode == "train" else "test")
    x, y = load_split(dataset, split, first, count, data_dir)
    with _open(port, timeout, retries) as b:
        t0 = time.monotonic()
        lines = run_stream(b, x, y, mode, out, first_index=first,
                           progress=show_progress(progress),
                           checkpoint_every=checkpoint_every,
                           log=lambda m: click.echo(f"warning: {m}", err=True),
                           identity={"dataset": dataset, "split": split, "first": first})
        dt = time.monotonic() - t0
        pulled = b.read_model() if verify and mode == "train" else None
    correct = sum(1 for r in lines if r["prediction"] == r["label"])
    click.echo(f"{len(lines)} samples in {out}; accuracy {correct / max(1, len(lines)):.4f}; "
               f"this run {dt:.1f} s, {b.retransmissions} retransmissions")
    if verify:
        _verify(verify, out, lines, x, y, mode, pulled)


def _verify(model: Path, out: Path, lines: list[dict], x, y, mode: str,
            pulled: bytes | None) -> None:
    """Re-run the stream on the PC (C engine) and compare with the board, bit for bit: only the
    stream the results file defines, from the model it began with."""
    import hashlib

    from ..boards.stream import read_stream, replay_on_pc
    from ..reference import modelfile

    data = modelfile.read_bytes(model)
    header, recorded = read_stream(out)
    if header is None or hashlib.sha256(data).hexdigest() != header.get("model_sha256"):
        raise click.ClickException(f"{model} is not the model {out} was streamed from (its "
                                   f"SHA-256 differs from the one the results file records)")
    if len(recorded) != len(lines):
        raise click.ClickException(f"{out} changed while it was verified")
    bad, pc_model = replay_on_pc(data, lines, x, y, mode, first_index=header["first_index"])
    if bad:
        raise click.ClickException(f"{len(bad)} of {len(lines)} samples differ from the PC's C "
                                   f"engine (first positions {bad[:10]})")
    msg = f"verified: all {len(lines)} results equal the PC's C engine"
    if pulled is not None:
        if pulled != pc_model:
            raise click.ClickException("the board's weights differ from the PC's after the same "
                                       "samples")
        msg += "; the board's weights are bit-identical to the PC's"
    click.echo(msg)


@board.command()
@port_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@timeout_option
@_user_errors
def pull(port: str | None, out: Path, timeout: float) -> None:
    """Read the board's network (weights learned on the chip) back into a model file."""
    from ..reference import modelfile

    with _open(port, timeout) as b:
        b.hello()
        data = b.read_model()
    net = modelfile.loads(data)  # validated again on the PC
    write_bytes_atomic(out, data)
    click.echo(f"pulled {len(data)} bytes ({'-'.join(map(str, net.cfg.sizes))}, "
               f"{net.samples_seen} samples seen) into {out}")


__all__ = ["board"]
