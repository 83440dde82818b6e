"""Eye-based alignment: warp a target image into its source's pose before a pixel loss.

Captures of one person are posed independently (as in real datasets), so a pixel loss against the
raw target teaches blur. With the eye positions of both images (the renderer exports them,
CAS-PEAL ships FaceFP_2.txt) one similarity transform brings the target onto the source.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity_theta(src_eyes: torch.Tensor, tgt_eyes: torch.Tensor, size: int) -> torch.Tensor:
    """affine_grid thetas [B, 2, 3] that sample the target at the source's eye positions.

    src_eyes, tgt_eyes: [B, 2, 2] pixel coordinates (x, y) of the right and left eye.
    """
    zs = torch.complex(src_eyes[..., 0], src_eyes[..., 1]).to(torch.complex64)
    zt = torch.complex(tgt_eyes[..., 0], tgt_eyes[..., 1]).to(torch.complex64)
    a = (zt[:, 1] - zt[:, 0]) / (zs[:, 1] - zs[:, 0])  # rotation and scale, source -> target
    b = zt[:, 0] - a * zs[:, 0]
    # normalised coordinates u = 2x/size - 1 (align_corners=False), both frames the same size
    rot = torch.stack([torch.stack([a.real, -a.imag], -1), torch.stack([a.imag, a.real], -1)], -2)
    shift = torch.stack([(a.real - a.imag) - 1 + 2 * b.real / size, (a.imag + a.real) - 1 + 2 * b.imag / size], -1)
    return torch.cat([rot, shift[..., None]], dim=-1).float()


def align_to(targets: torch.Tensor, src_eyes: torch.Tensor, tgt_eyes: torch.Tensor) -> torch.Tensor:
    """Warp float images [B, C, H, W] so their eyes land on `src_eyes`; rows with unknown (NaN) eyes are unchanged."""
    known = torch.isfinite(src_eyes).flatten(1).all(1) & torch.isfinite(tgt_eyes).flatten(1).all(1)
    if not known.any():
        return targets
    theta = similarity_theta(torch.nan_to_num(src_eyes), torch.nan_to_num(tgt_eyes), targets.shape[-1])
    theta[~known] = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    grid = F.affine_grid(theta, list(targets.shape), align_corners=False)
    return F.grid_sample(targets, grid, mode="bilinear", padding_mode="border", align_corners=False)


def points_to_source(points: torch.Tensor, src_eyes: torch.Tensor, tgt_eyes: torch.Tensor) -> torch.Tensor:
    """Target points [B, K, 2] (pixels) carried into the source's pose, where `align_to` puts the target's
    pixels: the inverse of the similarity that samples the target at the source's eyes. Rows with
    unknown (NaN) eyes are unchanged, as their images are."""
    known = torch.isfinite(src_eyes).flatten(1).all(1) & torch.isfinite(tgt_eyes).flatten(1).all(1)
    zs = torch.complex(torch.nan_to_num(src_eyes[..., 0]).double(), torch.nan_to_num(src_eyes[..., 1]).double())
    zt = torch.complex(torch.nan_to_num(tgt_eyes[..., 0]).double(), torch.nan_to_num(tgt_eyes[..., 1]).double())
    a = (zt[:, 1] - zt[:, 0]) / torch.where(known, zs[:, 1] - zs[:, 0], torch.ones_like(zs[:, 0]))
    b = zt[:, 0] - a * zs[:, 0]
    z = (torch.complex(points[..., 0].double(), points[..., 1].double()) - b[:, None]) / a[:, None]
    moved = torch.stack([z.real, z.imag], -1).to(points.dtype)
    return torch.where(known[:, None, None], moved, points)


def aligned_pair_targets(images: torch.Tensor, eyes: torch.Tensor, pairs: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """uint8 [P, C, H, W]: each pair's target (column 1) warped into its source's (column 0) pose.

    Computed once per split, so batches only gather it. A flipped pair's aligned target is this
    image flipped (mirroring both eye pairs gives the mirrored warp; they agree to 1e-3 grey levels).
    """
    out = torch.empty((len(pairs), *images.shape[1:]), dtype=torch.uint8)
    for start in range(0, len(pairs), chunk):
        src, tgt = pairs[start:start + chunk, 0], pairs[start:start + chunk, 1]
        warped = align_to(images[tgt].float(), eyes[src], eyes[tgt])
        out[start:start + chunk] = warped.round_().clamp_(0, 255).to(torch.uint8)
    return out
