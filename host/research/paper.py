"""The paper's published numbers (Neftci et al. 2017), the targets our results are compared with
(``erbp plot``'s reference line, the benchmark tables in docs/results.md)."""
from __future__ import annotations

#: The paper's Table 1, MNIST test error in %, as recalled in erbp-paper.md section 11
#: (approximate targets, not re-checked against the printed table). "RBP" is the GPU float
#: network with random feedback, "BP" with back-propagation.
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "784-100-10": {"eRBP": 3.94, "peRBP": 3.02, "RBP": 2.74, "BP": 2.19},
    "784-200-10": {"eRBP": 3.06, "peRBP": 2.69, "RBP": 2.15, "BP": 1.81},
    "784-500-10": {"eRBP": 2.76, "peRBP": 2.40, "RBP": 2.08, "BP": 1.80},
    "784-200-200-10": {"eRBP": 3.13, "peRBP": 2.29, "RBP": 2.42, "BP": 1.91},
    "784-500-500-10": {"eRBP": 2.34, "peRBP": 2.02, "RBP": 1.90, "BP": 1.90},
}
