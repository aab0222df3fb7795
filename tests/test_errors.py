"""One base class for every error a user can cause (erbp.errors.ErbpError), and the command line
printing any of them as one line."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest
from click.testing import CliRunner

import erbp
import erbp.reference
from erbp.cli import main
from erbp.errors import ErbpError

#: Modules that are not imported here: the MicroPython sources (they run under MicroPython), the
#: compiled binding (no Python classes), ``python -m erbp`` (running it would run the command).
NOT_IMPORTED = ("erbp.mp_src", "erbp._cport", "erbp.__main__")


def erbp_modules() -> list[str]:
    names = []
    for pkg in (erbp, erbp.reference):
        names.append(pkg.__name__)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not m.name.startswith(NOT_IMPORTED):
                names.append(m.name)
    return sorted(set(names))


def exception_classes() -> dict[str, type[BaseException]]:
    """Every public exception class defined in a module of the erbp package, by qualified name
    (a private one, ``_Name``, is caught inside its module and never reaches a user)."""
    out = {}
    for name in erbp_modules():
        mod = importlib.import_module(name)
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if (issubclass(obj, BaseException) and obj.__module__ == name
                    and not obj.__name__.startswith("_")):
                out[f"{name}.{obj.__qualname__}"] = obj
    return out


def test_every_subpackage_is_walked():
    names = erbp_modules()
    for sub in ("erbp.cli", "erbp.data", "erbp.engines", "erbp.engines.c", "erbp.training",
                "erbp.boards", "erbp.export", "erbp.research", "erbp.reference"):
        assert sub in names


def test_every_erbp_exception_derives_from_erbp_error():
    found = exception_classes()
    # the classes users meet most, so that a broken walk cannot pass with an empty list
    for name in ("erbp.reference.config.ConfigError", "erbp.reference.modelfile.ModelFileError",
                 "erbp.reference.intmath.RangeError", "erbp.data.datasets.DatasetError",
                 "erbp.data.download.DownloadError", "erbp.data.idx.IdxError",
                 "erbp.engines.registry.EngineUnavailable", "erbp.training.rundir.RunDirError",
                 "erbp.boards.client.BoardError", "erbp.boards.emulators.EmulatorError",
                 "erbp.research.baselines.BaselineError"):
        assert name in found, sorted(found)
    strays = sorted(n for n, cls in found.items() if not issubclass(cls, ErbpError))
    assert strays == [], f"exceptions that do not derive from erbp.errors.ErbpError: {strays}"


def test_the_old_builtin_bases_are_kept():
    from erbp.data import DatasetError, IdxError
    from erbp.reference import ConfigError, RangeError
    from erbp.reference.modelfile import ModelFileError

    assert issubclass(ConfigError, ValueError) and issubclass(ModelFileError, ValueError)
    assert issubclass(IdxError, ValueError) and issubclass(DatasetError, RuntimeError)
    assert issubclass(RangeError, ArithmeticError)
    assert erbp.ErbpError is ErbpError is erbp.reference.ErbpError


class SomeNewError(ErbpError):
    """An error class the command line has never heard of."""


@pytest.fixture
def failing_command(monkeypatch):
    @click.command("fail")
    @click.option("--kind", default="erbp")
    def fail(kind: str) -> None:
        if kind == "erbp":
            raise SomeNewError("the thing is broken\nin two lines")
        raise KeyError("a bug")

    monkeypatch.setitem(main.commands, "fail", fail)


def test_cli_prints_any_erbp_error_as_one_line(failing_command, monkeypatch):
    monkeypatch.delenv("ERBP_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["fail"])
    assert r.exit_code == 1
    assert r.output == "Error: the thing is broken in two lines\n"
    assert isinstance(r.exception, SystemExit)


def test_cli_keeps_the_traceback_of_other_errors_and_with_erbp_debug(failing_command,
                                                                     monkeypatch):
    monkeypatch.delenv("ERBP_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["fail", "--kind", "bug"])
    assert isinstance(r.exception, KeyError)
    monkeypatch.setenv("ERBP_DEBUG", "1")
    r = CliRunner().invoke(main, ["fail"])
    assert isinstance(r.exception, SomeNewError)
