"""The board table (firmware/boards/boards.toml) as Python objects, and as make variables.

    from erbp.boards.table import boards, board
    board("mps2-an386").qemu_machine        # "mps2-an386"
    [b.name for b in boards("conformance")]  # every board `make test` runs the conformance suite on

The firmware Makefile includes the make variables this module writes (run as a script, with the
standard library only: ``python3 host/boards/table.py make boards/boards.toml > build/boards.mk``),
so the Makefile, the emulator launcher, the tests and the benchmarks read the same facts. The table
is found beside the package's source tree (``firmware/boards/boards.toml``); an installed package
(a wheel) ships the firmware and cport sources and this file, which :func:`erbp.cport.source_root`
lays out as the same tree in erbp's cache, where make builds the images.
"""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
if __package__ and not (ROOT / "firmware" / "boards" / "boards.toml").is_file():
    from ..cport import source_root  # an installed package: its sources, staged in the cache

    ROOT = source_root()
FIRMWARE = ROOT / "firmware"
TABLE = FIRMWARE / "boards" / "boards.toml"


try:  # the erbp package's error base; run as a script (by make) the standard library suffices
    from ..errors import ErbpError
except ImportError:
    class ErbpError(Exception):  # type: ignore[no-redef]
        """Stands in for erbp.errors.ErbpError when this file runs alone."""


class BoardTableError(ErbpError, LookupError):
    """The board table is missing, malformed, or has no board of that name."""


@dataclass(frozen=True)
class Arch:
    """A toolchain and its QEMU: one ``[arch.X]`` section."""

    name: str
    cc: str
    size: str
    objcopy: str   # "" when the images need no raw binary
    qemu: str      # "" for the host build
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    debian: str = ""  # the Debian packages of the compiler and QEMU (named when one is missing)


