"""copy_ratio: mean |out - source| / mean |target - source|: 0 = copied the input, 1 = moved as far
as the truth."""
from __future__ import annotations

from expr_gan.metrics.registry import Batch, Measure, Metric, Run


class CopyRatioMeasure(Measure):
    def __init__(self, evaluator, pairs):
        super().__init__(evaluator, pairs)
        self.moved = self.truth_moved = 0.0

    def batch(self, b: Batch) -> None:
        self.moved += float((b.out01 - b.src01).abs().mean(dim=(1, 2, 3)).sum())
        self.truth_moved += float((b.tgt01 - b.src01).abs().mean(dim=(1, 2, 3)).sum())

    def result(self, run: Run) -> dict:
        return {"copy_ratio": self.moved / max(self.truth_moved, 1e-12)}


METRIC = Metric("copy_ratio", ("copy_ratio",), CopyRatioMeasure, order=60)
