"""Opening a photograph the way a person sees it: upright, RGB, 8 bits.

EXIF orientation is applied (a phone's portrait shot stays upright); greyscale, palette, CMYK and
alpha images become RGB (alpha is dropped: the photo's own colours are kept); 16- and 32-bit
greyscale is scaled to 8 bits by its own range. The edited photo is written in that form, at the
size the viewer shows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


def open_photo(path: Path) -> Image.Image:
    """The photo at `path` as an upright 8-bit RGB image; a clear error naming the file otherwise."""
    try:
        with Image.open(path) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"input {path} is not a readable image: {err}") from None
    if upright.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(upright, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        upright = Image.fromarray(np.rint(scaled).astype(np.uint8))
    return upright.convert("RGB")
