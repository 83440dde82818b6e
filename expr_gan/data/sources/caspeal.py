"""CAS-PEAL-R1: FRONTAL/Expression (L, F, S, C, O) and FRONTAL/Normal (EN) of the same subjects.

File names have 12 `_`-separated fields, e.g. `MY_000064_IEU+00_PM+00_EN_A0_D0_T0_BB_M0_R1_S0`:
gender+age, subject, lighting, pose, expression (E + N/L/F/S/C/O), accessory, distance, session,
background, M, release, S. All are kept as metadata; nothing assumes accessory A0 or release R1.
"""
from __future__ import annotations

from pathlib import Path

from expr_gan.errors import DataError, MissingFileError
from expr_gan.data.sources.base import IMAGE_SUFFIXES, FileSource, Record, Scan, image_files, parse_or_skip

FIELDS = ("gender_age", "subject", "lighting", "pose", "expression", "accessory", "distance", "session",
          "background", "m", "release", "s")
CODES = {"N": "neutral", "L": "laughing", "F": "frowning", "S": "surprise", "C": "eyes_closed", "O": "mouth_open"}


def parse_name(stem: str) -> dict:
    """The 12 fields of a CAS-PEAL file name; raises ValueError naming what does not parse."""
    parts = stem.split("_")
    if len(parts) != 12:
        raise ValueError(f"expected 12 '_'-separated fields, found {len(parts)}")
    fields = dict(zip(FIELDS, parts))
    expr = fields["expression"]
    if len(expr) != 2 or expr[0] != "E" or expr[1] not in CODES:
        raise ValueError(f"expression field {expr!r} is not E + one of {''.join(CODES)}")
    if not fields["subject"].isdigit():
        raise ValueError(f"subject field {fields['subject']!r} is not a number")
    return fields


def read_eye_file(folder: Path) -> dict:
    """FaceFP_2.txt of a folder: {name: (rx, ry, lx, ly)} (right eye first); empty when absent."""
    path = next((p for p in folder.iterdir() if p.name.lower() == "facefp_2.txt"), None) if folder.is_dir() else None
    eyes = {}
    if path is None:
        return eyes
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5:
            try:
                eyes[Path(parts[0]).stem] = tuple(float(v) for v in parts[1:5])
            except ValueError:
                continue
    return eyes


def read_list_file(path: Path) -> set[str]:
    """Names (no extension) from an Evaluation Prototype list file of Windows paths like FRONTAL\\Expression\\NAME."""
    if not Path(path).is_file():
        raise MissingFileError(f"data.source.list_file={path} does not exist")
    names = set()
    for line in Path(path).read_text(errors="replace").splitlines():
        name = line.strip().replace("\\", "/").rsplit("/", 1)[-1]
        if Path(name).suffix.lower() in IMAGE_SUFFIXES:
            name = Path(name).stem
        if name:
            names.add(name)
    return names


class CASPEALSource(FileSource):
    """CAS-PEAL-R1 frontal expression subset (6 expressions)."""

    name = "caspeal"
    expression_names = tuple(CODES.values())

    def __init__(self, root: str, list_file: str | None = None, use_eyes: bool = True, **kwargs):
        super().__init__(root, **kwargs)
        self.list_file, self.use_eyes = list_file, use_eyes

    def layout(self) -> str:
        return "CAS-PEAL-R1/FRONTAL/Expression/*.tif (L, F, S, C, O) and CAS-PEAL-R1/FRONTAL/Normal/*.tif (EN)"

    def extra_settings(self) -> dict:
        return {"list_file": str(self.list_file), "use_eyes": self.use_eyes}

    def _folder(self, *names: str) -> Path | None:
        """A sub-folder matched case-insensitively (copies differ in letter case)."""
        here = self.root
        for name in names:
            match = next((p for p in here.iterdir() if p.is_dir() and p.name.lower() == name.lower()), None) if here.is_dir() else None
            if match is None:
                return None
            here = match
        return here

    def scan(self) -> Scan:
        expression_dir, normal_dir = self._folder("FRONTAL", "Expression"), self._folder("FRONTAL", "Normal")
        if expression_dir is None:
            raise DataError(f"data.root={self.root} has no FRONTAL/Expression folder; expected {self.layout()}")
        listed = read_list_file(Path(self.list_file)) if self.list_file else None
        scan = Scan(records=[])
        expression_subjects = set()
        for folder, kind in ((expression_dir, "expression"), (normal_dir, "normal")):
            if folder is None:
                continue
            eyes = read_eye_file(folder) if self.use_eyes else {}
            for path in image_files(folder):
                fields = parse_or_skip(scan, path, parse_name)
                if fields is None:
                    continue
                code = fields["expression"][1]
                if kind == "normal" and code != "N":
                    continue  # FRONTAL/Normal holds only neutral faces; anything else is not ours
                if kind == "expression" and listed is not None and path.stem not in listed:
                    continue
                if kind == "expression":
                    expression_subjects.add(fields["subject"])
                scan.records.append(Record(path, fields["subject"], CODES[code], fields, eyes.get(path.stem)))
        if listed is not None:  # keep neutral images only of the listed subjects
            scan.records = [r for r in scan.records if r.expression != "neutral" or r.identity in expression_subjects]
        return scan
