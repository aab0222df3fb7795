"""The base class of every error a user of erbp can cause.

It is defined here, in the reference, because the reference's own errors (ConfigError,
ModelFileError, RangeError) derive from it and the reference must stay importable without the rest
of the package. The host package re-exports it as :class:`erbp.errors.ErbpError`.
"""
from __future__ import annotations


class ErbpError(Exception):
    """An error a user can cause (a bad option, file, data set, board or missing tool); its message
    says what is wrong and, where it can, what to do. ``erbp`` prints it as one line
    ``Error: ...`` with exit code 1 (set ERBP_DEBUG=1 for the traceback)."""
