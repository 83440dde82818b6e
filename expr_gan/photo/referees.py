"""Referees for photographs, trained on nothing they score: is there a face, is it the same person,
did its geometry move the target's way (dlib's detector, landmarks and embedding; photo/geometry.py),
and what does a packaged emotion classifier read (photo/emotion.py, where installed)."""
from __future__ import annotations

import numpy as np

from expr_gan.photo.geometry import TARGET_MEASURE, measure, moved
from expr_gan.photo.identity import distance, embed
from expr_gan.photo.landmarks import Face, find_faces


def same_face(faces: list[Face], source: Face) -> Face | None:
    """The face among `faces` whose eyes lie nearest the source's, if within half an eye distance."""
    if not faces:
        return None
    gaps = [float(np.abs(f.eyes - source.eyes).max()) for f in faces]
    best = int(np.argmin(gaps))
    return faces[best] if gaps[best] <= 0.5 * source.interocular else None


def score_edit(source: Face, source_embedding: np.ndarray, edited_rgb: np.ndarray, target: str,
               faces_on_edit: list[Face] | None = None, gallery: np.ndarray | None = None,
               index: int | None = None, emotion: bool = False) -> dict:
    """One edited face judged against its source face (and its embedding, `identity.embed`, computed
    once for all of its targets): face_found, identity (embedding distance), the target's measure
    before and after, and moved (None for a target without a geometry test).

    faces_on_edit: the faces found on `edited_rgb` when the caller already has them (one search per
    edited photo serves all of its faces). gallery [G, 128] with the source at row `index`: adds
    reidentified (the nearest gallery embedding is the source's). emotion: adds the packaged
    classifier's reading and whether it names the target (None for a target it has no class for)."""
    found = same_face(find_faces(edited_rgb) if faces_on_edit is None else faces_on_edit, source)
    row = {"target": target, "face_found": found is not None, "identity": None, "moved": None}
    if gallery is not None:
        row["reidentified"] = False if found is None else None
    if emotion:
        row.update(emotion=None, emotion_agrees=None)
    if found is None:
        return {**row, "moved": False if target in TARGET_MEASURE else None}
    before, after = measure(source.points), measure(found.points)
    edited_embedding = embed(edited_rgb, found)
    row["identity"] = distance(source_embedding, edited_embedding)
    row["moved"] = moved(before, after, target)
    if target in TARGET_MEASURE:
        name = TARGET_MEASURE[target][0]
        row.update(measure=name, before=before[name], after=after[name])
    if gallery is not None:
        row["reidentified"] = int(np.linalg.norm(np.asarray(gallery) - edited_embedding, axis=1).argmin()) == index
    if emotion:
        from expr_gan.photo.emotion import agrees, classify, reading

        probs = classify(edited_rgb, found)
        row.update(emotion=reading(probs), emotion_agrees=agrees(probs, target))
    return row


def _share(values: list) -> str:
    """'k/n' over the values that are not None, '-' where none is."""
    known = [v for v in values if v is not None]
    return f"{sum(known)}/{len(known)}" if known else "-"


def summary(rows: list[dict], targets: list[str]) -> str:
    """Per target over every judged face: faces found, identity distance (median, max), re-identified,
    geometry moved, and the emotion classifier's agreement (where the rows carry them)."""
    extra = [c for c in ("reidentified", "emotion_agrees") if any(c in r for r in rows)]
    names = {"reidentified": "re-identified (rank-1)", "emotion_agrees": "classifier agrees"}
    header = ["target", "face found", "identity median", "identity max", "geometry moved"] + [names[c] for c in extra]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for target in targets:
        own = [r for r in rows if r["target"] == target]
        if not own:
            continue
        ids = [r["identity"] for r in own if r["identity"] is not None]
        spread = f"{np.median(ids):.2f} | {max(ids):.2f}" if ids else "- | -"
        geometry = _share([r["moved"] for r in own])
        geometry = "no test" if geometry == "-" else geometry
        cells = "".join(f" {_share([r.get(c) for r in own])} |" for c in extra)
        lines.append(f"| {target} | {sum(r['face_found'] for r in own)}/{len(own)} | {spread} | {geometry} |{cells}")
    return "\n".join(lines) + "\n"
