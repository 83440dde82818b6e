"""Opening a photograph the way a person sees it: upright, RGB, 8 bits.

EXIF orientation is applied (a phone's portrait shot stays upright); greyscale, palette, CMYK and
alpha images become RGB (alpha is dropped: the photo's own colours are kept); 16- and 32-bit
greyscale is scaled to 8 bits from its full range, as the dataset sources do (`to_rgb_array`).
The edited photo is written in that form, at the size the viewer shows.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from expr_gan.errors import DataError, UsageError
from expr_gan.data.sources.base import to_rgb_array

PHOTO_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def photo_paths(given: str | Path, option: str = "input") -> list[Path]:
    """The photos `given` names: every image directly in a folder (sorted), or one file; a clear error
    naming `option` when it names neither, or a folder without images."""
    path = Path(given)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        if not files:
            raise DataError(f"{option}={given}: the folder holds no images ({', '.join(sorted(PHOTO_SUFFIXES))})")
        return files
    if path.is_file():
        return [path]
    raise UsageError(f"{option}={given} does not exist (expected a photo or a folder of photos)")


def open_photo(path: Path) -> Image.Image:
    """The photo at `path` as an upright 8-bit RGB image; a clear error naming the file otherwise."""
    try:
        with Image.open(path) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"input {path} is not a readable image: {err}") from None
    return Image.fromarray(to_rgb_array(upright))  # 16-bit scaled as the dataset sources scale it
