"""Pixel reconstruction losses beyond torch's own (which the `loss` group uses directly)."""
from __future__ import annotations

import torch
from torch import nn


class PixelSumLoss(nn.Module):
    """Squared (or absolute) error summed over pixels and averaged over the batch.

    Ghodrati et al.'s and the report's torch7 criterion; its scale grows with image size, which is
    why the report saw MSE losses "around 800".
    """

    def __init__(self, kind: str = "mse"):
        super().__init__()
        if kind not in ("mse", "l1"):
            raise ValueError(f"loss.kind={kind!r}: expected mse or l1")
        self.kind = kind

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = output - target
        per_pixel = diff.square() if self.kind == "mse" else diff.abs()
        return per_pixel.flatten(1).sum(1).mean()
