"""What every file-based source shares: records, decoding, cropping, skipping bad files, caching."""
from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from expr_gan.errors import DataError, MissingFileError, UsageError
from expr_gan.data.cache import load_or_build
from expr_gan.data.faceset import FaceSet

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp"}
# Raise when decoding changes what a file becomes (cached decodings are then rebuilt). 2: files with
# eyes cropped by a similarity onto the template, the image extended by its edge pixels
DECODING = 2


class NoFaceFound(ValueError):
    """A readable image in which the landmark detector finds no face."""


@dataclass
class Record:
    """One image file: who, which expression (raw label), and any parsed metadata."""
    path: Path
    identity: str
    expression: str
    meta: dict = field(default_factory=dict)
    eyes: tuple | None = None  # (rx, ry, lx, ly) in the file's pixels


@dataclass
class Scan:
    """The result of reading a dataset's tree: usable records and every skipped file with its reason."""
    records: list
    skipped: list = field(default_factory=list)  # [{"file": str, "reason": str}]

    def skip(self, path, reason: str) -> None:
        """Report and remember a skipped file."""
        self.skipped.append({"file": str(path), "reason": reason})


def parse_or_skip(scan: Scan, path: Path, parse):
    """`parse(path.stem)`, or None after recording why the file name does not parse."""
    try:
        return parse(path.stem)
    except ValueError as err:
        scan.skip(path, f"file name does not parse: {err}")
        return None


def image_files(folder: Path) -> list[Path]:
    """Image files directly in `folder`, any letter case of the usual suffixes, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


EYES_FILE = "eyes.csv"  # what `expr-gan render` writes beside its images


def read_eyes_csv(root: Path) -> dict[Path, tuple]:
    """ROOT/eyes.csv (columns file, right_eye_x, right_eye_y, left_eye_x, left_eye_y; files relative to
    ROOT): {resolved file: (rx, ry, lx, ly)}; empty when there is no such file."""
    import csv

    path = root / EYES_FILE
    if not path.is_file():
        return {}
    eyes = {}
    with open(path, newline="") as fh:
        for line, row in enumerate(csv.reader(fh), start=1):
            if line == 1 and row and row[0] == "file":
                continue
            try:
                values = tuple(float(v) for v in row[1:5])
                if len(values) != 4:
                    raise ValueError(f"{len(values)} numbers")
                eyes[(root / row[0]).resolve()] = values
            except (ValueError, IndexError) as err:
                raise DataError(f"{path}, line {line}: expected file,right_eye_x,right_eye_y,left_eye_x,left_eye_y "
                                 f"({err})") from None
    return eyes


def to_rgb_array(img) -> np.ndarray:
    """Any Pillow mode (8-bit L, 16-bit I;16 / I, RGB, RGBA, P) -> uint8 [H, W, 3]."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / top * 255.0, 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


def centre_square(width: int, height: int) -> tuple[float, float, float]:
    """(centre x, centre y, side) of an image's centre square: the crop of a file without eye positions."""
    side = min(width, height)
    return width / 2, height / 2, side


