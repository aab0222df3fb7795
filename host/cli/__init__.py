"""The ``erbp`` command: a click group whose subcommands live in their own modules.

To add a subcommand, write a module here (``erbp/cli/NAME.py``) with a click command and add one
line to :data:`SUBCOMMANDS` (``"name": "erbp.cli.NAME:attribute"``); options several commands share
are in :mod:`erbp.cli._common` (commands never import each other). Modules are imported only when
their command runs (or for ``--help``), so a slow or broken one never affects the others.

Errors the user can fix (a missing data directory, a corrupt model file, a bad option value: every
:class:`erbp.errors.ErbpError`) and errors of the system (an OSError: a file that cannot be read or
written, a full disk) are printed as one line ``Error: ...`` with exit code 1; Ctrl-C ends with
exit code 130; other exceptions (bugs) keep their traceback. Set ERBP_DEBUG=1 to get tracebacks
for the others too. Exit codes: 0 success, 1 error, 2 usage error, 130 interrupted
(docs/reliability.md section 3).
"""
from __future__ import annotations

import importlib
import os
from typing import Any

import click

from ._common import ARGV_KEY, EXIT_INTERRUPTED, command_line
from ..errors import ErbpError

__all__ = ["ARGV_KEY", "ErbpGroup", "SUBCOMMANDS", "command_line", "main"]

#: Subcommand name -> "module:attribute" of its click command.
SUBCOMMANDS: dict[str, str] = {
    "train": "erbp.cli.train:train",
    "eval": "erbp.cli.eval:evaluate",
    "info": "erbp.cli.info:info",
    "convert": "erbp.cli.convert:convert",
    "export": "erbp.cli.export:export_cmd",
    "plot": "erbp.cli.plot:plot",
    "baseline": "erbp.cli.baseline:baseline",
    "board": "erbp.cli.board:board",
    "sweep": "erbp.cli.sweep:sweep",
}


class ErbpGroup(click.Group):
    """A group with lazily imported subcommands, one-line user errors, and the raw arguments of
    the invocation kept in ``ctx.meta`` (see :func:`command_line`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(SUBCOMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands or name not in SUBCOMMANDS:
            return self.commands.get(name)
        module, _, attr = SUBCOMMANDS[name].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            return _unavailable(name, e)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault(ARGV_KEY, list(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ErbpError, OSError) as e:
            if os.environ.get("ERBP_DEBUG"):
                raise
            raise click.ClickException(one_line(e)) from e
        except KeyboardInterrupt:
            if os.environ.get("ERBP_DEBUG"):
                raise
            click.echo("Error: interrupted (Ctrl-C)", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def one_line(e: BaseException) -> str:
    """The message of an error on one line; an OSError as its reason and file name."""
    if isinstance(e, OSError) and not isinstance(e, ErbpError) and e.strerror:
        names = [str(n) for n in (e.filename, e.filename2) if n is not None]
        text = f"{e.strerror}: {' -> '.join(names)}" if names else e.strerror
    else:
        text = str(e) or type(e).__name__
    return " ".join(text.split())


def _unavailable(name: str, err: Exception) -> click.Command:
    """A stand-in for a subcommand whose module cannot be imported."""

    @click.command(name, help=f"(unavailable: {err})", context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True})
    def cmd() -> None:
        raise click.ClickException(f"erbp {name} is unavailable: {err}")

    return cmd


@click.group("erbp", cls=ErbpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="erbp")
def main() -> None:
    """erbp: on-device learning for spiking neural networks with eRBP.

    Data: MNIST is read from --data-dir, else $ERBP_DATA, else ~/.cache/erbp/mnist (downloaded
    there, SHA-256 checked, if missing). See docs/usage.md.
    """
