"""sharpness: the outputs' detail / the real targets' (variance of the Laplacian after a 2x2 average;
1.0 = as sharp); sharpness_aligned_real: the same for the real targets warped into the sources' pose
by the eyes, the ceiling that resampling allows (NaN without eye positions)."""
from __future__ import annotations

import torch

from expr_gan.data.align import aligned_pair_targets
from expr_gan.metrics.realism import sharpness
from expr_gan.metrics.registry import Measure, Metric, Run


class SharpnessMeasure(Measure):
    def result(self, run: Run) -> dict:
        faces, pairs = self.evaluator.faces, run.pairs
        targets = faces.images[pairs[:, 1]]
        known = torch.isfinite(faces.eyes[pairs].flatten(1)).all(1)
        aligned = aligned_pair_targets(faces.images, faces.eyes, pairs[known]) if known.any() else None
        return {"sharpness": sharpness(run.outputs, targets),
                "sharpness_aligned_real": sharpness(aligned, targets[known]) if aligned is not None else float("nan")}


METRIC = Metric("sharpness", ("sharpness",), SharpnessMeasure, order=40)
