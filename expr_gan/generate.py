"""`python -m expr_gan.generate ckpt=PATH input=IMAGE_OR_DIR`: edit new photos (the report's Figure 12).

Each input is cropped to the face (OpenCV's bundled Haar cascade when the optional `face` extra is
installed; otherwise, or when no face is found, a centre crop with a warning), converted to the
model's channels and size, and translated to every expression, or to one soft target:
`target=laughing strength=0.5` (a blend of the source's expression-free one-hot and the target) or
`'mix={laughing: 0.5, surprise: 0.5}'`. Writes one grid PNG per input into the run directory `out`.
Options: conf/generate.yaml.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def find_face(image, detector: str = "auto") -> tuple[tuple[int, int, int, int], str]:
    """(left, top, right, bottom) of a square face crop, and how it was found ('haar' or 'center')."""
    w, h = image.size
    if detector in ("auto", "haar"):
        try:
            import cv2
            import numpy as np
        except ImportError:
            if detector == "haar":
                raise ValueError("detector=haar needs OpenCV: pip install 'expr_gan[face]'") from None
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
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            image = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"input {path} is not a readable image: {err}") from None
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
            raise ValueError(f"unknown expression {name!r}: expected one of {', '.join(names)}")
        return names.index(name)

    if opts.get("mix") is not None and opts.get("target") is not None:
        raise ValueError("target= and mix= exclude each other: one soft target at a time")
    if opts.get("mix") is not None:
        if not hasattr(opts["mix"], "items"):
            raise ValueError(f"mix={opts['mix']!r}: expected a mapping, e.g. 'mix={{laughing: 0.5, surprise: 0.5}}'")
        vec, parts = torch.zeros(e), []
        for name, weight in opts["mix"].items():
            vec[index(name)] += float(weight)
            parts.append(f"{name}:{float(weight):g}")
        return vec[None], ["mix " + ",".join(parts)]
    if opts.get("target") is not None:
        strength = float(opts.get("strength", 1.0))
        if not 0 <= strength <= 1:
            raise ValueError(f"strength={strength}: expected a number in [0, 1]")
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

    from expr_gan.app import command_config, save_command_config
    from expr_gan.checkpoint import build_module, checkpoint_config, load_checkpoint, pixels_from
    from expr_gan.visual import save_png

    opts = command_config("generate", argv, __doc__)
    if opts is None:
        return 0
    ckpt = load_checkpoint(opts.ckpt)
    cfg = checkpoint_config(ckpt)
    module = build_module(ckpt)
    if not hasattr(module, "translate"):
        raise ValueError(f"checkpoint {opts.ckpt} holds {cfg.model._target_}, which cannot translate images")
    pixels, size, channels = pixels_from(ckpt), int(cfg.data.size), int(cfg.data.channels)
    names = _names_from(cfg)
    onehots, labels = parse_targets(opts, names)
    source = Path(opts.input)
    if source.is_dir():
        inputs = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not inputs:
            raise ValueError(f"input {source} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    elif source.is_file():
        inputs = [source]
    else:
        raise ValueError(f"input {source} does not exist")
    if opts.detector not in ("auto", "haar", "center"):
        raise ValueError(f"detector={opts.detector!r}: expected auto, haar or center")
    out = Path(opts.out)
    save_command_config(out, "generate", opts)
    for path in inputs:
        image, how = load_input(path, size, channels, opts.detector)
        with torch.no_grad():
            x = pixels.encode(image[None]).repeat(len(onehots), 1, 1, 1)
            edited = pixels.decode(module.translate(x, onehots))
        grid = make_grid(torch.cat([image[None].float() / 255, edited]), nrow=len(onehots) + 1, padding=2, pad_value=1.0)
        written = save_png(grid, out / f"{path.stem}_grid.png")
        print(f"{path}: face by {how}; wrote {written} (input, then {', '.join(labels)})")
    return 0


def _names_from(cfg) -> list[str]:
    """The expression vocabulary of the checkpoint's data (a configured subset, or the source's own)."""
    from hydra.utils import get_class

    configured = cfg.data.source.get("expressions")
    return list(configured) if configured else list(get_class(cfg.data.source._target_).expression_names)


if __name__ == "__main__":
    from expr_gan.cli import run

    sys.exit(run(main))
