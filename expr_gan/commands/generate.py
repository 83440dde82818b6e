"""`python -m expr_gan.generate ckpt=PATH input=IMAGE_OR_DIR`: edit new photos (the report's Figure 12).

A photo in, the photo out (`detector=landmarks`, the default `auto` when the `face` extra is
installed): every face dlib finds is aligned by its eyes to the embedded faces' template, edited
to each target and pasted back into the full-resolution photo (expr_gan/photo/): one
`<photo>_<target>.png` per target, the photo's size, identical to it outside each face's grown
hull, and `<photo>_faces.png`, per face its aligned crop and the model's outputs. A photo without a
face, or whose faces are all smaller than the model needs, is reported and skipped (`auto` then
falls back to the grid below). Photos are opened upright (EXIF), as 8-bit RGB.

`detector=haar|center` (and `auto` without dlib or without a face): the face cropped by OpenCV's Haar
cascade or the centre, resized to the model's size, and one grid PNG per input, `<photo>_grid.png`.

Targets: every expression, or one soft target: `target=laughing strength=0.5` (a blend of the
source's expression-free one-hot and the target) or `'mix={laughing: 0.5, surprise: 0.5}'`.
Options: conf/generate.yaml.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

from expr_gan.errors import UsageError

DETECTORS = ("auto", "landmarks", "haar", "center")


def find_face(image, detector: str = "auto") -> tuple[tuple[int, int, int, int], str]:
    """(left, top, right, bottom) of a square face crop, and how it was found ('haar' or 'center')."""
    w, h = image.size
    if detector in ("auto", "haar"):
        try:
            import cv2
            import numpy as np
        except ImportError:
            if detector == "haar":
                raise UsageError("detector=haar needs OpenCV: pip install 'expr_gan[face]'") from None
        else:
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            gray = np.asarray(image.convert("L"))
            faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
            if len(faces):
                x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3])
                cx, cy, side = x + fw / 2, y + fh / 2, max(fw, fh) * 1.6  # include hair and chin, like the training crops
                return _square(cx, cy, side, w, h), "haar"
    side = min(w, h)
    return _square(w / 2, h / 2, side, w, h), "center"


def _square(cx, cy, side, w, h):
    side = min(side, w, h)
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    return left, top, left + int(side), top + int(side)


def load_input(path: Path, size: int, channels: int, detector: str):
    """Open, crop to the face and resize one image; returns (uint8 tensor [C, S, S], how it was cropped)."""
    import numpy as np
    import torch
    from PIL import Image

    from expr_gan.photo.load import open_photo

    image = open_photo(path)
    box, how = find_face(image, detector)
    if how == "center":
        warnings.warn(f"{path}: no face found; using a centre crop (install expr_gan[face] for detection)", stacklevel=2)
    crop = image.crop(box).resize((size, size), Image.Resampling.LANCZOS)
    if channels == 1:
        crop = crop.convert("L")
    array = np.asarray(crop)
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(array.copy()).permute(2, 0, 1), how


def parse_targets(opts, names: list[str]):
    """The target one-hots (rows) and their labels: every expression, one soft target, or a mix."""
    import torch

    e = len(names)

    def index(name):
        if name not in names:
            raise UsageError(f"unknown expression {name!r}: expected one of {', '.join(names)}")
        return names.index(name)

    if opts.get("mix") is not None and opts.get("target") is not None:
        raise UsageError("target= and mix= exclude each other: one soft target at a time")
    if opts.get("mix") is not None:
        if not hasattr(opts["mix"], "items"):
            raise UsageError(f"mix={opts['mix']!r}: expected a mapping, e.g. 'mix={{laughing: 0.5, surprise: 0.5}}'")
        vec, parts = torch.zeros(e), []
        for name, weight in opts["mix"].items():
            vec[index(name)] += float(weight)
            parts.append(f"{name}:{float(weight):g}")
        return vec[None], ["mix " + ",".join(parts)]
    if opts.get("target") is not None:
        strength = float(opts.get("strength", 1.0))
        if not 0 <= strength <= 1:
            raise UsageError(f"strength={strength}: expected a number in [0, 1]")
        vec = torch.zeros(e)
        neutral = names.index("neutral") if "neutral" in names else None
        vec[index(opts["target"])] = strength
        if neutral is not None:
            vec[neutral] += 1 - strength  # a partial expression: the rest of the mass stays neutral
        return vec[None], [f"{opts['target']} x{strength:g}"]
    return torch.eye(e), list(names)


def main(argv: list[str]) -> int:
    """Parse arguments, translate every input, write grids."""
    import torch
    from torchvision.utils import make_grid

    from expr_gan.commands.command import command_config, save_command_config
    from expr_gan.checkpoint import build_module, checkpoint_config, load_checkpoint, pixels_from
    from expr_gan.config import expression_names
    from expr_gan.photo.load import photo_paths
    from expr_gan.photo.landmarks import landmarks_available
    from expr_gan.visual import save_png

    opts = command_config("generate", argv, __doc__)
    if opts is None:
        return 0
    ckpt = load_checkpoint(opts.ckpt)
    cfg = checkpoint_config(ckpt)
    module = build_module(ckpt)
    if not hasattr(module, "translate"):
        raise UsageError(f"checkpoint {opts.ckpt} holds {cfg.model._target_}, which cannot translate images")
    pixels, size, channels = pixels_from(ckpt), int(cfg.data.size), int(cfg.data.channels)
    names = expression_names(cfg)
    onehots, labels = parse_targets(opts, names)
    inputs = photo_paths(opts.input)
    if opts.detector not in DETECTORS:
        raise UsageError(f"detector={opts.detector!r}: expected one of {', '.join(DETECTORS)}")
    by_landmarks = opts.detector == "landmarks" or (opts.detector == "auto" and landmarks_available())
    scores = [] if opts.score else None  # every (photo, face, target) the referees judged
    out = Path(opts.out)
    save_command_config(out, "generate", opts)
    for path in inputs:
        if by_landmarks and (_photo_out(path, module, pixels, onehots, labels, size, channels, out, scores)
                             or opts.detector == "landmarks"):
            continue
        image, how = load_input(path, size, channels, "auto" if opts.detector == "landmarks" else opts.detector)
        with torch.no_grad():
            x = pixels.encode(image[None]).repeat(len(onehots), 1, 1, 1)
            edited = pixels.decode(module.translate(x, onehots))
        grid = make_grid(torch.cat([image[None].float() / 255, edited]), nrow=len(onehots) + 1, padding=2, pad_value=1.0)
        written = save_png(grid, out / f"{path.stem}_grid.png")
        print(f"{path}: face by {how}; wrote {written} (input, then {', '.join(labels)})")
    if scores:
        from expr_gan.io import atomic_write_text
        from expr_gan.photo.referees import summary

        table = summary(scores, labels)
        print("\n" + table + f"\nwrote {atomic_write_text(out / 'scores.md', table)}")
    return 0


def _photo_out(path: Path, module, pixels, onehots, labels: list[str], size: int, channels: int, out: Path,
               scores: list | None) -> bool:
    """Edit every face dlib finds in the photo at `path` and write the edited photos (and, collecting
    into `scores`, the photo referees' verdicts); False (after saying why) when it has no face the model can edit."""
    import re
    import time

    import numpy as np
    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    from expr_gan.io import atomic_write
    from expr_gan.photo.edit import edit_photo, minimum_eye_distance, photo_translate
    from expr_gan.photo.landmarks import find_faces, load_models
    from expr_gan.photo.load import open_photo
    from expr_gan.visual import save_png

    photo = open_photo(path)
    load_models()  # once per process (about 0.7 s), outside the time reported per photo
    started = time.perf_counter()
    faces = find_faces(np.asarray(photo))
    found = time.perf_counter()
    if not faces:
        print(f"{path}: no face found by landmarks ({photo.width}x{photo.height} px)", file=sys.stderr)
        return False
    result = edit_photo(photo, faces, photo_translate(module), pixels, onehots, size, channels)
    edited = time.perf_counter()
    for eyes in result.too_small:
        print(f"{path}: a face with eyes {eyes:.0f} px apart is left as it is: this {size} px model needs "
              f"at least {minimum_eye_distance(size):.0f} px", file=sys.stderr)
    if not result.crops:
        return False
    written = []
    for label, array in zip(labels, result.photos):
        name = re.sub(r"[^A-Za-z0-9.]+", "_", label).strip("_")
        image = Image.fromarray(array)
        written.append(atomic_write(out / f"{path.stem}_{name}.png", lambda tmp: image.save(tmp, format="PNG")))
    strip = make_grid(torch.cat(result.crops).float() / 255, nrow=len(labels) + 1, padding=2, pad_value=1.0)
    written.append(save_png(strip, out / f"{path.stem}_faces.png"))
    if scores is not None:
        written.append(_score(path, np.asarray(photo), result, labels, out, scores))
    print(f"{path}: {len(result.crops)} face(s) by landmarks, pasted back (finding {found - started:.2f} s, "
          f"editing and pasting {edited - found:.2f} s); wrote {', '.join(str(w) for w in written)}")
    return True


def _score(path: Path, rgb, result, labels: list[str], out: Path, scores: list) -> Path:
    """Judge every edited face with the photo referees; print a line per face and target, write JSON."""
    import json

    from expr_gan.io import atomic_write_text
    from expr_gan.photo.emotion import classifier_available
    from expr_gan.photo.identity import embed
    from expr_gan.photo.referees import score_edit

    emotion = classifier_available()
    rows = []
    for k, face in enumerate(result.faces):
        source = embed(rgb, face)  # once per face, for all of its targets
        for label, edited in zip(labels, result.photos):
            row = {"photo": path.name, "face": k, **score_edit(face, source, edited, label, emotion=emotion)}
            rows.append(row)
            geometry = "" if row.get("measure") is None else (
                f", {row['measure']} {row['before']:.3f} -> {row['after']:.3f}, moved: {row['moved']}")
            identity = "-" if row["identity"] is None else f"{row['identity']:.2f}"
            reading = f", classifier reads {row['emotion']}" if row.get("emotion") else ""
            print(f"  face {k} {label}: face found {row['face_found']}, identity distance {identity}{geometry}{reading}")
    scores.extend(rows)
    return atomic_write_text(out / f"{path.stem}_scores.json", json.dumps(rows, indent=1))


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
