"""erbp.reference — the bit-accurate fixed-point eRBP reference (the executable specification).

docs/semantics.md defines the rules; this package implements them exactly, with numpy int64 arrays.
Every other engine (cport, the firmware, the MicroPython port) is tested against it bit for bit.
"""
from .config import TOPOLOGIES, VARIANTS, ConfigError, NetConfig, parse_sizes
from .constants import SEMANTICS_VERSION
from .errors import ErbpError
from .intmath import RangeError
from .network import INFER, MODES, TRAIN, Network, SampleResult, predict

__all__ = [
    "TOPOLOGIES", "VARIANTS", "ConfigError", "NetConfig", "parse_sizes", "SEMANTICS_VERSION",
    "ErbpError", "RangeError", "INFER", "MODES", "TRAIN", "Network", "SampleResult", "predict",
]
