"""Referees for photographs, trained on nothing they score: is there a face, is it the same person,
did its geometry move the target's way (dlib's detector, landmarks and embedding; photo/geometry.py)."""
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


def score_edit(source: Face, source_embedding: np.ndarray, edited_rgb: np.ndarray, target: str) -> dict:
    """One edited face judged against its source face (and its embedding, `identity.embed`, computed
    once for all of its targets): face_found, identity (embedding distance), the target's measure
    before and after, and moved (None for a target without a geometry test)."""
    found = same_face(find_faces(edited_rgb), source)
    row = {"target": target, "face_found": found is not None, "identity": None, "moved": None}
    if found is None:
        return {**row, "moved": False if target in TARGET_MEASURE else None}
    before, after = measure(source.points), measure(found.points)
    row["identity"] = distance(source_embedding, embed(edited_rgb, found))
    row["moved"] = moved(before, after, target)
    if target in TARGET_MEASURE:
        name = TARGET_MEASURE[target][0]
        row.update(measure=name, before=before[name], after=after[name])
    return row


def summary(rows: list[dict], targets: list[str]) -> str:
    """Per target over every judged face: faces found, identity distance (median, max), geometry moved."""
    lines = ["| target | face found | identity median | identity max | geometry moved |", "|---|---:|---:|---:|---:|"]
    for target in targets:
        own = [r for r in rows if r["target"] == target]
        if not own:
            continue
        ids = [r["identity"] for r in own if r["identity"] is not None]
        verdicts = [r["moved"] for r in own if r["moved"] is not None]
        spread = f"{np.median(ids):.2f} | {max(ids):.2f}" if ids else "- | -"
        geometry = f"{sum(verdicts)}/{len(verdicts)}" if verdicts else "no test"
        lines.append(f"| {target} | {sum(r['face_found'] for r in own)}/{len(own)} | {spread} | {geometry} |")
    return "\n".join(lines) + "\n"
