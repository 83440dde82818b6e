"""id_acc: top-1 retrieval of the output's own person among real held-out images by the identity
net (the query's true target image itself is left out of the gallery)."""
from __future__ import annotations

from expr_gan.metrics.registry import Batch, Measure, Metric, Run


class IdentityMeasure(Measure):
    def __init__(self, evaluator, pairs):
        super().__init__(evaluator, pairs)
        self.hits = 0.0

    def batch(self, b: Batch) -> None:
        ev = self.evaluator
        self.hits += float(ev.id_hits(b.out01, b.tgt, ev.faces.identity[b.src]).sum())

    def result(self, run: Run) -> dict:
        return {"id_acc": self.hits / max(len(run.pairs), 1)}


METRIC = Metric("identity", ("id_acc",), IdentityMeasure, order=20, needs=frozenset({"referees"}))
