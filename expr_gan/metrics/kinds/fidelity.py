"""l1, psnr, ssim: each output against the real target image of the same person (torchmetrics; PSNR
capped at 100 dB for identical images)."""
from __future__ import annotations

from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from expr_gan.metrics.registry import Batch, Measure, Metric, Run


class FidelityMeasure(Measure):
    def __init__(self, evaluator, pairs):
        super().__init__(evaluator, pairs)
        self.sums = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0}

    def batch(self, b: Batch) -> None:
        out01, tgt01 = b.out01, b.tgt01
        self.sums["l1"] += float((out01 - tgt01).abs().mean(dim=(1, 2, 3)).sum())
        self.sums["psnr"] += float(peak_signal_noise_ratio(out01, tgt01, data_range=1.0, reduction="none",
                                                           dim=(1, 2, 3)).clamp(max=100).sum())
        self.sums["ssim"] += float(structural_similarity_index_measure(out01, tgt01, data_range=1.0, reduction="none").sum())

    def result(self, run: Run) -> dict:
        n = max(len(run.pairs), 1)
        return {k: v / n for k, v in self.sums.items()}


METRIC = Metric("fidelity", ("l1", "psnr", "ssim"), FidelityMeasure, order=50)
