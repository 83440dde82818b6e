"""The embedded paired-face dataset; `expr-gan render out=DIR` (expr_gan/commands/render.py) exports it.

Every person appears once per expression (and per capture); all pixels are a pure function of the
settings, so the decoded tensors are cached and shared by every run with the same settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from expr_gan.errors import UsageError
from expr_gan.data.cache import load_or_build
from expr_gan.data.face_points import POINT_NAMES, people_points
from expr_gan.data.faces import ALIGNMENTS, EXPRESSIONS, render_people
from expr_gan.data.faceset import FaceSet
from expr_gan.visual import contact_sheet, save_png


class SyntheticFaces:
    """Source of procedural faces: `num_identities` people x 6 expressions x `captures` photos."""

    expression_names = EXPRESSIONS

    def __init__(self, num_identities: int = 300, size: int = 128, channels: int = 3,
                 alignment: str = "independent", captures: int = 1, seed: int = 0):
        if not 32 <= size <= 256:
            raise UsageError(f"data.size={size}: the embedded dataset renders 32 to 256 px")
        if channels not in (1, 3):
            raise UsageError(f"data.channels={channels}: expected 1 or 3")
        if alignment not in ALIGNMENTS:
            raise UsageError(f"data.source.alignment={alignment!r}: expected one of {', '.join(ALIGNMENTS)}")
        if num_identities < 1 or captures < 1:
            raise UsageError("data.source.num_identities and captures must be >= 1")
        self.num_identities, self.size, self.channels = num_identities, size, channels
        self.alignment, self.captures, self.seed = alignment, captures, seed

    def settings(self) -> dict:
        """Everything that determines the pixels (the cache key)."""
        return {"source": "synthetic", "num_identities": self.num_identities, "size": self.size,
                "channels": self.channels, "alignment": self.alignment, "captures": self.captures,
                "seed": self.seed}

    def render(self, workers: int | None = None) -> FaceSet:
        """Render every image (no cache). Each face is a pure function of its integers, so people are
        rendered in `workers` processes (default: one per CPU core) and gathered in order: the same
        pixels as one process, in about 1/workers of the time."""
        chunks = _chunks(self.num_identities, _render_workers(self.num_identities) if workers is None else workers)
        jobs = [(self.seed, chunk, self.captures, self.alignment, self.size, self.channels) for chunk in chunks]
        if len(jobs) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawned, not forked: a fork of a process running torch's thread pool can deadlock, and
            # the workers import only the renderer (numpy, Pillow)
            with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
                parts = list(pool.map(render_people, *zip(*jobs)))
        else:
            parts = [render_people(*job) for job in jobs]
        images, eyes, identity, expression = (sum((part[i] for part in parts), []) for i in range(4))
        return FaceSet(images=torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
                       identity=torch.tensor(identity), expression=torch.tensor(expression),
                       expression_names=EXPRESSIONS, eyes=torch.from_numpy(np.stack(eyes)),
                       meta={"identity_names": [f"synth{p:04d}" for p in range(self.num_identities)]})

    def load(self, cache_dir: str | Path | None = None) -> FaceSet:
        """The decoded dataset, from the cache when it was rendered before."""
        return load_or_build(cache_dir, "synthetic", self.settings(), self.render)

    def points(self) -> torch.Tensor:
        """float32 [N, K, 2]: the named points of every image (data/face_points.py), in the rows' order.
        Computed, not drawn (0.18 s for 300 people), so not cached with the pixels, and only for a model
        that reads them (the datamodule asks)."""
        return torch.from_numpy(people_points(self.seed, range(self.num_identities), self.captures,
                                              self.alignment, self.size))


def _render_workers(people: int) -> int:
    """Processes for rendering: one per CPU core the process may use (at most 8), none for a handful
    of people (starting a process costs more than it saves)."""
    import os

    if people < 24:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


def _chunks(people: int, workers: int) -> list[range]:
    """`people` split into `workers` contiguous ranges (fewer when there are fewer people)."""
    workers = max(1, min(workers, people))
    bounds = [round(i * people / workers) for i in range(workers + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def export(out: str | Path, source: SyntheticFaces, ext: str = "png") -> Path:
    """Write `out/<identity>/<expression>.<ext>` (capture index appended when several), eyes.csv,
    points.csv (every named point of data/face_points.py, x and y in pixels) and contact_sheet.png."""
    out = Path(out)
    faces = source.render()
    names = faces.meta["identity_names"]
    seen: dict = {}
    rows = ["file,right_eye_x,right_eye_y,left_eye_x,left_eye_y"]
    points, point_rows = source.points(), ["file," + ",".join(f"{n}_{c}" for n in POINT_NAMES for c in "xy")]
    for i in range(len(faces)):
        person, e = int(faces.identity[i]), int(faces.expression[i])
        k = seen.get((person, e), 0)
        seen[(person, e)] = k + 1
        stem = faces.expression_names[e] + (f"_{k}" if source.captures > 1 else "")
        rel = f"{names[person]}/{stem}.{ext}"
        save_png(faces.images[i], out / rel) if ext == "png" else _save_other(faces.images[i], out / rel)
        rows.append(rel + "," + ",".join(f"{v:.2f}" for v in faces.eyes[i].flatten().tolist()))
        point_rows.append(rel + "," + ",".join(f"{v:.2f}" for v in points[i].flatten().tolist()))
    (out / "eyes.csv").write_text("\n".join(rows) + "\n")
    (out / "points.csv").write_text("\n".join(point_rows) + "\n")
    save_png(contact_sheet(faces), out / "contact_sheet.png")
    return out


def _save_other(image: torch.Tensor, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    array = image.permute(1, 2, 0).numpy()
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(path)


if __name__ == "__main__":  # its command's old name: say the new one rather than do nothing
    sys.exit(f"error: {__spec__.name} is a library module; its command is `expr-gan render` "
             f"(python -m expr_gan.commands.render)")
