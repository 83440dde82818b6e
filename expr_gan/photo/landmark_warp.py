"""The non-learned reference for photo edits: move the landmarks, warp the photo's own pixels.

Per target, a fixed displacement of some of the 68 landmarks in the face's frame (`geometry.face_frame`:
units of the outer eye corners' distance, y down), interpolated over the face by a thin-plate spline
that is held at zero on a ring around the face (the face's outline grown by RING eye distances), and
applied by resampling the photo (bilinear). Pixels outside the ring are the photo's, bit for bit.
A thin-plate spline rather than a piecewise-affine mesh: no triangulation library, and no creases
along triangle edges. What a warp cannot do is make texture: the inside of an opened mouth, a lid
over the eye, teeth.

How far each target moves was fixed from the thresholds alone (`geometry.THRESHOLDS`), before any
warped photo was measured: twice its measure's threshold, so that landmarks found on the warped
photo that follow half of the motion still pass.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter

from expr_gan.errors import UsageError
from expr_gan.photo.geometry import THRESHOLDS, face_frame
from expr_gan.photo.landmarks import eye_distance
from expr_gan.photo.paste import face_outline

RING = 0.6       # the ring where the warp is zero: the face's outline grown by this many eye distances
FEATHER = 0.2    # the warp fades to zero over this many eye distances inside the ring

MOUTH_LEFT, MOUTH_RIGHT = (48, 49, 59, 60), (54, 53, 55, 64)  # corner, then its neighbours (half the motion)
LOWER_LIP, LOWER_LIP_SIDES = (56, 57, 58, 65, 66, 67), (55, 59)
CHIN, CHIN_SIDES = (6, 7, 8, 9, 10), (5, 11)
BROWS, INNER_BROWS = tuple(range(17, 27)), (20, 21, 22, 23)
UPPER_LIDS, LOWER_LIDS = (37, 38, 43, 44), (41, 40, 47, 46)  # pairs: each upper lid point above its lower one


def _jaw_drop(d: np.ndarray, amount: float) -> None:
    """Lower lip and chin down by `amount` (their sides by 0.6 of it): the mouth opens."""
    for group, share in ((LOWER_LIP, 1.0), (LOWER_LIP_SIDES, 0.6), (CHIN, 1.0), (CHIN_SIDES, 0.6)):
        d[list(group), 1] += share * amount


def displacements(frame_points: np.ndarray, target: str) -> np.ndarray:
    """float64 [68, 2]: each landmark's motion for `target`, in the face's frame (`face_frame`'s points)."""
    t = THRESHOLDS
    d = np.zeros((68, 2))
    if target == "laughing":  # corners out and up: a wider mouth, lifted corners
        for corner, side in ((MOUTH_LEFT, -1), (MOUTH_RIGHT, +1)):
            for k, p in enumerate(corner):
                share = 1.0 if k == 0 else 0.5
                d[p] += share * np.array([side * t["mouth_width"], -2 * t["corner_lift"]])
    elif target == "frowning":  # brows down and together, corners down
        d[list(BROWS), 1] += 2 * t["brow_height"]
        d[list(INNER_BROWS[:2]), 0] += t["brow_height"]
        d[list(INNER_BROWS[2:]), 0] -= t["brow_height"]
        d[[MOUTH_LEFT[0], MOUTH_RIGHT[0]], 1] += t["corner_lift"]
    elif target == "surprise":  # brows up, lids wider, the jaw dropped
        d[list(UPPER_LIDS), 1] -= t["eye_opening"]
        # brow_height is measured from the eyes' mean, which the raised lids lift too
        d[list(BROWS), 1] -= 2 * t["brow_height"] + t["eye_opening"] * len(UPPER_LIDS) / 12
        _jaw_drop(d, 2 * t["lip_gap"])
    elif target == "mouth_open":
        _jaw_drop(d, 2 * t["lip_gap"])
    elif target == "eyes_closed":  # the lids meet: each closes 45 % of its own gap (not 50: no two points coincide)
        gaps = frame_points[list(LOWER_LIDS), 1] - frame_points[list(UPPER_LIDS), 1]
        d[list(UPPER_LIDS), 1] += 0.45 * gaps
        d[list(LOWER_LIDS), 1] -= 0.45 * gaps
    elif target != "neutral":
        raise UsageError(f"landmark_warp: no displacement for target {target!r}; "
                         "expected neutral, laughing, frowning, surprise, eyes_closed or mouth_open")
    return d


def _tps_kernel(r: np.ndarray) -> np.ndarray:
    """The thin-plate spline's radial function r^2 log r (0 at r = 0)."""
    return np.where(r > 0, r * r * np.log(np.maximum(r, 1e-12)), 0.0)


def thin_plate(centres: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The thin-plate spline through `values` [N, 2] at `centres` [N, 2], evaluated at `queries` [M, 2]."""
    n = len(centres)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _tps_kernel(np.linalg.norm(centres[:, None] - centres[None], axis=-1))
    system[:n, :n] += 1e-8 * np.eye(n)  # keeps the solve well posed when two points nearly coincide
    system[:n, n] = 1.0
    system[:n, n + 1:] = centres
    system[n, :n] = 1.0
    system[n + 1:, :n] = centres.T
    coeffs = np.linalg.solve(system, np.vstack([values, np.zeros((3, 2))]))
    basis = _tps_kernel(np.linalg.norm(queries[:, None] - centres[None], axis=-1))
    return basis @ coeffs[:n] + coeffs[n] + queries @ coeffs[n + 1:]


def warp_face(rgb: np.ndarray, points: np.ndarray, target: str) -> np.ndarray:
    """The photo (uint8 [H, W, 3]) with one face (68 `points`) warped to `target`; a copy for neutral."""
    points = np.asarray(points, dtype=np.float64)
    frame = face_frame(points)
    motion = displacements(frame, target)
    out = rgb.copy()
    if not motion.any():
        return out
    axis = points[45] - points[36]
    scale = float(np.hypot(*axis))
    cos, sin = axis / scale
    to_photo = scale * np.array([[cos, -sin], [sin, cos]])  # the face frame's axes in photo pixels
    moved = points + motion @ to_photo.T
    eyes = eye_distance(points)
    ring = face_outline(points, RING)
    # Backward map: at each moved landmark, where its pixel came from; zero motion on the ring.
    centres = np.vstack([moved, ring]) / eyes
    values = np.vstack([points - moved, np.zeros_like(ring)]) / eyes
    h, w = rgb.shape[:2]
    outer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(outer).polygon([tuple(p) for p in ring], fill=255)
    inner = Image.new("L", (w, h), 0)
    ImageDraw.Draw(inner).polygon([tuple(p) for p in face_outline(points, RING - FEATHER)], fill=255)
    fade = np.asarray(inner.filter(ImageFilter.GaussianBlur(max(FEATHER * eyes / 2, 0.5))), np.float64) / 255
    ys, xs = np.nonzero(np.asarray(outer) > 0)
    if len(ys) == 0:
        return out
    pixels = np.stack([xs, ys], 1).astype(np.float64)
    offset = thin_plate(centres, values, pixels / eyes) * eyes * fade[ys, xs, None]
    source = pixels + offset
    grid = torch.from_numpy((2 * source + 1) / np.array([w, h]) - 1).float().view(1, 1, -1, 2)
    image = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    sampled = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0].T
    out[ys, xs] = np.clip(np.rint(sampled.numpy()), 0, 255).astype(np.uint8)
    return out


def warp_photo(rgb: np.ndarray, faces, target: str) -> np.ndarray:
    """Every face of `faces` (`landmarks.Face`) in the photo warped to `target`, one after another."""
    out = np.asarray(rgb)
    for face in faces:
        out = warp_face(out, face.points, target)
    return out
