"""Boards: the serial client of docs/protocol.md, resumable streaming, emulated boards.

:mod:`~erbp.boards.client` (:class:`Board`, frames, typed errors), :mod:`~erbp.boards.stream`
(a data set through a board, resumably), :mod:`~erbp.boards.emulators` (QEMU and the host build).
"""
from .client import (Board, BoardError, BoardNotFound, BoardRefused, BoardResult, Caps, LinkError,
                     ProtocolMismatch, default_url)
from .emulators import BOARDS, Emulator, EmulatorError, start_board

__all__ = ["Board", "BoardError", "BoardNotFound", "BoardRefused", "BoardResult", "Caps",
           "LinkError", "ProtocolMismatch", "default_url", "BOARDS", "Emulator", "EmulatorError",
           "start_board"]
