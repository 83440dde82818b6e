"""RaFD: `Rafd{camera}_{id}_{ethnicity}_{gender}_{emotion}_{gaze}.jpg`; frontal camera 090, frontal gaze by default."""
from __future__ import annotations

from expr_gan.data.sources.base import FileSource, Record, Scan, image_files, parse_or_skip

EMOTIONS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")


def parse_name(stem: str) -> dict:
    """Fields of a RaFD file name; raises ValueError naming what does not parse."""
    parts = stem.split("_")
    if len(parts) != 6 or not parts[0].lower().startswith("rafd"):
        raise ValueError("expected Rafd{camera}_{id}_{ethnicity}_{gender}_{emotion}_{gaze}")
    camera, model, ethnicity, gender, emotion, gaze = parts
    return {"camera": camera[4:], "id": model, "ethnicity": ethnicity, "gender": gender,
            "emotion": emotion.lower(), "gaze": gaze.lower()}


class RaFDSource(FileSource):
    """Radboud Faces Database (8 emotions); images directly under root (or one folder below)."""

    name = "rafd"
    expression_names = EMOTIONS

    def __init__(self, root: str, camera: str = "090", gaze: str = "frontal", **kwargs):
        super().__init__(root, **kwargs)
        self.camera, self.gaze = str(camera), gaze

    def layout(self) -> str:
        return "ROOT/Rafd090_01_Caucasian_female_angry_frontal.jpg (files directly in ROOT or one folder below)"

    def extra_settings(self) -> dict:
        return {"camera": self.camera, "gaze": self.gaze}

    def scan(self) -> Scan:
        scan = Scan(records=[])
        folders = [self.root] + sorted(p for p in self.root.iterdir() if p.is_dir())
        for folder in folders:
            for path in image_files(folder):
                f = parse_or_skip(scan, path, parse_name)
                if f is None or f["camera"] != self.camera.zfill(3) or f["gaze"] != self.gaze:
                    continue
                scan.records.append(Record(path, f["id"], f["emotion"], f))
        return scan
