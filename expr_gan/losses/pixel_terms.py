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