@dataclass(frozen=True)
class BoardSpec:
    """One ``[board.NAME]`` section (firmware/boards/boards.toml documents every field); sizes in
    bytes, addresses as integers, paths relative to firmware/."""

    name: str
    arch: Arch
    cpu: str
    cpu_flags: tuple[str, ...]
    counter_hz: int
    qemu_machine: str
    qemu_args: tuple[str, ...]
    icount: bool
    uart: str
    uart_base: int
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    stack_bytes: int
    linker_script: str
    sources: tuple[str, ...]
    include: tuple[str, ...]
    image: str
    ci: tuple[str, ...]
    description: str
    builds: tuple[str, ...] = ("ram",)
    arena_bytes: int = 0
    rom_image: str = ""
    san_image: str = ""
    extra_cflags: tuple[str, ...] = ()
    clock_hz: int = 0
    dsp: bool = False
    mve: bool = False
    flash_hint: str = ""
    pyocd_target: str = ""
    openocd_target: str = ""

    @property
    def kind(self) -> str:
        """"qemu" (an emulated board) or "host" (the firmware as a Linux process)."""
        return "qemu" if self.qemu_machine else "host"

    @property
    def tools(self) -> tuple[str, ...]:
        """The programs building and running this board needs (compiler, QEMU)."""
        return tuple(t for t in (self.arch.cc, self.arch.qemu) if t)

    def source_dirs(self) -> list[str]:
        """The directories of this board's sources, includes and linker script (make rebuilds
        the image when a header or script in them changes)."""
        dirs = {str(Path(s).parent) for s in self.sources} | set(self.include)
        return sorted(dirs | ({str(Path(self.linker_script).parent)} if self.linker_script
                              else set()))

    @property
    def rom_only(self) -> bool:
        """Whether the board's only build runs a model from flash (too little RAM to learn)."""
        return self.builds == ("rom",)

    def rom_image_path(self) -> str:
        """The read-only build's image, relative to firmware/ (a rom-only board's ``image``)."""
        return self.rom_image or (self.image if self.rom_only else "")

    def target(self, rom: bool = False) -> str:
        """The make target of the board's default build, or of its read-only build (``rom``):
        NAME, or NAME-rom for a board that has both."""
        return f"{self.name}-rom" if rom and "ram" in self.builds else self.name

    def image_path(self, san: bool = False, *, rom: bool = False,
                   build_dir: Path | None = None) -> Path:
        """The image make writes: the board's default build (the first of ``builds``), the
        sanitizer build (``san``, host only) or the read-only build (``rom``); under
        ``build_dir`` instead of firmware/build when make ran with BUILD=build_dir."""
        rel = self.rom_image_path() if rom else (self.san_image if san else self.image)
        if not rel:
            raise BoardTableError(f"board {self.name} has no {'rom' if rom else 'san'} image")
        if build_dir is not None:
            return Path(build_dir) / Path(rel).relative_to("build")
        return FIRMWARE / rel

    def defines(self, build: str | None = None) -> list[str]:
        """The -D flags that give the C code this board's facts, for one of its builds (default:
        its first): the arena of a "ram" build, the model header of a "rom" build (make puts
        fw_model.h, exported from ROM_MODEL, beside the image)."""
        build = build or self.builds[0]
        out = ([f"-DFW_ARENA_BYTES={self.arena_bytes}"] if build == "ram"
               else ['-DFW_ROM_MODEL="fw_model.h"'])
        if self.kind == "qemu":
            out += [f'-DFW_BOARD_NAME="{self.name}"', f"-DFW_BOARD_RAM_BYTES={self.ram_bytes}u",
                    f"-DFW_BOARD_RAM_ORIGIN={self.ram_origin:#x}u",
                    f"-DFW_BOARD_UART_BASE={self.uart_base:#x}u",
                    f"-DFW_BOARD_COUNTER_HZ={self.counter_hz}u"]
        return out

    def cflags(self, build: str | None = None) -> list[str]:
        """Compiler flags of this board (one of its builds, default the first) beside the
        firmware's common ones: core, architecture, include directories (relative to firmware/),
        defines."""
        return [*self.cpu_flags, *self.arch.cflags, *(f"-I{d}" for d in self.include),
                *self.defines(build), *self.extra_cflags]

    def ldflags(self) -> list[str]:
        """Linker flags: the script, the memory map as BOARD_* symbols, the architecture's."""
        if not self.linker_script:
            return []
        syms = dict(BOARD_FLASH_ORIGIN=self.flash_origin, BOARD_FLASH_BYTES=self.flash_bytes,
                    BOARD_RAM_ORIGIN=self.ram_origin, BOARD_RAM_BYTES=self.ram_bytes,
                    BOARD_STACK_BYTES=self.stack_bytes)
        return [f"-T{self.linker_script}", *self.arch.ldflags,
                *(f"-Wl,--defsym={k}={v:#x}" for k, v in syms.items())]


def _tuple(x) -> tuple:
    return tuple(x) if isinstance(x, list) else x


def load(path: Path = TABLE) -> dict[str, BoardSpec]:
    """Every board of the table, in its order."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BoardTableError(f"no board table {path}: the boards and their firmware images need "
                              f"a source checkout of erbp (firmware/)") from None
    except tomllib.TOMLDecodeError as e:
        raise BoardTableError(f"{path}: {e}") from None
    archs = {n: Arch(name=n, **{k: _tuple(v) for k, v in a.items()})
             for n, a in raw.get("arch", {}).items()}
    names = {f.name for f in fields(BoardSpec)}
    out = {}
    for n, b in raw.get("board", {}).items():
        unknown = set(b) - names
        if unknown:
            raise BoardTableError(f"{path}: board {n}: unknown fields {sorted(unknown)}")
        if b.get("arch") not in archs:
            raise BoardTableError(f"{path}: board {n}: no [arch.{b.get('arch')}] section")
        try:
            out[n] = spec = BoardSpec(name=n, **{k: archs[v] if k == "arch" else _tuple(v)
                                                 for k, v in b.items()})
        except TypeError as e:
            raise BoardTableError(f"{path}: board {n}: {e}") from None
        why = _inconsistent(spec)
        if why:
            raise BoardTableError(f"{path}: board {n}: {why}")
    return out


def _inconsistent(b: BoardSpec) -> str:
    """What is wrong with an entry's builds, arena and images ("" if nothing)."""
    if not b.builds or set(b.builds) - {"ram", "rom"} or len(set(b.builds)) != len(b.builds):
        return f"builds must be ram and/or rom, got {list(b.builds)}"
    if ("ram" in b.builds) != (b.arena_bytes > 0):
        return "a board with a ram build has an arena (arena_bytes), a rom-only board none"
    if set(b.builds) == {"ram", "rom"} and not b.rom_image:
        return "a board with ram and rom builds names its rom_image"
    if b.rom_image and "rom" not in b.builds:
        return "rom_image without a rom build"
    return ""


