"""Image operations that the GAN's terms (losses/) and the metrics (metrics/) both use: local means,
total variation, edge differences, where an expression changed, pasting, and relighting one capture
like another. Below both, so neither imports the other."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def local_mean(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """The mean over each pixel's `kernel` x `kernel` neighbourhood (odd `kernel`; the image's own pixels only)."""
    return F.avg_pool2d(x, kernel, 1, kernel // 2, count_include_pad=False)


def high_pass(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """x minus its local mean over `kernel` x `kernel` pixels (odd `kernel`)."""
    return x - local_mean(x, kernel)


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


def match_lighting(target: torch.Tensor, source: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """`target` relit like `source`: per image and channel, target * (a + b x + c y) + (d + e x + f y),
    the six coefficients fitted by least squares to `source` where `keep` [B, 1, H, W] is 1.

    Captures differ in lighting (a gain and a gradient across the face, drawn per photo), which
    nothing in the source predicts: pasted as captured, a target's pixels are a patch of another
    light that a generator can only learn as a smudge. The affine gain and offset make the fit
    independent of the pixel range ([0, 1], [-1, 1] or [0, 255]). Solved in float32 outside autocast
    (a bf16 solve is unsupported on GPUs and too coarse for a grey level); returned in target's dtype."""
    with torch.autocast(target.device.type, enabled=False):
        relit = _match_lighting(target.float(), source.float(), keep.float())
    return relit.to(target.dtype)


def _match_lighting(target: torch.Tensor, source: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    b, c, h, w = target.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=target.device, dtype=target.dtype),
                            torch.linspace(-1, 1, w, device=target.device, dtype=target.dtype), indexing="ij")
    basis = torch.stack([torch.ones_like(xs), xs, ys]).reshape(3, -1)  # [3, N]

    def design(x: torch.Tensor) -> torch.Tensor:  # [B, C, 6, N]: x * (1, x, y) and (1, x, y)
        return torch.cat([x.reshape(b, c, 1, -1) * basis, basis.expand(b, c, 3, -1)], 2)

    # fitted on 3x3 local means: the target is resampled (softer) and each capture has its own
    # sensor noise, and a fit of sharp pixels on soft ones underestimates the gain
    fit = design(local_mean(target, 3))
    weighted = fit * keep.reshape(b, 1, 1, -1).to(fit.dtype)
    normal = weighted @ fit.transpose(-1, -2) + 1e-4 * torch.eye(6, device=target.device, dtype=target.dtype)
    coef = torch.linalg.solve(normal, weighted @ local_mean(source, 3).reshape(b, c, -1, 1))  # [B, C, 6, 1]
    return (design(target).transpose(-1, -2) @ coef).reshape(b, c, h, w)


@torch.no_grad()
def changed_region(source: torch.Tensor, target: torch.Tensor, threshold: float = 0.08) -> torch.Tensor:
    """[B, 1, H, W] of 0/1: where `target` differs from `source` (any pixel range), with a 2 px margin.

    Found on high-passed images (each minus its 9x9 local mean), so lighting differences between
    captures do not count as change; `threshold` is a share of the source's pixel range."""
    scale = (source.amax() - source.amin()).clamp_min(1e-6)
    diff = (high_pass(target, 9) - high_pass(source, 9)).abs().mean(1, keepdim=True) / scale
    return F.max_pool2d((diff > threshold).to(source.dtype), 5, 1, 2)


def paste(source: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """`target` inside `region` (0/1), `source` elsewhere: the composite an attention generator should output."""
    return region * target + (1 - region) * source


@torch.no_grad()
def relit_change(source: torch.Tensor, target: torch.Tensor, threshold: float = 0.08) -> tuple[torch.Tensor, torch.Tensor]:
    """(region, relit target): `target` relit like `source` outside a first `changed_region`, and the
    region found again on the relit images after a 3x3 local mean, with a 2 px margin.

    The high-passed first pass also flags every sharp edge that resampling softened (an eye-aligned
    target is resampled, the source is not) and lighting seams: eyes, glasses and hair lines where
    only the mouth changed. Compared in one light and at one softness, only what the expression
    moved remains, so a generator is asked to copy the rest rather than repaint it."""
    relit = match_lighting(target, source, 1 - changed_region(source, target, threshold))
    scale = (source.amax() - source.amin()).clamp_min(1e-6)
    diff = (local_mean(relit, 3) - local_mean(source, 3)).abs().mean(1, keepdim=True) / scale
    return F.max_pool2d((diff > threshold).to(source.dtype), 5, 1, 2), relit
