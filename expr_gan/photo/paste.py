"""Edits pasted back into the full-resolution photo.

What is pasted is the model's change, not its output: the difference between the edited crop and
the crop the model was given, carried back through the inverse of the alignment and added to the
photo's own pixels. Where the model changes nothing the photo keeps its full resolution; a 64 px
output pasted whole would blur a 300 px face. The change is weighted by a feathered mask of the
face (the convex hull of its landmarks with the forehead above the brows, grown by a margin), and
every pixel outside the grown hull is the input's, bit for bit.

A warping model (nets/warp.py) also gives the flow that moved its crop's pixels: `paste_warp` moves
the photo's own pixels with it, at the photo's resolution, and adds only what the model painted on
top of its warp. A flow pasted as a change would be a 64 px picture of moved pixels, blurred onto
the photo.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter

from expr_gan.photo.landmarks import eye_distance

GROW = 0.25      # the hull's margin, as a share of the eye distance
FEATHER = 0.15   # the blur of the mask's edge, as a share of the eye distance
FOREHEAD = 0.6   # brows lifted by this share of the eye distance extend the hull (raised brows, frowns)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of points [N, 2], counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(map(tuple, np.asarray(points, dtype=np.float64)))

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and _turn(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(reversed(pts)))


def _turn(o, a, b) -> float:
    """The z of (a - o) x (b - o): positive for a counter-clockwise turn."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def face_outline(points: np.ndarray, grow: float = GROW) -> np.ndarray:
    """The polygon [K, 2] of a face's region: the 68 points and the forehead, grown by `grow` eye distances."""
    points = np.asarray(points, dtype=np.float64)
    eyes = eye_distance(points)
    brows = points[17:27] - [0.0, FOREHEAD * eyes]
    hull = convex_hull(np.vstack([points, brows]))
    centre = hull.mean(0)
    radial = hull - centre
    lengths = np.linalg.norm(radial, axis=1, keepdims=True)
    return centre + radial * (1 + grow * eyes / np.maximum(lengths, 1e-6))


def region_mask(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 [H, W] in [0, 1]: 1 inside the face, a soft edge, exactly 0 outside the grown hull."""
    outer, inner = Image.new("L", size, 0), Image.new("L", size, 0)
    ImageDraw.Draw(outer).polygon([tuple(p) for p in face_outline(points)], fill=255)
    ImageDraw.Draw(inner).polygon([tuple(p) for p in face_outline(points, GROW / 2)], fill=255)
    soft = inner.filter(ImageFilter.GaussianBlur(max(FEATHER * eye_distance(points) / 2, 0.5)))
    return (np.asarray(soft, dtype=np.float32) / 255) * (np.asarray(outer) > 0)


def _crop_grid(mask: np.ndarray, matrix: np.ndarray, size: int):
    """(rows, columns, grid [1, 1, N, 2]): the photo pixels where `mask` > 0 and where they fall in the
    crop, in grid_sample's normalised coordinates (align_corners=False)."""
    ys, xs = np.nonzero(mask > 0)
    coords = np.stack([xs, ys], 1).astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
    return ys, xs, torch.from_numpy((2 * coords + 1) / size - 1).float().view(1, 1, -1, 2)


def _sample(image: np.ndarray, grid: torch.Tensor, mode: str = "bicubic", padding: str = "zeros") -> np.ndarray:
    """float [N, C]: `image` (float [H, W, C]) read at `grid` [1, 1, N, 2]; outside, `padding` (grid_sample's)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    return F.grid_sample(tensor, grid, mode=mode, padding_mode=padding, align_corners=False)[0, :, 0].T.numpy()


def paste_change(photo: np.ndarray, given: np.ndarray, edited: np.ndarray, matrix: np.ndarray,
                 mask: np.ndarray) -> np.ndarray:
    """The photo (uint8 [H, W, 3]) with the change `edited - given` (float [S, S, 3], grey levels, the
    crop frame) added where `mask` > 0; `matrix` maps photo pixels to crop pixels (pixel centres)."""
    out = photo.copy()
    if not (mask > 0).any():
        return out
    ys, xs, grid = _crop_grid(mask, matrix, given.shape[0])
    blended = photo[ys, xs].astype(np.float32) + mask[ys, xs, None] * _sample(edited - given, grid)
    out[ys, xs] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def paste_warp(photo: np.ndarray, warped: np.ndarray, edited: np.ndarray, flow: np.ndarray, matrix: np.ndarray,
               mask: np.ndarray) -> np.ndarray:
    """The photo (uint8 [H, W, 3]) with its own pixels moved by a crop's `flow` (float [S, S, 2], x and y
    in grid_sample's normalised units of the crop) and the model's paint on top (`edited - warped`,
    float [S, S, 3] grey levels: the output minus the crop its flow moved), where `mask` > 0.

    A photo pixel P at crop position c = matrix(P) shows the photo at matrix^-1(c + flow(c)) = P +
    A^-1 flow(c) (A: the matrix's linear part), read bilinearly at the photo's own resolution."""
    out = photo.copy()
    if not (mask > 0).any():
        return out
    size = warped.shape[0]
    ys, xs, grid = _crop_grid(mask, matrix, size)
    step = _sample(flow, grid, "bilinear") * (size / 2)  # [N, 2] crop pixels
    moved_at = np.stack([xs, ys], 1) + step.astype(np.float64) @ np.linalg.inv(matrix[:, :2]).T
    height, width = photo.shape[:2]
    photo_grid = torch.from_numpy((2 * moved_at + 1) / np.array([width, height]) - 1).float().view(1, 1, -1, 2)
    moved = _sample(photo.astype(np.float32), photo_grid, "bilinear", "border")
    change = moved - photo[ys, xs].astype(np.float32) + _sample(edited - warped, grid)
    blended = photo[ys, xs].astype(np.float32) + mask[ys, xs, None] * change
    out[ys, xs] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out
