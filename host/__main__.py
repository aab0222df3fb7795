"""``python -m erbp``: the ``erbp`` command (:func:`erbp.cli.main`)."""
from .cli import main

main(prog_name="erbp")
