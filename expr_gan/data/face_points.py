"""Where the renderer draws each moving part of a face: named points, the same names for every expression.

The renderer (data/faces.py) knows the geometry it draws, so it can say where a mouth corner, a lip,
a brow or a lid is in every image. One point has one meaning across expressions, so a pair (source,
target) of one person gives, point by point, how the face moved: what a warping generator's flow is
supervised with (losses/flow_terms.py). Static points (eye centres, nose tip) say where nothing moves.

Points are computed from the same integers as the pixels, without drawing: cheap enough to compute
on every load instead of caching them.
"""
from __future__ import annotations

import math

import numpy as np

from expr_gan.data.faces import (CANVAS, EXPRESSION_PARTS, EXPRESSIONS, Capture, Identity, pose_matrix,
                                 sample_capture, sample_identity)

# "right" is the person's right (image left), as for the eyes
POINT_NAMES = ("right_eye", "left_eye", "right_upper_lid", "left_upper_lid", "right_lower_lid", "left_lower_lid",
               "right_brow_inner", "right_brow_mid", "right_brow_outer", "left_brow_inner", "left_brow_mid",
               "left_brow_outer", "right_mouth_corner", "left_mouth_corner", "upper_lip", "lower_lip", "nose_tip")


def _lids(ident: Identity, state: str) -> list[tuple[float, float]]:
    """Upper lids (right, left) then lower lids, where _draw_eyes draws them."""
    r, out = ident.eye_r, []
    for which in ("upper", "lower"):
        for side in (-1, 1):
            ex, ey = 0.5 + side * ident.eye_dx, ident.eye_y
            if state == "closed":  # the lid line: the bottom of the arc drawn around ey - 0.3 r
                y = ey + 0.5 * r
            elif state == "squint":  # laughing: the top of the upward arc around ey + 0.5 r
                y = ey - 0.4 * r
            else:
                half = r * 0.75 * (1.35 if state == "wide" else 1.0)
                y = ey - half if which == "upper" else ey + half
            out.append((ex, y))
    return out


def _brows(ident: Identity, lift: float, tilt: float) -> list[tuple[float, float]]:
    """Inner, mid and outer vertex of the right brow, then of the left one (the polyline _draw_brows draws)."""
    r, out = ident.eye_r, []
    for side in (-1, 1):
        ex, ey = 0.5 + side * ident.eye_dx, ident.eye_y - r * 1.9 - lift
        inner, outer = (ex - side * r * 1.3, ey + tilt), (ex + side * r * 1.4, ey + abs(tilt) * 0.2)
        mid = ((inner[0] + outer[0]) / 2, min(inner[1], outer[1]) - r * 0.35 - lift * 0.5)
        out += [inner, mid, outer]
    return out


def _mouth(ident: Identity, shape: str) -> list[tuple[float, float]]:
    """Right and left corner, upper and lower lip at the middle, for each shape _draw_mouth draws."""
    w, y = ident.mouth_w, ident.mouth_y
    if shape == "neutral":  # the lower part of an ellipse around y - 0.02, from 30 to 150 degrees
        dx, corner_y, upper, lower = w * math.cos(math.radians(30)), y - 0.02 + 0.03 * 0.5, y + 0.01, y + 0.01
    elif shape == "frown":  # the upper part of an ellipse around y + 0.035, from 200 to 340 degrees
        dx, corner_y = 0.9 * w * math.cos(math.radians(20)), y + 0.035 - 0.04 * math.sin(math.radians(20))
        upper = lower = y - 0.005
    elif shape == "laugh":  # a half ellipse hanging from its chord at y - 0.01
        dx, corner_y, upper, lower = 1.25 * w, y - 0.01, y - 0.01, y + 0.065
    elif shape == "o":
        dx, corner_y, upper, lower = 0.38 * w, y + 0.01, y + 0.01 - 0.045, y + 0.01 + 0.045
    elif shape == "open":
        dx, corner_y, upper, lower = 0.8 * w, y + 0.01, y + 0.01 - 0.042, y + 0.01 + 0.042
    else:
        raise ValueError(f"mouth shape {shape!r}: not one the renderer draws")
    return [(0.5 - dx, corner_y), (0.5 + dx, corner_y), (0.5, upper), (0.5, lower)]


def face_points(ident: Identity, expression: str, capture: Capture, size: int) -> np.ndarray:
    """float32 [len(POINT_NAMES), 2]: the named points (x, y) of the image render_face draws for these
    arguments, in its pixels (continuous coordinates: pixel i spans [i, i + 1], as the eyes)."""
    if expression not in EXPRESSION_PARTS:
        raise ValueError(f"expression={expression!r}: expected one of {', '.join(EXPRESSIONS)}")
    eyes, lift, tilt, _, mouth = EXPRESSION_PARTS[expression]
    canvas = np.array([(0.5 - ident.eye_dx, ident.eye_y), (0.5 + ident.eye_dx, ident.eye_y),
                       *_lids(ident, eyes), *_brows(ident, lift, tilt), *_mouth(ident, mouth),
                       (0.5, ident.eye_y + 0.04 + ident.nose_len)]) * CANVAS
    forward = pose_matrix(capture)
    return ((canvas @ forward[:, :2].T + forward[:, 2]) * (size / CANVAS)).astype(np.float32)


def people_points(seed: int, people: range, captures: int, alignment: str, size: int) -> np.ndarray:
    """float32 [N, K, 2]: the points of every image render_people draws for these arguments, in its order."""
    rows = []
    for person in people:
        ident = sample_identity(seed, person)
        for capture in range(captures):
            for e, name in enumerate(EXPRESSIONS):
                rows.append(face_points(ident, name, sample_capture(seed, person, e, capture, alignment), size))
    return np.stack(rows)
