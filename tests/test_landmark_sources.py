"""Eyes from landmarks for the sources whose files ship none (RaFD, KDEF, folders, CSV), on real
photographs arranged in each layout: Grace Hopper's portrait, moved, scaled, turned and mirrored."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, run_cli
from expr_gan.data.sources.folder import CSVSource, FolderSource
from expr_gan.data.sources.kdef import KDEFSource
from expr_gan.data.sources.rafd import RaFDSource
from expr_gan.photo.align import template_eyes
from expr_gan.photo.landmarks import landmarks_available
from test_photo import hopper

pytestmark = pytest.mark.skipif(not landmarks_available(), reason="the face extra (dlib) is not installed")
PEOPLE = ("grace", "mirrored", "grey")
EXPRESSIONS = {"neutral": ("neutral", "NE", "neutral"), "laughing": ("happy", "HA", "happy"),
               "frowning": ("angry", "AN", "angry")}  # ours -> (RaFD's, KDEF's code, the folder's name)


def photo(person: str, expression: str) -> Image.Image:
    """Grace Hopper at 300 px wide; each 'person' a variant, each 'expression' a different framing:
    as is, shifted and scaled down, turned by 10 degrees."""
    img = Image.open(hopper()).convert("RGB").resize((300, 352), Image.Resampling.LANCZOS)
    if person == "mirrored":
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif person == "grey":
        img = img.convert("L").convert("RGB")
    if expression == "laughing":
        canvas = Image.new("RGB", img.size, (90, 90, 90))
        canvas.paste(img.resize((240, 282)), (45, 50))
        img = canvas
    elif expression == "frowning":
        img = img.rotate(10, resample=Image.Resampling.BICUBIC, fillcolor=(90, 90, 90))
    return img


BLANK = Image.new("RGB", (300, 352), (128, 128, 128))  # readable, but no face


def make_tree(kind: str, root: Path) -> None:
    """The photos in `kind`'s layout, plus one blank photo in a face's place."""
    root.mkdir(parents=True)
    rows = ["path,identity,expression"]
    for p, person in enumerate(PEOPLE):
        for ours, (rafd, kdef, _) in EXPRESSIONS.items():
            image = photo(person, ours)
            if kind == "rafd":
                image.save(root / f"Rafd090_{p + 1:02d}_Caucasian_female_{rafd}_frontal.jpg")
            elif kind == "kdef":
                (root / f"AF0{p + 1}").mkdir(exist_ok=True)
                image.save(root / f"AF0{p + 1}" / f"AF0{p + 1}{kdef}S.JPG")
            elif kind == "folder":
                (root / person).mkdir(exist_ok=True)
                image.save(root / person / f"{ours}.png")
            else:
                image.save(root / f"{person}_{ours}.png")
                rows.append(f"{person}_{ours}.png,{person},{ours}")
    blank = {"rafd": "Rafd090_09_Caucasian_male_surprised_frontal.jpg", "kdef": "AF01/AF01SUS.JPG",
             "folder": "grace/surprise.png", "csv": "blank.png"}[kind]
    BLANK.save(root / blank)
    if kind == "csv":
        (root / "manifest.csv").write_text("\n".join(rows + ["blank.png,grace,surprise"]) + "\n")


def source(kind: str, root: Path, landmarks: bool = True):
    vocab = ["neutral", "laughing", "frowning", "surprise"]
    return {"rafd": lambda: RaFDSource(str(root), size=32, landmarks=landmarks),
            "kdef": lambda: KDEFSource(str(root), size=32, landmarks=landmarks),
            "folder": lambda: FolderSource(str(root), vocab, size=32, landmarks=landmarks),
            "csv": lambda: CSVSource(str(root), vocab, size=32, landmarks=landmarks)}[kind]()


@pytest.mark.parametrize("kind", ["rafd", "kdef", "folder", "csv"])
def test_each_layout_gets_eyes_from_landmarks_and_skips_a_photo_without_a_face(kind, tmp_path):
    make_tree(kind, tmp_path / kind)
    faces = source(kind, tmp_path / kind).build()
    assert len(faces) == 9 and faces.meta["eyes_from"] == ["landmarks"] * 9
    assert torch.allclose(faces.eyes, torch.from_numpy(template_eyes(32)).float().expand(9, 2, 2))
    assert [s["reason"] for s in faces.meta["skipped"]] == ["no face found by landmarks"]
    points = faces.meta["landmarks"]  # the 68 points, carried into the crop: their eye centres are the template's
    assert points.shape == (9, 68, 2) and torch.isfinite(points).all()
    centres = torch.stack([points[:, 36:42].mean(1), points[:, 42:48].mean(1)], 1)
    assert torch.allclose(centres, faces.eyes, atol=1e-3)
    # the crops are aligned by the eyes: the same face moved, scaled or turned gives nearly the same
    # crop, which a centre crop of the same files does not
    plain = source(kind, tmp_path / kind, landmarks=False).build()
    assert plain.meta["eyes_from"] == ["none"] * 10 and not torch.isfinite(plain.eyes).any()
    assert not torch.isfinite(plain.meta["landmarks"]).any()

    def spread(fs, person_index):  # mean grey-level difference of one person's crops to its first
        own = fs.images[fs.identity == person_index].float()
        return float((own[1:] - own[:1]).abs().mean())

    aligned, centred = spread(faces, int(faces.identity[0])), spread(plain, int(plain.identity[0]))
    print(f"{kind}: aligned {aligned:.1f}, centred {centred:.1f} grey levels")
    assert aligned < 0.5 * centred, (aligned, centred)


def test_landmark_eyes_are_cached_with_the_images_and_feed_aligned_targets(tmp_path, make_cfg, monkeypatch):
    from hydra.utils import instantiate

    make_tree("folder", tmp_path / "photos")
    cfg = make_cfg("data=folder", f"data.root={tmp_path}/photos", "data.expressions=[neutral,laughing,frowning]",
                   "data.size=32", "data.align_targets=true", "data.split=pair", "data.batch_size=4")
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    assert torch.isfinite(dm.faces.eyes).all() and len(dm.faces) == 9
    batch = next(iter(dm.train_dataloader()))
    assert "target_aligned" in batch and torch.isfinite(batch["target_aligned"]).all()
    import expr_gan.photo.landmarks as landmarks

    calls = []
    monkeypatch.setattr(landmarks, "find_faces", lambda *a, **k: calls.append(a) or [])
    again = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    again.setup()  # decoded once: the cache holds the crops and their eyes, no face is searched again
    assert calls == [] and torch.equal(again.faces.eyes, dm.faces.eyes) and torch.equal(again.faces.images, dm.faces.images)


def test_inspect_reports_where_each_files_eyes_came_from(tmp_path):
    import json

    make_tree("folder", tmp_path / "photos")
    common = ("expr_gan.commands.inspect", "data=folder", f"data.root={tmp_path}/photos",
              "data.expressions=[neutral,laughing,frowning,surprise]", "data.size=32")
    text = run_cli(*common, f"out={tmp_path}/i1", cwd=REPO)
    assert text.returncode == 0, text.stderr[-2000:]
    assert "from landmarks (face found) 9" in text.stdout and "no face found: 1 (skipped)" in text.stdout
    assert "grace/surprise.png: no face found by landmarks" in text.stdout
    report = json.loads(run_cli(*common, "format=json", f"out={tmp_path}/i2", cwd=REPO).stdout)
    assert report["eyes"] == {"from_file": 0, "from_landmarks": 9, "none": 0, "no_face_found": 1}
    assert sorted(Path(f).name for f in report["eyes_per_file"]) == sorted(["neutral.png", "laughing.png", "frowning.png"] * 3)
    off = run_cli(*common, "data.landmarks=false", "format=json", f"out={tmp_path}/i3", cwd=REPO)
    assert json.loads(off.stdout)["eyes"] == {"from_file": 0, "from_landmarks": 0, "none": 10, "no_face_found": 0}
