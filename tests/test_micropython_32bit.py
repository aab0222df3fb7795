"""The MicroPython port's word-size-sensitive kernels on a real 32-bit MicroPython: the BBC
micro:bit firmware (MicroPython 1.9.2, Cortex-M0) under QEMU, compared with the reference."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

HEX = Path("/usr/share/firmware-microbit-micropython/firmware.hex")


def test_plain_kernels_are_exact_on_a_32_bit_micropython():
    missing = [n for n, ok in (("qemu-system-arm", shutil.which("qemu-system-arm")),
                               (str(HEX), HEX.exists())) if not ok]
    if missing:
        pytest.fail(f"missing {missing}: run `make setup` (Debian packages qemu-system-arm and "
                    f"firmware-microbit-micropython)")
    r = subprocess.run([sys.executable, str(ROOT / "firmware" / "micropython" /
                                            "qemu_microbit_check.py")],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MIX32    equal" in r.stdout and "phase 4  equal" in r.stdout and "PASS" in r.stdout
    assert "UNIFORM  equal" in r.stdout  # init_amp 32767: the product exceeds 2^31
    assert "readout  equal" in r.stdout  # readout sums near 2^31, a lead past 2^31
