"""Real-dataset sources on fixture trees with the real naming conventions; the inspect CLI; bad input."""
import json
import re

import pytest
import torch

from expr_gan.data.sources.caspeal import CASPEALSource, parse_name
from expr_gan.data.sources.folder import CSVSource, FolderSource
from expr_gan.data.sources.kdef import KDEFSource
from expr_gan.data.sources.rafd import RaFDSource
import helpers
from expr_gan.commands.train import train
from conftest import REPO, run_cli
from helpers import assert_trained
from fixtures import make_caspeal, make_csv, make_folder, make_kdef, make_rafd
from test_families import SHORT


@pytest.fixture(scope="module")
def caspeal(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "CAS-PEAL-R1"
    return root, make_caspeal(root)


def test_caspeal_name_parsing_keeps_all_fields():
    f = parse_name("MY_000064_IEU+00_PM+00_EN_A3_D1_T2_BR_M0_R0_S0")
    assert f["subject"] == "000064" and f["accessory"] == "A3" and f["release"] == "R0" and len(f) == 12
    with pytest.raises(ValueError, match="12"):
        parse_name("MY_000064_EN")
    with pytest.raises(ValueError, match="expression field"):
        parse_name("MY_000064_IEU+00_PM+00_EX_A0_D0_T0_BB_M0_R1_S0")


def test_caspeal_counts_skips_and_metadata(caspeal, tmp_path):
    root, info = caspeal
    src = CASPEALSource(str(root), size=32, channels=1)
    with pytest.warns(UserWarning, match=re.escape(info["corrupt"])):
        faces = src.build()
    names = faces.expression_names
    counts = {n: int((faces.expression == i).sum()) for i, n in enumerate(names)}
    assert counts == {"neutral": 4, "laughing": 5, "frowning": 5, "surprise": 5, "eyes_closed": 0, "mouth_open": 0}
    assert len(faces.meta["identity_names"]) == 5 and faces.images.shape[1:] == (1, 32, 32)
    reasons = {s["file"].rsplit("/", 1)[-1]: s["reason"] for s in faces.meta["skipped"]}
    assert reasons["scan_notes.tif"].startswith("file name does not parse")
    assert reasons[info["corrupt"] + ".tif"].startswith("unreadable image")
    eyes_known = torch.isfinite(faces.eyes).flatten(1).all(1)
    assert 0 < int(eyes_known.sum()) < len(faces)  # FaceFP_2.txt covers some images
    scan = src.scan()
    neutral = [r for r in scan.records if r.expression == "neutral"]
    assert {r.meta["accessory"] for r in neutral} == {"A0", "A1"} and {r.meta["release"] for r in neutral} == {"R0", "R1"}


def test_caspeal_list_file_restricts(caspeal):
    root, info = caspeal
    scan = CASPEALSource(str(root), list_file=str(info["list_file"])).scan()
    expr = sorted(r.path.stem for r in scan.records if r.expression != "neutral")
    assert expr == sorted(info["listed"])
    assert {r.identity for r in scan.records if r.expression == "neutral"} == {"000046", "000145"}


def test_caspeal_strict_mode_names_the_file(caspeal):
    root, info = caspeal
    with pytest.raises(ValueError, match=re.escape(info["corrupt"]) + ".*strict"):
        CASPEALSource(str(root), strict=True).build()


def drawn(kind: str) -> list[str]:
    """The fixture trees hold 64 px drawn faces: their layouts are under test here, not landmarks
    (tests/test_landmark_sources.py puts real photos in each layout)."""
    return ["data.landmarks=false"]


def test_inspect_cli_on_caspeal(caspeal, tmp_path):
    root, info = caspeal
    result = run_cli("expr_gan.commands.inspect", "data=caspeal", f"data.root={root}", "format=json", f"out={tmp_path}/i",
                     "data.pair_policy=from_neutral", "data.size=32", *drawn("caspeal"), cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["identities"] == 5 and report["images_per_expression"]["laughing"] == 5
    assert report["pairs"] == 4 * 3 and report["identities_without_pairs"] == 1  # 000010 has no neutral
    files = {s["file"].rsplit("/", 1)[-1] for s in report["skipped"]}
    assert {"scan_notes.tif", info["corrupt"] + ".tif"} <= files
    from PIL import Image
    sheet = Image.open(tmp_path / "i" / "contact_sheet.png")  # 5 people x 6 expressions of 32 px, 2 px padding
    assert sheet.size == (6 * 34 + 2, 5 * 34 + 2)
    text = run_cli("expr_gan.commands.inspect", "data=caspeal", f"data.root={root}", f"out={tmp_path}/j", "data.size=32",
                   *drawn("caspeal"), cwd=REPO)
    assert report["eyes"]["from_file"] > 0 and report["eyes"]["none"] > 0  # FaceFP_2.txt lists some files
    assert "usable pairs (all): 54" in text.stdout and "skipped" in text.stdout


def test_bad_roots_get_one_clear_error(tmp_path):
    result = run_cli("expr_gan.commands.inspect", "data=caspeal", f"data.root={tmp_path}/missing", cwd=REPO)
    assert result.returncode == 2 and "missing does not exist" in result.stderr and "FRONTAL/Expression" in result.stderr
    (tmp_path / "empty").mkdir()
    result = run_cli("expr_gan.commands.inspect", "data=kdef", f"data.root={tmp_path}/empty", cwd=REPO)
    assert result.returncode == 2 and "is empty" in result.stderr
    (tmp_path / "wrong" / "stuff").mkdir(parents=True)
    result = run_cli("expr_gan.commands.inspect", "data=caspeal", f"data.root={tmp_path}/wrong", cwd=REPO)
    assert result.returncode == 2 and "no FRONTAL/Expression folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_rafd_filters_camera_and_gaze(tmp_path):
    make_rafd(tmp_path / "rafd")
    faces = RaFDSource(str(tmp_path / "rafd"), size=32).build()
    assert len(faces) == 12 and faces.num_expressions == 8 and len(faces.meta["identity_names"]) == 4


def test_kdef_straight_angle_and_one_session(tmp_path):
    make_kdef(tmp_path / "KDEF")
    faces = KDEFSource(str(tmp_path / "KDEF"), size=32).build()
    assert len(faces) == 9 and faces.num_expressions == 7
    assert faces.meta["identity_names"] == ["F01", "F03", "M02"]
    both = KDEFSource(str(tmp_path / "KDEF"), size=32, sessions=("A", "B"))
    scan = both.scan()
    kept, counts = both.labelled(scan)
    assert len(kept) == 9 and counts["duplicates"] == 9  # session B repeats every (person, expression)


def test_folder_layouts_csv_and_label_subsets(tmp_path):
    make_folder(tmp_path / "a")
    make_folder(tmp_path / "b", expression_first=True)
    vocab = ["neutral", "laughing", "frowning"]
    a = FolderSource(str(tmp_path / "a"), vocab, size=32).build()
    b = FolderSource(str(tmp_path / "b"), vocab, layout="expression_first", size=32).build()
    assert len(a) == len(b) == 9 and torch.equal(a.expression.sort().values, b.expression.sort().values)
    make_csv(tmp_path / "c")
    source = CSVSource(str(tmp_path / "c"), vocab, size=32)
    faces = source.build()
    assert len(faces) == 9 and any("gone.png" in s["file"] for s in faces.meta["skipped"])
    subset = FolderSource(str(tmp_path / "a"), vocab, size=32, label_map={"frowning": "neutral"}).build()
    assert len(subset) == 6  # frowning mapped onto neutral collides with the neutral image: duplicate


@pytest.mark.parametrize("kind", ["caspeal", "rafd", "kdef", "folder", "csv"])
def test_short_training_run_on_each_source(make_cfg, tmp_path, kind, caspeal):
    root = {"caspeal": caspeal[0]}.get(kind, tmp_path / kind)
    {"rafd": make_rafd, "kdef": make_kdef, "folder": make_folder, "csv": make_csv}.get(kind, lambda r: None)(root)
    extra = ["data.expressions=[neutral,laughing,frowning]"] if kind in ("folder", "csv") else []
    cfg = make_cfg(f"data={kind}", f"data.root={root}", "data.split_fractions=[0.4,0.3,0.3]", *extra, *SHORT,
                   *drawn(kind))
    helpers.TrainingCheck.last = None
    assert_trained(train(cfg), helpers.TrainingCheck.last)
    assert cfg.data.num_expressions == {"rafd": 8, "kdef": 7, "caspeal": 6}.get(kind, 3)


@pytest.mark.parametrize("kind,subset", [("caspeal", "[neutral,laughing]"), ("rafd", "[neutral,happy]"),
                                         ("kdef", "[neutral,happy]"), ("folder", "[neutral,laughing]"),
                                         ("csv", "[neutral,laughing]")])
def test_source_expressions_subset_works_for_every_source(make_cfg, tmp_path, kind, subset, caspeal):
    """docs/real_data.md's `data.source.expressions=[...]`: the one-hot follows the subset, whatever the source."""
    from hydra.utils import instantiate

    root = {"caspeal": caspeal[0]}.get(kind, tmp_path / kind)
    {"rafd": make_rafd, "kdef": make_kdef, "folder": make_folder, "csv": make_csv}.get(kind, lambda r: None)(root)
    cfg = make_cfg(f"data={kind}", f"data.root={root}", f"data.source.expressions={subset}", *drawn(kind))
    assert cfg.data.num_expressions == 2
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    assert list(dm.expression_names) == subset.strip("[]").split(",")
    assert set(dm.faces.expression.tolist()) == {0, 1}


def test_a_folder_export_of_the_embedded_faces_keeps_its_eyes(tmp_path):
    """`expr-gan render` writes eyes.csv; the folder source crops by those eyes (no
    landmarks needed), a changed eyes.csv decodes anew, and a bad line is named."""
    from expr_gan.commands.render import main as export

    assert export([f"out={tmp_path}/faces", "num_identities=2", "size=64"]) == 0
    vocab = ["neutral", "laughing", "frowning", "surprise", "eyes_closed", "mouth_open"]
    source = FolderSource(str(tmp_path / "faces"), vocab, size=32, landmarks=False)
    faces = source.load(tmp_path / "cache")
    assert len(faces) == 12 and faces.meta["eyes_from"] == ["file"] * 12 and torch.isfinite(faces.eyes).all()
    key = source.settings()
    eyes_csv = tmp_path / "faces" / "eyes.csv"
    lines = eyes_csv.read_text().splitlines()
    eyes_csv.write_text("\n".join(lines[:1] + [lines[1].replace(",", ",1", 1)] + lines[2:]) + "\n")
    assert source.settings() != key  # other eyes: another cache entry
    eyes_csv.write_text("\n".join(lines[:2] + ["synth0000/laughing.png,1,2"] + lines[3:]) + "\n")
    with pytest.raises(ValueError, match=r"eyes.csv, line 3: expected file,right_eye_x"):
        source.scan()
    eyes_csv.unlink()
    assert FolderSource(str(tmp_path / "faces"), vocab, size=32).build().meta["eyes_from"] == ["none"] * 12
