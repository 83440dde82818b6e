"""KDEF: `KDEF/AF01/AF01ANS.JPG` = session A/B, gender F/M, id, expression, angle (S = straight)."""
from __future__ import annotations

import re

from expr_gan.errors import DataError
from expr_gan.data.sources.base import FileSource, Record, Scan, image_files, parse_or_skip

CODES = {"AF": "afraid", "AN": "angry", "DI": "disgusted", "HA": "happy", "NE": "neutral", "SA": "sad", "SU": "surprised"}
PATTERN = re.compile(r"^([AB])([FM])(\d\d)(AF|AN|DI|HA|NE|SA|SU)(S|HL|HR|FL|FR)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Fields of a KDEF file name; raises ValueError naming what does not parse."""
    m = PATTERN.match(stem)
    if not m:
        raise ValueError("expected {session A|B}{gender F|M}{id 01-35}{AF|AN|DI|HA|NE|SA|SU}{S|HL|HR|FL|FR}")
    session, gender, number, expr, angle = (g.upper() for g in m.groups())
    return {"session": session, "gender": gender, "id": number, "expression": CODES[expr], "angle": angle}


class KDEFSource(FileSource):
    """Karolinska Directed Emotional Faces (7 expressions); straight angle and session A by default."""

    name = "kdef"
    expression_names = tuple(CODES.values())

    def __init__(self, root: str, angle: str = "S", sessions=("A",), **kwargs):
        super().__init__(root, **kwargs)
        self.angle, self.sessions = angle.upper(), tuple(s.upper() for s in sessions)

    def layout(self) -> str:
        return "KDEF/AF01/AF01ANS.JPG (one folder per session+person)"

    def extra_settings(self) -> dict:
        return {"angle": self.angle, "sessions": list(self.sessions)}

    def scan(self) -> Scan:
        scan = Scan(records=[])
        folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        if not folders:
            raise DataError(f"data.root={self.root} has no person folders; expected {self.layout()}")
        for folder in folders:
            for path in image_files(folder):
                f = parse_or_skip(scan, path, parse_name)
                if f is None or f["angle"] != self.angle or f["session"] not in self.sessions:
                    continue
                scan.records.append(Record(path, f["gender"] + f["id"], f["expression"], f))
        return scan
