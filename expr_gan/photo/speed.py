"""How long the photo path takes on one photo: finding the faces and their landmarks, then the
model's edit (align, translate, paste back) beside the landmark warp, to every target.

Part of `python -m expr_gan.bench` (`photo=true`). The model is the default experiment's network
(`experiment=ours_cpu`, 64 px) with its initial weights: its speed does not depend on what it learned.
Each phase is the median of `repeats` runs after one warm-up run (which also loads dlib's models).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from expr_gan.errors import DataError


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: models loaded, kernels chosen
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def default_model(experiment: str = "ours_cpu"):
    """(translate, pixels, expression names, size, channels) of an experiment's untrained model."""
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from expr_gan.config import config_dir, expression_names
    from expr_gan.photo.edit import photo_translate

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}", "callbacks=none", "logger=none"])
    torch.manual_seed(0)
    module = instantiate(cfg.model).eval()
    names = expression_names(cfg)
    return photo_translate(module), instantiate(cfg.pixels), names, int(cfg.data.size), int(cfg.data.channels)


def photo_path_seconds(path: Path, repeats: int = 5, experiment: str = "ours_cpu") -> dict:
    """Seconds per photo: open, find faces (HOG + 68 points), the model's edit to every target
    (align, translate, paste), the landmark warp to every target; their ratio model/warp."""
    import numpy as np
    import torch

    from expr_gan.photo.edit import edit_photo
    from expr_gan.photo.landmark_warp import warp_photo
    from expr_gan.photo.landmarks import find_faces
    from expr_gan.photo.load import open_photo

    translate, pixels, names, size, channels = default_model(experiment)
    photo = open_photo(path)
    rgb = np.asarray(photo)
    faces = find_faces(rgb)
    if not faces:
        raise DataError(f"{path}: no face found, so no photo path to time")
    onehots = torch.eye(len(names))
    opened = _median_seconds(lambda: open_photo(path), repeats)
    detect = _median_seconds(lambda: find_faces(rgb), repeats)
    model = _median_seconds(lambda: edit_photo(photo, faces, translate, pixels, onehots, size, channels), repeats)
    warp = _median_seconds(lambda: [warp_photo(rgb, faces, t) for t in names], repeats)
    return {"photo": path.name, "width": photo.width, "height": photo.height, "faces": len(faces),
            "targets": len(names), "model": experiment, "model_size": size, "repeats": repeats,
            "open_s": opened, "detect_s": detect, "model_edit_s": model, "warp_s": warp,
            "model_per_target_s": model / len(names), "warp_per_target_s": warp / len(names),
            "ratio_model_warp": model / warp, "photo_s": opened + detect + model}


def markdown(record: dict) -> str:
    """The photo path's timings as a markdown table."""
    r = record
    return (f"photo path: {r['photo']} ({r['width']}x{r['height']} px, {r['faces']} face), {r['model']} at "
            f"{r['model_size']} px, {r['targets']} targets, medians of {r['repeats']}\n"
            "| phase | seconds | per target |\n|---|---:|---:|\n"
            f"| open | {r['open_s']:.3f} | |\n| find faces + 68 points | {r['detect_s']:.3f} | |\n"
            f"| model: align, edit, paste | {r['model_edit_s']:.3f} | {r['model_per_target_s']:.3f} |\n"
            f"| landmark warp | {r['warp_s']:.3f} | {r['warp_per_target_s']:.3f} |\n"
            f"| photo in, every target out (model) | {r['photo_s']:.3f} | |\n"
            f"model/warp: {r['ratio_model_warp']:.2f}")
