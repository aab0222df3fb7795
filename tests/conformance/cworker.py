"""A build variant of the C engine in a process of its own: the binding named by
ERBP_CPORT_VARIANT (DIR:MODULE, as erbp.engines.c loads it) behind a pickle protocol on
stdin/stdout. Requests are tuples: ("load", model) | ("create", words, seed) | ("run", mode, label,
index, pixels) | ("quit",), each a 4-byte little-endian length and a pickle (``send``,
``receive``); each answer is ("ok", value) or ("error", text). The first answer, unasked, is
("ok", {"x86_clones": 0 or 1}). Started by conformance.adapters.CWorker."""
from __future__ import annotations

import pickle
import struct
import sys
import traceback
from pathlib import Path


def send(out, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<I", len(data)) + data)
    out.flush()


def receive(inp):
    """The next message, or None at the end of the stream."""
    head = inp.read(4)
    if len(head) < 4:
        return None
    return pickle.loads(inp.read(struct.unpack("<I", head)[0]))


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for conformance.local
    from erbp.engines.c.engine import CNetwork, _load

    from conformance.local import TickEngine

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    eng = TickEngine(CNetwork)
    send(out, ("ok", {"x86_clones": int(_load()[1].erbp_binding_x86_clones)}))
    while True:
        op, *args = receive(inp) or ("quit",)
        if op == "quit":
            return 0
        try:
            send(out, ("ok", getattr(eng, op)(*args)))
        except Exception:
            send(out, ("error", traceback.format_exc()))


if __name__ == "__main__":
    sys.exit(main())
