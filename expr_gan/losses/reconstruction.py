"""Pixel reconstruction losses beyond torch's own (which the `loss` group uses directly)."""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.errors import UsageError


class PixelSumLoss(nn.Module):
    """Squared (or absolute) error summed over pixels and averaged over the batch.

    Ghodrati et al.'s and the report's torch7 criterion; its scale grows with image size, which is
    why the report saw MSE losses "around 800".
    """

    def __init__(self, kind: str = "mse"):
        super().__init__()
        if kind not in ("mse", "l1"):
            raise UsageError(f"loss.kind={kind!r}: expected mse or l1")
        self.kind = kind

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = output - target
        per_pixel = diff.square() if self.kind == "mse" else diff.abs()
        return per_pixel.flatten(1).sum(1).mean()


class ScaledLoss(nn.Module):
    """A pixel loss measured in other units: `kind`(scale * output, scale * target).

    The report computed its losses in [0, 255] grey levels (SmoothL1 settling near 20). A generator
    with a tanh output works in [-1, 1]; `scale: 127.5` measures its SmoothL1 in grey levels again.
    For MSE and L1 this is a weight (scale^2, scale); for SmoothL1 it also moves the quadratic zone
    from |d| < 1 (all of [-1, 1]) to one grey level, where the report's loss had it.
    """

    KINDS = {"smoothl1": nn.functional.smooth_l1_loss, "mse": nn.functional.mse_loss, "l1": nn.functional.l1_loss}

    def __init__(self, kind: str = "smoothl1", scale: float = 127.5):
        super().__init__()
        if kind not in self.KINDS:
            raise UsageError(f"loss.kind={kind!r}: expected one of {', '.join(self.KINDS)}")
        if scale <= 0:
            raise UsageError(f"loss.scale={scale}: expected a positive number")
        self.kind, self.scale = kind, float(scale)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.KINDS[self.kind](output * self.scale, target * self.scale)
