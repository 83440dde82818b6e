"""Pixel-space helpers of the GAN's generator terms: local means, total variation, edge differences."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def high_pass(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """x minus its local mean over `kernel` x `kernel` pixels (odd `kernel`)."""
    return x - F.avg_pool2d(x, kernel, 1, kernel // 2, count_include_pad=False)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def gradient_difference(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |horizontal and vertical neighbour differences of `output` - those of `target`|.

    Mathieu et al.'s gradient difference loss (ICLR 2016): a pixel L1 under any uncertainty is
    minimised by a blurred average, whose edges are weak; this term asks for the target's edges.
    """
    dy = (output[..., 1:, :] - output[..., :-1, :]) - (target[..., 1:, :] - target[..., :-1, :])
    dx = (output[..., :, 1:] - output[..., :, :-1]) - (target[..., :, 1:] - target[..., :, :-1])
    return dy.abs().mean() + dx.abs().mean()


@torch.no_grad()
def changed_region(source: torch.Tensor, target: torch.Tensor, threshold: float = 0.08) -> torch.Tensor:
    """[B, 1, H, W] of 0/1: where `target` differs from `source` (any pixel range), with a 2 px margin.

    Found on high-passed images (each minus its 9x9 local mean), so lighting differences between
    captures do not count as change; `threshold` is a share of the source's pixel range."""
    scale = (source.amax() - source.amin()).clamp_min(1e-6)
    diff = (high_pass(target, 9) - high_pass(source, 9)).abs().mean(1, keepdim=True) / scale
    return F.max_pool2d((diff > threshold).to(source.dtype), 5, 1, 2)
