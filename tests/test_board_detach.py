"""`erbp board start --detach` / `erbp board stop` (scripts start an emulated board without
blocking) and firmware images built on demand, with the Debian packages named when a tool is
missing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from erbp.boards import table
from firmware_support import require_tools

BOARD = table.board("mps2-an386")


def erbp(*args, env=None, ok=True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "erbp", *map(str, args)], capture_output=True,
                       text=True, timeout=300, env=env)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def test_detached_board_outlives_the_command_and_stops(tmp_path):
    require_tools("make", *BOARD.tools)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = erbp("board", "start", "mps2-an386", "--detach", env=env)
    url = r.stdout.strip()
    assert url.startswith("socket://127.0.0.1:") and "\n" not in url  # only the URL on stdout
    assert "erbp board stop" in r.stderr
    try:
        info = erbp("board", "info", "--port", url, env=env).stdout
        assert "mps2-an386" in info and "model      none" in info
        assert url in erbp("board", "list", env=env).stdout
    finally:
        stopped = erbp("board", "stop", env={**env, "ERBP_BOARD": url})
    assert f"stopped mps2-an386 at {url}" in stopped.stdout
    assert url not in erbp("board", "list", env=env).stdout
    again = erbp("board", "stop", "--port", url, env=env, ok=False)
    assert again.returncode == 1 and again.stderr.startswith("Error: no emulator started")
    assert not list((tmp_path / "cache" / "erbp" / "boards").glob("*.json"))


def test_missing_cross_compiler_names_the_debian_package(tmp_path, monkeypatch):
    """No image yet and no cross compiler: one line naming the packages to install."""
    from erbp.boards import emulators

    monkeypatch.setattr(emulators, "image_path", lambda board: tmp_path / "build" / "x.elf")
    bindir = tmp_path / "bin"  # qemu and make, but no cross compiler
    bindir.mkdir()
    for tool in (BOARD.arch.qemu, "make"):
        (bindir / tool).symlink_to("/bin/true")
    monkeypatch.setenv("PATH", str(bindir))
    try:
        emulators.start_board("mps2-an386")
    except emulators.EmulatorError as e:
        msg = str(e)
    else:
        raise AssertionError("started without a firmware image")
    assert f"{BOARD.arch.cc} not found" in msg
    assert f"sudo apt-get install {BOARD.arch.debian}" in msg and BOARD.arch.debian
    assert not (tmp_path / "build").exists()


def test_images_build_on_demand(tmp_path, monkeypatch):
    """A board without its image: start_board runs make first (and says so)."""
    require_tools("make", *BOARD.tools)
    from erbp.boards import emulators
    from erbp.boards.client import Board

    built = []
    real_build = emulators.build
    img = BOARD.image_path()
    moved = img.with_suffix(".elf.kept")
    if img.exists():
        img.rename(moved)  # as if never built
    monkeypatch.setattr(emulators, "build", lambda boards, **kw: (built.append(boards),
                                                                  real_build(boards, **kw)))
    heard = []
    try:
        with emulators.start_board(BOARD.name, log=heard.append) as emu, Board(emu.url) as b:
            assert b.hello().board == BOARD.name
    finally:
        moved.unlink(missing_ok=True)
    assert built == [[BOARD.name]] and img.is_file()
    assert heard and f"building the firmware of {BOARD.name}" in heard[0]
