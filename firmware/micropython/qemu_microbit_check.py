"""Check the plain kernels on a real 32-bit MicroPython: the BBC micro:bit firmware under QEMU.

The unix port of CI has 64-bit words; this runs the parts of erbp_mp_plain whose exactness depends
on the word size (MIX32, DRAW and UNIFORM with 31-bit small ints and heap long ints, the signed
int32/int16 buffers of phase 4, the readout sums near their int32 bound, the prediction and the
early exit's lead past 2^31) on MicroPython 1.9.2 for the nRF51 (Cortex-M0, 16 KB RAM: the
whole module does not fit, the kernels do), and compares with the reference. It also shows that
this port has no native emitter (`@micropython.viper` is a SyntaxError), the case where erbp_mp
falls back to the plain kernels.

Needs qemu-system-arm and the Debian package firmware-microbit-micropython (both in `make setup`;
tests/test_micropython_32bit.py runs this in CI):

    apt-get install qemu-system-arm firmware-microbit-micropython
    python firmware/micropython/qemu_microbit_check.py     # exit status 0: all equal
"""
from __future__ import annotations

import argparse
import ast
import os
import select
import subprocess
import sys
import time
from pathlib import Path

HEX = "/usr/share/firmware-microbit-micropython/firmware.hex"
HERE = Path(__file__).resolve().parent


def run_raw_repl(hex_path: str, code: str, timeout: float = 60) -> tuple[str, str]:
    """Run code on the emulated micro:bit through the raw REPL; returns (stdout, stderr)."""
    p = subprocess.Popen(["qemu-system-arm", "-M", "microbit", "-device",
                          f"loader,file={hex_path}", "-nographic", "-serial", "stdio",
                          "-monitor", "none"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf = b""

    def read_until(tok: bytes, t: float) -> bytes:
        nonlocal buf
        end = time.time() + t
        while tok not in buf:
            if time.time() > end or p.poll() is not None:
                raise TimeoutError(f"waiting for {tok!r}; got {buf[-300:]!r}")
            if select.select([p.stdout], [], [], 0.1)[0]:
                buf += os.read(p.stdout.fileno(), 4096)
        i = buf.index(tok) + len(tok)
        out, buf = buf[:i], buf[i:]
        return out

    try:
        read_until(b">>> ", 30)
        p.stdin.write(b"\r\x01")
        p.stdin.flush()
        read_until(b"raw REPL; CTRL-B to exit\r\n>", 10)
        data = code.encode()
        for i in range(0, len(data), 16):  # the firmware drops bytes when fed faster
            p.stdin.write(data[i:i + 16])
            p.stdin.flush()
            time.sleep(0.01)
        p.stdin.write(b"\x04")
        p.stdin.flush()
        read_until(b"OK", 10)
        out = read_until(b"\x04", timeout)[:-1]
        err = read_until(b"\x04", 10)[:-1]
        return out.decode(errors="replace"), err.decode(errors="replace")
    finally:
        p.kill()
        p.wait()


def kernel_source(names: tuple[str, ...]) -> str:
    """The constants and the named functions of erbp_mp_plain, without docstrings."""
    tree = ast.parse((HERE / "erbp_mp_plain.py").read_text())
    keep = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            if ast.get_docstring(node):
                node.body = node.body[1:]
            keep.append(node)
        elif isinstance(node, ast.Assign):
            keep.append(node)
    return ast.unparse(ast.Module(body=keep, type_ignores=[]))


PROBE = """
import array
xs = {xs!r}
print([mix32(x) for x in xs])
k = array.array('I', [0xd454544c, 0xF2E4B235])
print([draw(k, 0, i) for i in range(4)] + [draw(k, 1, 1000)])
I = array.array('h', [-300, 300, -1]); V = array.array('h', [-5, 7, 0])
acc = array.array('i', [-70000, 3, 0]); out = array.array('H', [0, 0, 0])
cnt = array.array('i', [0, 0, 0])
ns = neurons(I, V, bytearray(3), bytearray(3), cnt, out, acc, 3, 1, 2, 2, 1, 100, 1,
             -32768, 32767, 65536, 3, k, 0)
print(list(I) + list(V) + [ns, out[0], cnt[1]])
w = array.array('h', bytes(24))
init_uniform(w, 1, 12, k, 0, 32767)
print(list(w))
"""

#: The readout kernels, in a session of their own (16 KB of RAM do not hold every kernel at once).
READOUT_PROBE = """
import array
b = 32768 * 65535
R = array.array('i', [-b + 32768, 7, b - 32767, -b])
readout(R, array.array('h', [-32768, -8, 32767, 0]), 4)
print(list(R) + [argmax(R, 4), exit_check(array.array('i', [-b, b]), 2, 2147483647),
                 exit_check(R, 3, 2147483647),
                 exit_check(R, 2, 1), exit_check(array.array('i', [9, 9, 3]), 3, 1)])
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hex", default=HEX)
    a = ap.parse_args()
    if not Path(a.hex).exists():
        print(f"{a.hex} not found: apt-get install firmware-microbit-micropython")
        return 2
    sys.path.insert(0, str(HERE.parents[1]))
    from erbp.reference import rng

    xs = [0, 1, 2, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678]
    b = 32768 * 65535
    out, err = run_raw_repl(a.hex, kernel_source(("mix32", "draw", "neurons", "init_uniform")) +
                            PROBE.format(xs=xs))
    ok = True
    if not err:
        out2, err = run_raw_repl(a.hex, kernel_source(("readout", "argmax", "exit_check")) +
                                 READOUT_PROBE)
        out += "\n" + out2
    if err:
        print("error on the board:", err)
        return 1
    lines = [ast.literal_eval(line) for line in out.strip().splitlines() if line.strip()]
    want = [[rng.mix32(x) for x in xs],
            [rng.draw(0xD454544C, i) for i in range(4)] + [rng.draw(0xF2E4B235, 1000)],
            # phase 4 worked by hand: I decays and saturates, V with certain noise (+3)
            [-32768, 231, 0, -16384, 0, 3, 1, 1, 1],
            # UNIFORM with the widest amplitude: its product exceeds 2^31 (a heap long int here)
            rng.uniform_int(rng.draws(0xD454544C, 12), 32767).tolist(),
            # R at its bounds (heap long ints here), the prediction, leads of 2b, b + 1, 1, 0
            [-b, -1, b, -b, 2, 1, 0, 1, 0]]
    for name, got, exp in zip(("MIX32", "DRAW", "phase 4", "UNIFORM", "readout"), lines, want):
        print(f"{name:8} {'equal' if got == exp else 'DIFFERENT'}")
        ok &= got == exp
    _, err = run_raw_repl(a.hex, "import micropython\n@micropython.viper\ndef f(x: int) -> int:\n"
                                 "    return x\n")
    no_native = "invalid micropython decorator" in err
    print("viper on this port:", "unavailable (SyntaxError): erbp_mp uses the plain kernels"
          if no_native else "available")
    print("micro:bit (Cortex-M0, MicroPython 1.9.2 under QEMU):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