_cache: dict[str, BoardSpec] | None = None


def boards(ci: str | None = None) -> list[BoardSpec]:
    """The boards of the table (those whose ``ci`` list holds ``ci``, if given)."""
    global _cache
    if _cache is None:
        _cache = load()
    return [b for b in _cache.values() if ci is None or ci in b.ci]


def board(name: str) -> BoardSpec:
    """One board by name (BoardTableError naming the known ones if there is none)."""
    found = [b for b in boards() if b.name == name]
    if not found:
        raise BoardTableError(f"unknown board {name!r}; known: {', '.join(names())}")
    return found[0]


def names() -> list[str]:
    return [b.name for b in boards()]


def make_vars(table: dict[str, BoardSpec]) -> str:
    """The table as make variables (build/boards.mk): BOARDS, RAM_BOARDS and ROM_BOARDS (those
    with a ram / rom build), FW_BOARDS_<arch>, and per board ARCH_, CFLAGS_ (ram build),
    ROM_CFLAGS_ (rom build), LDFLAGS_, SRC_, IMAGE_ (the first build's; SAN_IMAGE_), ROM_IMAGE_,
    ARENA_; per arch CC_, SIZE_, OBJCOPY_."""
    q = lambda xs: " ".join(shlex.quote(x) for x in xs)  # noqa: E731
    archs = {b.arch.name: b.arch for b in table.values()}
    lines = ["# Generated from boards/boards.toml by host/boards/table.py: do not edit.",
             f"BOARDS := {' '.join(table)}", f"ARCHS := {' '.join(archs)}",
             f"RAM_BOARDS := {' '.join(n for n, b in table.items() if 'ram' in b.builds)}",
             f"ROM_BOARDS := {' '.join(n for n, b in table.items() if 'rom' in b.builds)}"]
    for a in archs.values():
        lines += [f"FW_BOARDS_{a.name} := {' '.join(n for n, b in table.items() if b.arch is a)}",
                  f"CC_{a.name} := {a.cc}", f"SIZE_{a.name} := {a.size}",
                  f"OBJCOPY_{a.name} := {a.objcopy}"]
    for n, b in table.items():
        lines += [f"ARCH_{n} := {b.arch.name}",
                  f"CFLAGS_{n} := {q(b.cflags('ram')) if 'ram' in b.builds else ''}",
                  f"ROM_CFLAGS_{n} := {q(b.cflags('rom')) if 'rom' in b.builds else ''}",
                  f"LDFLAGS_{n} := {q(b.ldflags())}", f"SRC_{n} := {' '.join(b.sources)}",
                  f"DEPDIRS_{n} := {' '.join(b.source_dirs())}",
                  f"IMAGE_{n} := {b.image}", f"SAN_IMAGE_{n} := {b.san_image}",
                  f"ROM_IMAGE_{n} := {b.rom_image_path()}", f"ARENA_{n} := {b.arena_bytes}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "make":
        print(f"usage: {argv[0]} make BOARDS.TOML   (writes make variables to stdout)",
              file=sys.stderr)
        return 2
    try:
        sys.stdout.write(make_vars(load(Path(argv[2]))))
    except BoardTableError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
