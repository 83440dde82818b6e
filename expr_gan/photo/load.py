"""Opening a photograph the way a person sees it: upright, RGB, 8 bits.

EXIF orientation is applied (a phone's portrait shot stays upright); greyscale, palette, CMYK and
alpha images become RGB (alpha is dropped: the photo's own colours are kept); 16- and 32-bit
greyscale is scaled to 8 bits from its full range, as the dataset sources do (`to_rgb_array`).
The edited photo is written in that form, at the size the viewer shows.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from expr_gan.data.sources.base import to_rgb_array


def open_photo(path: Path) -> Image.Image:
    """The photo at `path` as an upright 8-bit RGB image; a clear error naming the file otherwise."""
    try:
        with Image.open(path) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"input {path} is not a readable image: {err}") from None
    return Image.fromarray(to_rgb_array(upright))  # 16-bit scaled as the dataset sources scale it
