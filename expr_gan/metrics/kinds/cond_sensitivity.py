"""cond_sensitivity: the mean |out_i - out_j| between the outputs of one source under different
targets (~0: the one-hot is ignored); for a baseline, between the person's real images of each
expression (warped into the source's pose for `aligned`). Over the first `max_sources` sources."""
from __future__ import annotations

import torch

from expr_gan.metrics.registry import Measure, Metric, Run


class CondSensitivityMeasure(Measure):
    def result(self, run: Run) -> dict:
        ev = self.evaluator
        faces, e = ev.faces, ev.num_expressions
        sources = torch.unique(run.pairs[:, 0])[: run.max_sources]
        if run.baseline == "copy" or len(sources) == 0:
            return {"cond_sensitivity": 0.0}
        total, count = 0.0, 0
        for s in sources.tolist():
            if run.baseline is None:  # the model, to every expression
                outs = ev.translate_to(torch.full((e,), s), torch.arange(e), run.translate, run.pixels, run.device)
            else:  # the person's real image of each expression
                mine = faces.identity == faces.identity[s]
                tgt = torch.tensor([int((mine & (faces.expression == k)).nonzero()[0, 0])
                                    for k in range(e) if (mine & (faces.expression == k)).any()])
                outs = run.make(torch.full((len(tgt),), s), tgt)
            diffs = (outs[:, None] - outs[None, :]).abs().mean(dim=(2, 3, 4))
            k = len(outs)
            total += float(diffs.sum()) / max(k * (k - 1), 1)
            count += 1
        return {"cond_sensitivity": total / max(count, 1)}


METRIC = Metric("cond_sensitivity", ("cond_sensitivity",), CondSensitivityMeasure, order=70)
