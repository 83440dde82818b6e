"""The procedural renderer: determinism, local expression changes, alignment modes, export CLI."""
import numpy as np
import pytest
import torch

from expr_gan.data.faces import EXPRESSIONS, render_face, sample_capture, sample_identity
from expr_gan.commands.command import run
from expr_gan.commands.render import main as synthetic_main
from expr_gan.data.synthetic import SyntheticFaces


def test_rendering_is_deterministic():
    a = render_face(sample_identity(3, 7), "laughing", sample_capture(3, 7, 1, 0), 64)
    b = render_face(sample_identity(3, 7), "laughing", sample_capture(3, 7, 1, 0), 64)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = render_face(sample_identity(4, 7), "laughing", sample_capture(4, 7, 1, 0), 64)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("expression", EXPRESSIONS[1:])
def test_expressions_differ_only_in_face_regions(expression):
    """Same person, same capture: the change from neutral is local to brows, eyes and mouth."""
    ident = sample_identity(0, 5)
    cap = sample_capture(0, 5, 0, 0, "none")
    neutral, eyes = render_face(ident, "neutral", cap, 128)
    other, _ = render_face(ident, expression, cap, 128)
    changed = np.abs(neutral.astype(int) - other.astype(int)).max(axis=2) > 0
    assert changed.sum() > 20, "the expression must change something"
    ys, xs = np.nonzero(changed)
    # inner face: between the outer eye corners (with margin) and from the brows to the chin
    centre_x = eyes[:, 0].mean()
    half = (eyes[1, 0] - eyes[0, 0]) / 2
    assert xs.min() >= centre_x - 2.0 * half and xs.max() <= centre_x + 2.0 * half
    assert ys.min() >= eyes[:, 1].mean() - 0.2 * 128 and ys.max() <= 0.85 * 128
    assert changed.mean() < 0.08


def test_alignment_modes():
    shared = [sample_capture(0, 2, e, 0, "shared") for e in range(6)]
    assert len({(c.dx, c.dy, c.scale, c.angle) for c in shared}) == 1
    independent = [sample_capture(0, 2, e, 0, "independent") for e in range(6)]
    assert len({(c.dx, c.dy, c.scale, c.angle) for c in independent}) == 6
    none = sample_capture(0, 2, 1, 0, "none")
    assert (none.dx, none.dy, none.scale, none.angle) == (0, 0, 1, 0)
    with pytest.raises(ValueError, match="alignment"):
        sample_capture(0, 2, 1, 0, "wobbly")


def test_eye_positions_follow_the_pose():
    ident = sample_identity(0, 1)
    _, eyes_none = render_face(ident, "neutral", sample_capture(0, 1, 0, 0, "none"), 64)
    cap = sample_capture(0, 1, 0, 0, "independent")
    _, eyes_moved = render_face(ident, "neutral", cap, 64)
    shift = (eyes_moved - eyes_none).mean(axis=0)
    assert np.allclose(shift, [cap.dx * 64, cap.dy * 64], atol=3.0)
    assert eyes_none[0, 0] < eyes_none[1, 0]  # right eye (person's) is on the image left


def test_grayscale_and_size_range():
    faces = SyntheticFaces(num_identities=2, size=32, channels=1).render()
    assert faces.images.shape == (12, 1, 32, 32) and faces.images.dtype == torch.uint8
    with pytest.raises(ValueError, match="32 to 256"):
        SyntheticFaces(size=16)
    with pytest.raises(ValueError, match="channels"):
        SyntheticFaces(channels=2)


def test_export_cli(tmp_path, capsys):
    assert synthetic_main([f"out={tmp_path}", "num_identities=3", "size=32"]) == 0
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert "contact_sheet.png" in files
    assert "synth0002/surprise.png" in files and len(files) == 3 * 6 + 1
    assert len((tmp_path / "eyes.csv").read_text().splitlines()) == 1 + 18
    capsys.readouterr()
    assert run(synthetic_main, ["num_identities=3"]) == 2
    assert "missing out=..." in capsys.readouterr().err
    assert run(synthetic_main, [f"out={tmp_path}", "colour=red"]) == 2
    assert "Could not override 'colour'" in capsys.readouterr().err
    assert run(synthetic_main, [f"out={tmp_path}", "size=8"]) == 2
    assert "32 to 256" in capsys.readouterr().err


def test_rendering_in_processes_gives_the_same_pixels_in_order():
    """Forked workers render contiguous ranges of people; gathered in order, every tensor is the
    same as one process's, whatever the number of workers (a worker per person included)."""
    source = SyntheticFaces(num_identities=7, size=32, captures=2)
    one = source.render(workers=1)
    for workers in (3, 7):
        many = source.render(workers=workers)
        for name in ("images", "identity", "expression", "eyes"):
            assert torch.equal(getattr(many, name), getattr(one, name)), (workers, name)
    from expr_gan.data.synthetic import _chunks, _render_workers
    assert [list(c) for c in _chunks(7, 3)] == [[0, 1], [2, 3, 4], [5, 6]]
    assert len(_chunks(2, 8)) == 2 and _render_workers(10) == 1  # a handful of people: no processes
