"""A fault-injecting link for tests and benchmarks: a TCP proxy between the host and a board that
corrupts, drops and duplicates bytes in both directions (seeded, reproducible).

    link = FaultyLink(("127.0.0.1", 4321), corrupt=1e-3)   # an emulated board's TCP UART
    link = FaultyLink("/dev/pts/7", corrupt=1e-3)          # the host build's pseudo-terminal
    with Board(link.url) as b: ...
    link.close()

Each byte is corrupted (one bit flipped), dropped or duplicated with the given probabilities;
one random generator per direction, so the fault pattern does not depend on thread timing.
``enabled = False`` passes bytes through untouched. The proxy serves one client at a time; a
client that disconnects can be followed by another (the board side stays open).
"""
from __future__ import annotations

import contextlib
import os
import random
import socket
import termios
import threading
import tty
from pathlib import Path
from typing import Any, Callable, Iterator


class FaultyLink:
    """The proxy (see the module docstring). ``upstream``: (host, port) of a TCP board, or the
    path of a board's pseudo-terminal. ``url``: what the host opens (``socket://...``).
    ``stats``: bytes seen and faults made."""

    def __init__(self, upstream: tuple[str, int] | str, *, corrupt: float = 0.0,
                 drop: float = 0.0, dup: float = 0.0, seed: int = 1):
        self.upstream, self.p = upstream, (corrupt, drop, dup)
        self.rngs = {"up": random.Random(seed), "down": random.Random(seed + 1)}
        self.lock = threading.Lock()
        self.stats = {"corrupted": 0, "dropped": 0, "duplicated": 0, "bytes": 0}
        self.enabled = True
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._fd: int | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _mangle(self, data: bytes, direction: str) -> bytes:
        if not self.enabled:
            return data
        corrupt, drop, dup = self.p
        rng = self.rngs[direction]
        out = bytearray()
        with self.lock:
            for b in data:
                self.stats["bytes"] += 1
                r = rng.random()
                if r < corrupt:
                    out.append(b ^ (1 << rng.randrange(8)))
                    self.stats["corrupted"] += 1
                elif r < corrupt + drop:
                    self.stats["dropped"] += 1
                elif r < corrupt + drop + dup:
                    out += bytes((b, b))
                    self.stats["duplicated"] += 1
                else:
                    out.append(b)
        return bytes(out)

    def _pump(self, read: Callable[[], bytes], write: Callable[[bytes], None],
              direction: str, done: threading.Event) -> None:
        try:
            while not self._stop.is_set() and not done.is_set():
                data = read()
                if not data:
                    break
                write(self._mangle(data, direction))
        except OSError:
            pass
        finally:
            done.set()

    def _board_side(self) -> tuple[Callable[[], bytes], Callable[[bytes], None]]:
        if isinstance(self.upstream, str):
            if self._fd is None:
                self._fd = os.open(self.upstream, os.O_RDWR | os.O_NOCTTY)
                tty.setraw(self._fd, termios.TCSANOW)
            fd = self._fd

            def write_fd(data: bytes) -> None:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]

            return (lambda: os.read(fd, 4096)), write_fd
        up = socket.create_connection(self.upstream)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks.append(up)
        return (lambda: up.recv(4096)), up.sendall

    def _serve(self) -> None:
        import select

        read_board = write_board = None
        while not self._stop.is_set():
            try:
                client, _ = self.srv.accept()
            except OSError:
                return
            self._socks.append(client)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if read_board is None or not isinstance(self.upstream, str):
                read_board, write_board = self._board_side()
            done = threading.Event()
            fd = self._fd

            def from_board() -> bytes:
                # a pty is shared by successive clients: wake up now and then to see if this
                # client has gone
                while not done.is_set():
                    if fd is None or select.select([fd], [], [], 0.2)[0]:
                        return read_board()
                return b""

            a = threading.Thread(target=self._pump, daemon=True,
                                 args=(lambda: client.recv(4096), write_board, "up", done))
            b = threading.Thread(target=self._pump, daemon=True,
                                 args=(from_board, client.sendall, "down", done))
            a.start()
            b.start()
            a.join()
            b.join()
            client.close()
            if not isinstance(self.upstream, str):
                return  # a TCP board (QEMU) takes one connection

    def close(self) -> None:
        """Stop the proxy and close every connection it holds."""
        self._stop.set()
        for s in [self.srv, *self._socks]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._thread.join(timeout=5)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def faulty_host_board(image: str | os.PathLike | None = None, **faults: float
                      ) -> Iterator[tuple[Any, FaultyLink]]:
    """The host build of the firmware (:func:`erbp.boards.emulators.start_board`) behind a
    :class:`FaultyLink` with ``faults`` (corrupt, drop, dup, seed): yields (emulator, link);
    both are stopped afterwards."""
    from .emulators import start_board

    emu = start_board("host", Path(image) if image else None)
    try:
        link = FaultyLink(emu.url, **faults)  # type: ignore[arg-type]
        try:
            yield emu, link
        finally:
            link.close()
    finally:
        emu.stop()
