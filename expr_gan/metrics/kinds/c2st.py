"""c2st_acc: a fresh classifier's held-out accuracy at telling real targets from outputs (0.5 =
indistinguishable; metrics/realism.py), trained on outputs for training people's pairs; the mean over
`c2st.seeds` classifiers, c2st_std their standard deviation, c2st_runs each one."""
from __future__ import annotations

import torch

from expr_gan.metrics.realism import c2st_runs, mean_and_spread, to_uint8
from expr_gan.metrics.registry import Measure, Metric, Run


class C2STMeasure(Measure):
    def result(self, run: Run) -> dict:
        ev, pairs = self.evaluator, run.pairs
        train = ev.c2st_pairs
        if not len(train) or not len(pairs):
            return {"c2st_acc": float("nan"), "c2st_std": float("nan"), "c2st_runs": []}
        fakes = torch.cat([to_uint8(run.make(train[i : i + run.batch_size, 0], train[i : i + run.batch_size, 1]))
                           for i in range(0, len(train), run.batch_size)])
        images = ev.faces.images
        runs = c2st_runs(images[train[:, 1]], fakes, images[pairs[:, 1]], run.outputs,
                         progress="C2ST classifiers" if ev.show_progress else None, **ev.c2st.classifier())
        mean, spread = mean_and_spread(runs)
        return {"c2st_acc": mean, "c2st_std": spread, "c2st_runs": runs}


# version 2: the mean of c2st.seeds classifiers, with c2st_std
METRIC = Metric("c2st", ("c2st_acc", "c2st_std"), C2STMeasure, order=30, needs=frozenset({"c2st"}), version=2)
