# erbp — the two commands: `make setup` (once, on a fresh Debian machine) and `make test`.
PYTHON ?= python3
APT_PACKAGES = build-essential clang gcc-arm-none-eabi libnewlib-arm-none-eabi \
               gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
               qemu-system-arm qemu-system-misc firmware-microbit-micropython
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-apt setup-python test test-fast golden c-header clean

setup: setup-apt setup-python

setup-apt:
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(APT_PACKAGES)

setup-python:
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install -e ".[dev]"

test:
	$(PYTHON) -m pytest

# Regenerate the golden vectors (only together with a semantics-version change).
golden:
	$(PYTHON) -m erbp.reference.golden tests/golden

clean:
	rm -rf build dist *.egg-info .pytest_cache
