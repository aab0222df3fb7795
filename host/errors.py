"""``ErbpError``: the one base class of every error a user of erbp can cause.

Catch ``ErbpError`` to handle any of them; the ``erbp`` command prints one as a single line
``Error: ...`` (exit code 1). The subclasses live beside the code that raises them, each also
deriving from the built-in class its callers knew before (``ValueError``, ``RuntimeError``, ...):

* :mod:`erbp.reference`: ConfigError, ModelFileError, RangeError;
* :mod:`erbp.data`: DatasetError, DownloadError, IdxError;
* :mod:`erbp.engines`: EngineUnavailable; CEngineError (:mod:`erbp.engines.c`); ToolMissing and
  MicroPythonError (:mod:`erbp.micropython_tools`);
* :mod:`erbp.training`: RunDirError;
* :mod:`erbp.boards`: BoardError and its kinds (BoardNotFound, ProtocolMismatch, LinkError,
  BoardRefused, FrameError, StreamError), EmulatorError;
* :mod:`erbp.research`: BaselineError.

``tests/test_errors.py`` finds every exception class of the package and checks that it derives
from ``ErbpError``.
"""
from .reference.errors import ErbpError

__all__ = ["ErbpError"]
