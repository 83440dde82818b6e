"""expr_acc: how often the judge reads the TARGET expression on the outputs (with the confusion
matrix, rows target, columns judged); source_expr_acc: how often it reads the SOURCE's (a copy ~1)."""
from __future__ import annotations

import torch

from expr_gan.metrics.registry import Batch, Measure, Metric, Run


class ExpressionMeasure(Measure):
    def __init__(self, evaluator, pairs):
        super().__init__(evaluator, pairs)
        e = evaluator.num_expressions
        self.confusion = torch.zeros(e, e, dtype=torch.long)
        self.hits = self.source_hits = 0.0

    def batch(self, b: Batch) -> None:
        ev, e = self.evaluator, self.evaluator.num_expressions
        pred = ev.judge.predict(b.out01)
        self.confusion += torch.bincount(b.target_expr * e + pred, minlength=e * e).view(e, e)
        self.hits += float((pred == b.target_expr).sum())
        self.source_hits += float((pred == ev.faces.expression[b.src]).sum())

    def result(self, run: Run) -> dict:
        n = max(len(run.pairs), 1)
        return {"expr_acc": self.hits / n, "source_expr_acc": self.source_hits / n, "confusion": self.confusion.tolist()}


METRIC = Metric("expression", ("expr_acc", "source_expr_acc"), ExpressionMeasure, order=10,
                needs=frozenset({"referees"}), shown=("expr_acc",))
