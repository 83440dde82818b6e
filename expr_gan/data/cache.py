"""A cache of decoded datasets: built once per settings, written atomically, verified on load."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable

import torch

from expr_gan.data.faceset import FaceSet
from expr_gan.io import atomic_write, load_cache_file
from expr_gan.timing import timed

log = logging.getLogger(__name__)
CACHE_VERSION = 2  # bump when the stored layout or a renderer changes


def cache_key(settings: dict) -> str:
    """A short stable hash of the settings that determine the decoded pixels."""
    blob = json.dumps({"version": CACHE_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _checksum(images: torch.Tensor) -> str:
    return hashlib.sha1(images.contiguous().numpy().tobytes()).hexdigest()


def load_or_build(cache_dir: str | Path | None, name: str, settings: dict, build: Callable[[], FaceSet]) -> FaceSet:
    """Return the cached FaceSet for `settings`, building and storing it if absent or corrupt.

    With `cache_dir=None` nothing is stored. A file that fails to load, lacks a field or whose
    checksum does not match is rebuilt with a warning naming it; any other error is raised (a bug
    must not become a silent rebuild on every run).
    """
    with timed(f"data/{name}") as phase:
        return _load_or_build(cache_dir, name, settings, build, phase)


def _load_or_build(cache_dir, name: str, settings: dict, build: Callable[[], FaceSet], phase: dict) -> FaceSet:
    if cache_dir is None:
        phase["cached"] = False
        return build()
    path = Path(cache_dir) / f"{name}-{cache_key(settings)}.pt"
    stored = load_cache_file(path, {"images", "identity", "expression", "eyes", "expression_names", "checksum"}) \
        if path.exists() else None
    if stored is not None:
        faces = FaceSet.from_tensors(stored)
        if stored["checksum"] == _checksum(faces.images):
            phase.update(cached=True, images=len(faces))
            return faces
        log.warning("cache file %s is corrupt (checksum mismatch); rebuilding it", path)
    faces = build()  # rendering the embedded faces, or decoding a dataset's files
    phase.update(cached=False, images=len(faces))
    payload = {**faces.to_tensors(), "checksum": _checksum(faces.images), "settings": json.dumps(settings, default=str)}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    log.info("cached %d images in %s", len(faces), path)
    return faces
