"""The MicroPython port's sources, installed with the host package as ``erbp.mp_src`` so that a
non-editable install can export and precompile them. This marker is host-side only: it is never
copied to a board (``erbp export --format micropython`` copies the modules by name).
"""
