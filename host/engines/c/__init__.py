"""The C engine (cport/) from Python: :class:`CNetwork`, through the cffi binding ``erbp._cport``.

:mod:`erbp.engines.c.engine` holds the engine; :mod:`erbp.engines.c._build` is the cffi build
script of the binding (setup.py names it in ``cffi_modules``).
"""
from .engine import (ARENA_ALIGN, BLOCK, STATUS_ERRORS, VARIANT_ENV, CEngineError, CNetwork,
                     available, config_check, required_bytes, state_required_bytes, status_name,
                     statuses, var_id)

__all__ = ["ARENA_ALIGN", "BLOCK", "STATUS_ERRORS", "VARIANT_ENV", "CEngineError", "CNetwork",
           "available", "config_check", "required_bytes", "state_required_bytes", "status_name",
           "statuses", "var_id"]