class FileSource:
    """Base of the real sources: subclasses implement `scan()` and set `expression_names`."""

    expression_names: tuple[str, ...] = ()
    name = "files"

    def __init__(self, root: str, size: int = 128, channels: int = 3, strict: bool = False,
                 expressions: list | None = None, label_map: dict | None = None, landmarks: bool = False):
        self.root, self.size, self.channels, self.strict = Path(root), size, channels, strict
        self.label_map = dict(label_map or {})
        self.landmarks = bool(landmarks)  # eyes from dlib's 68 landmarks where the files ship none
        if self.landmarks:
            from expr_gan.photo.landmarks import INSTALL_HINT, landmarks_available

            if not landmarks_available():
                raise UsageError(f"data.landmarks=true needs dlib and its models: {INSTALL_HINT}; "
                                 "or data.landmarks=false for centre crops without eyes")
        if expressions:  # a subset, in the given order
            unknown = [e for e in expressions if e not in self.expression_names]
            if unknown:
                raise UsageError(f"data.source.expressions: {unknown} not in {list(self.expression_names)}")
            self.expression_names = tuple(expressions)
        if channels not in (1, 3):
            raise UsageError(f"data.channels={channels}: expected 1 or 3")

    # --- to implement ----------------------------------------------------------------------------
    def scan(self) -> Scan:
        """Parse the tree into records (no pixels)."""
        raise NotImplementedError

    def layout(self) -> str:
        """The layout this source expects, for error messages."""
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------------------
    def check_root(self) -> None:
        """A clear error naming the path and the expected layout when the root is missing or empty."""
        if not self.root.is_dir():
            raise MissingFileError(f"data.root={self.root} does not exist or is not a directory; expected {self.layout()}")
        if not any(self.root.iterdir()):
            raise DataError(f"data.root={self.root} is empty; expected {self.layout()}")

    def labelled(self, scan: Scan) -> tuple[list, dict]:
        """Records with a label in the vocabulary (after label_map), one per (identity, expression).

        Returns (records, counts of excluded: duplicates, out-of-vocabulary).
        """
        kept, seen, counts = [], {}, {"duplicates": 0, "not_in_vocabulary": 0}
        for rec in scan.records:
            name = self.label_map.get(rec.expression, rec.expression)
            if name not in self.expression_names:
                counts["not_in_vocabulary"] += 1
                continue
            key = (rec.identity, name)
            if key in seen:
                counts["duplicates"] += 1
                scan.skip(rec.path, f"duplicate of {seen[key].name} for identity {rec.identity}, expression {name}")
                continue
            seen[key] = rec.path
            rec.expression = name
            kept.append(rec)
        return kept, counts

    def settings(self) -> dict:
        """Cache key material: the source, its options, and every file's name, size and mtime."""
        scan = self.scan()
        # each file with the eyes it ships (FaceFP_2.txt, eyes.csv): new eye positions decode anew
        listing = hashlib.sha1("\n".join(f"{r.path}|{r.path.stat().st_size}|{r.path.stat().st_mtime_ns}|{r.eyes}"
                                         for r in scan.records).encode()).hexdigest()
        return {"source": self.name, "decoding": DECODING, "root": str(self.root.resolve()), "size": self.size,
                "channels": self.channels,
                "expressions": list(self.expression_names), "label_map": self.label_map, "files": listing,
                **({"landmarks": True} if self.landmarks else {}), **self.extra_settings()}

    def extra_settings(self) -> dict:
        """Source-specific options that change which files are read."""
        return {}

    def decode(self, rec: Record) -> tuple[np.ndarray, np.ndarray]:
        """One record -> (uint8 [S, S, C] face crop, eyes [2, 2] in crop pixels or NaN); `decode_all`."""
        return self.decode_all(rec)[:2]

    def decode_all(self, rec: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One record -> (face crop, eyes in crop pixels or NaN, 68 landmarks [68, 2] in crop pixels
        where landmarks found the face, else NaN).

        With eyes (shipped by the files: CAS-PEAL's FaceFP_2.txt, an eyes.csv; or, with `landmarks`,
        those of the largest face dlib finds) the crop is a similarity transform of the eyes onto the
        embedded faces' template, the crop photos get (photo/align.py), so its eyes lie on the
        template; a file in which landmarks find no face raises NoFaceFound. Without eyes: the centre square."""
        from PIL import Image

        with Image.open(rec.path) as img:
            img.load()
            rgb = to_rgb_array(img)
        eyes = None if rec.eyes is None else np.asarray(rec.eyes, dtype=np.float64).reshape(2, 2)
        points = np.full((68, 2), np.nan)
        if eyes is None and self.landmarks:
            from expr_gan.photo.landmarks import find_faces

            faces = find_faces(rgb)
            if not faces:
                raise NoFaceFound(f"{rec.path}: no face found by landmarks ({rgb.shape[1]}x{rgb.shape[0]} px)")
            eyes, points = faces[0].eyes.astype(np.float64), faces[0].points.astype(np.float64)
        if eyes is not None:
            return self._aligned_crop(rgb, eyes[np.argsort(eyes[:, 0])], points)  # image-left eye first, as the template
        h, w = rgb.shape[:2]
        cx, cy, side = centre_square(w, h)
        left, top = cx - side / 2, cy - side / 2
        pil = Image.fromarray(rgb).transform((self.size, self.size), Image.Transform.EXTENT,
                                             (left, top, left + side, top + side), Image.Resampling.BILINEAR)
        if side > 2 * self.size:  # downscaling a lot: area-average first to avoid aliasing
            pil = Image.fromarray(rgb).crop((int(left), int(top), int(left + side), int(top + side))).resize(
                (self.size, self.size), Image.Resampling.BOX)
        out = self._channels(pil)
        return out, np.full((2, 2), np.nan, dtype=np.float32), np.full((68, 2), np.nan, dtype=np.float32)

    def _channels(self, image) -> np.ndarray:
        """A decoded crop (PIL, RGB) as uint8 [S, S, C] with the configured channels."""
        return np.asarray(image.convert("L"))[..., None] if self.channels == 1 else np.asarray(image)

    def _aligned_crop(self, rgb: np.ndarray, eyes: np.ndarray, points: np.ndarray):
        """The crop whose eyes lie on the template, those eyes and the landmark `points` in crop pixels.
        The image is first extended by its edge pixels (half its size on each side), so a crop reaching
        past the border gets the background continued, not black corners no training image has."""
        from PIL import Image

        from expr_gan.photo.align import aligned_crop, apply, template_eyes

        margin = max(rgb.shape[:2]) // 2
        padded = np.pad(rgb, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
        crop, matrix = aligned_crop(Image.fromarray(padded), eyes + margin, self.size)
        out = self._channels(crop)
        return out, template_eyes(self.size).astype(np.float32), apply(matrix, points + margin).astype(np.float32)

    def build(self) -> FaceSet:
        """Decode every usable record; unreadable files are skipped with a warning (an error when strict)."""
        scan = self.scan()
        records, _ = self.labelled(scan)
        if not records:
            raise DataError(f"data.root={self.root}: no usable images found; expected {self.layout()}")
        identities = sorted({r.identity for r in records})
        id_index = {name: i for i, name in enumerate(identities)}
        images, ids, exprs, eyes, files, eyes_from, landmarks = [], [], [], [], [], [], []
        for rec in records:
            try:
                pixels, eye, points = self.decode_all(rec)
            except NoFaceFound as err:  # a readable photo without a face: reported and skipped, never fatal
                warnings.warn(f"{err}; skipped", stacklevel=2)
                scan.skip(rec.path, "no face found by landmarks")
                continue
            except Exception as err:  # corrupt, truncated, unreadable
                message = f"{rec.path}: unreadable image ({type(err).__name__}: {err})"
                if self.strict:
                    raise DataError(message + " [data.source.strict=true]") from None
                warnings.warn(message + "; skipped", stacklevel=2)
                scan.skip(rec.path, f"unreadable image ({type(err).__name__})")
                continue
            images.append(pixels)
            ids.append(id_index[rec.identity])
            exprs.append(self.expression_names.index(rec.expression))
            eyes.append(eye)
            landmarks.append(points)
            files.append(str(rec.path))
            eyes_from.append("file" if rec.eyes is not None else "landmarks" if self.landmarks else "none")
        if not images:
            raise DataError(f"data.root={self.root}: every image failed to decode")
        return FaceSet(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), torch.tensor(ids),
                       torch.tensor(exprs), self.expression_names, torch.from_numpy(np.stack(eyes)),
                       meta={"identity_names": identities, "files": files, "skipped": scan.skipped,
                             "eyes_from": eyes_from,  # per file: file, landmarks or none
                             # the 68 points in crop pixels where landmarks found the face, else NaN
                             "landmarks": torch.from_numpy(np.stack(landmarks))})

    def load(self, cache_dir=None) -> FaceSet:
        """The decoded dataset, from the cache when these files were decoded with these settings before."""
        self.check_root()
        return load_or_build(cache_dir, self.name, self.settings(), self.build)
