"""erbp — on-device learning for spiking neural networks with event-driven random back-propagation.

Packages: :mod:`erbp.reference` (the bit-accurate reference, from ``reference/``) and the host tools
in this package (from ``host/``): data sets, training and evaluation, engines, the command line.
"""
from .reference import SEMANTICS_VERSION, NetConfig, Network
from .reference.errors import ErbpError

__version__ = "0.1.0"
__all__ = ["SEMANTICS_VERSION", "ErbpError", "NetConfig", "Network", "__version__"]
