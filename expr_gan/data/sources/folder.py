"""Generic folders: `root/<identity>/<expression>.<ext>` or `root/<expression>/<identity>.<ext>`."""
from __future__ import annotations

import csv
from pathlib import Path

from expr_gan.errors import DataError, MissingFileError, UsageError
from expr_gan.data.sources.base import FileSource, Record, Scan, image_files, read_eyes_csv

LAYOUTS = ("identity_first", "expression_first")


class FolderSource(FileSource):
    """Any dataset laid out as folders; `expressions` names the vocabulary (its order is the one-hot).
    Eyes listed in ROOT/eyes.csv (as the embedded faces' export writes) are used for their files."""

    name = "folder"

    def __init__(self, root: str, expressions: list, layout: str = "identity_first", **kwargs):
        if layout not in LAYOUTS:
            raise UsageError(f"data.source.layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
        self.expression_names = tuple(expressions)
        self.folder_layout = layout
        super().__init__(root, **kwargs)

    def layout(self) -> str:
        return "ROOT/<identity>/<expression>.<ext>" if self.folder_layout == "identity_first" else "ROOT/<expression>/<identity>.<ext>"

    def extra_settings(self) -> dict:
        return {"layout": self.folder_layout}

    def scan(self) -> Scan:
        scan = Scan(records=[])
        folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        if not folders:
            raise DataError(f"data.root={self.root} has no sub-folders; expected {self.layout()}")
        eyes = read_eyes_csv(self.root)  # shipped eyes (an export of the embedded faces) come before landmarks
        for folder in folders:
            for path in image_files(folder):
                stem = path.stem.rsplit("_", 1)[0] if path.stem.rsplit("_", 1)[-1].isdigit() else path.stem
                identity, expression = (folder.name, stem) if self.folder_layout == "identity_first" else (stem, folder.name)
                scan.records.append(Record(path, identity, expression, eyes=eyes.get(path.resolve())))
        return scan


class CSVSource(FileSource):
    """A manifest with columns path, identity, expression (paths relative to the manifest's folder);
    eyes from ROOT/eyes.csv where it lists a file."""

    name = "csv"

    def __init__(self, root: str, expressions: list, manifest: str = "manifest.csv", **kwargs):
        self.expression_names = tuple(expressions)
        self.manifest = manifest
        super().__init__(root, **kwargs)

    def layout(self) -> str:
        return f"ROOT/{self.manifest} with a header row: path,identity,expression"

    def extra_settings(self) -> dict:
        return {"manifest": self.manifest}

    def scan(self) -> Scan:
        path = self.root / self.manifest
        if not path.is_file():
            raise MissingFileError(f"manifest {path} does not exist; expected {self.layout()}")
        scan = Scan(records=[])
        eyes = read_eyes_csv(self.root)
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "identity", "expression"} - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"manifest {path} lacks column(s) {', '.join(sorted(missing))}; expected {self.layout()}")
            for line, row in enumerate(reader, start=2):
                file = (path.parent / row["path"]).resolve()
                if not file.is_file():
                    scan.skip(file, f"listed on line {line} of {path.name} but missing")
                    continue
                scan.records.append(Record(file, row["identity"], row["expression"], eyes=eyes.get(file)))
        return scan
