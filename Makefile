# erbp — `make setup` (once, on a fresh Debian machine), `make demo` (the main job end to end) and
# `make test`.
# Python packages go into a virtual environment (.venv) so that Debian's externally managed system
# Python is never touched; `. .venv/bin/activate` puts `erbp` on your PATH.
PYTHON ?= python3
VENV ?= .venv
VPY = $(VENV)/bin/python
# Every external tool the tests call. libclang-rt-14-dev holds clang's libFuzzer and sanitizer
# runtimes (tests/test_firmware_fuzz.py): clang only recommends it, and recommends are not installed.
# Checked with `make setup` in a fresh Debian 12 chroot (debootstrap --variant=minbase + make).
APT_PACKAGES = build-essential clang libclang-rt-14-dev python3-venv python3-dev \
               gcc-arm-none-eabi libnewlib-arm-none-eabi \
               gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
               qemu-system-arm qemu-system-misc firmware-microbit-micropython
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-apt setup-python test demo golden clean

setup: setup-apt setup-python

setup-apt:
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(APT_PACKAGES)

setup-python:
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -e ".[dev,sweep]"

test:
	@test -x $(VPY) || { echo "no $(VENV): run 'make setup' first"; exit 1; }
	$(VPY) -m pytest

# The main job end to end: train on MNIST where found (else the 8x8 digits), evaluate, deploy to an
# emulated Cortex-M4, learn on the chip, verify bit-exactness against the PC; prints the figures.
demo:
	@test -x $(VPY) || { echo "no $(VENV): run 'make setup' first"; exit 1; }
	$(VPY) -m erbp.demo

# Regenerate the golden vectors (a new semantics version, or a new case: existing cases unchanged).
golden:
	$(VPY) -m erbp.reference.golden tests/golden

clean:
	rm -rf build dist *.egg-info .pytest_cache $(VENV)
