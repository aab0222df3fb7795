"""Research tools: what the fixed-point design costs, measured against float references.

Not part of the on-device product: the benchmarks (``benchmarks/quant_sweep.py``,
``benchmarks/baseline_table.py``, ``benchmarks/paper_table.py``, ...) and docs/precision.md use
them. :mod:`~erbp.research.baselines` trains float MLPs with BP, FA and DFA on the paper's protocol
(also reachable as ``erbp baseline``, the one command that reaches in here);
:mod:`~erbp.research.float_erbp` is the float twin of the integer network (the width sweeps
rescale configurations with :mod:`erbp.training.precision`, which ``erbp train --grid-bits`` uses);
:mod:`~erbp.research.int8_mlp` quantises a baseline as TFLite Micro / CMSIS-NN run it (the anchor
of ``benchmarks/bench_mlp.py`` and docs/inference.md).
"""
