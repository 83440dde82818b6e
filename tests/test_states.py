"""The end-state classifier (replication/states.py) on outputs whose state is known, and the FC probe."""
import pytest
import torch

from expr_gan.replication import states as S
from expr_gan.replication.measures import dead_units


@pytest.fixture(scope="module")
def known_outputs(tmp_path_factory):
    """Rendered pairs (64 px, 40 people) and outputs whose end state is known."""
    import torch.nn.functional as F

    from expr_gan.data.align import align_to
    from expr_gan.data.pairs import make_pairs
    from expr_gan.data.synthetic import SyntheticFaces

    faces = SyntheticFaces(num_identities=40, size=64).load(tmp_path_factory.mktemp("faces"))
    pairs = make_pairs(faces.identity, faces.expression)
    pairs = pairs[:600]  # every ordered pair of the first 20 people: each source with all 5 other targets
    src, tgt = faces.images[pairs[:, 0]].float() / 255, faces.images[pairs[:, 1]].float() / 255

    def blur(x, f):
        return F.interpolate(F.avg_pool2d(x, f), scale_factor=f, mode="bilinear", align_corners=False)

    gen = torch.Generator().manual_seed(0)
    aligned = align_to(faces.images[pairs[:, 1]].float(), faces.eyes[pairs[:, 0]], faces.eyes[pairs[:, 1]]) / 255
    mean_face = faces.images.float().mean(0) / 255
    outputs = {"photos": tgt, "aligned photos": aligned, "photos blurred 2x": blur(tgt, 2),
               "photos blurred 4x": blur(tgt, 4), "noise": torch.rand(tgt.shape, generator=gen),
               "one noise image": torch.rand(tgt[:1].shape, generator=gen).expand_as(tgt),
               "photos under noise": (tgt + 0.1 * torch.randn(tgt.shape, generator=gen)).clamp(0, 1),
               # noise of sigma 16 grey levels per channel on a blurred face: the Laplacian reads a blurry face
               "blurred photos under noise": (blur(tgt, 2) + 16 / 255 * torch.randn(tgt.shape, generator=gen)).clamp(0, 1),
               "photos under faint noise": (tgt + 4 / 255 * torch.randn(tgt.shape, generator=gen)).clamp(0, 1),
               "blurred photos under faint noise": (blur(tgt, 2) + 4 / 255 * torch.randn(tgt.shape, generator=gen)).clamp(0, 1),
               "mean face": mean_face.expand_as(tgt), "copy": src, "blurred copy": blur(src, 2),
               "black": torch.zeros_like(tgt), "white": torch.ones_like(tgt), "darkened photos": tgt * 0.5,
               "colour of the source": src.mean((2, 3), keepdim=True).expand_as(src),
               "faded photos": tgt.mean((1, 2, 3), keepdim=True) + 0.4 * (tgt - tgt.mean((1, 2, 3), keepdim=True)),
               # saturated colour in soft blotches: too few edges for the Laplacian rule (the report's "noise")
               "blotches of colour": F.interpolate((torch.rand(len(tgt), 3, 4, 4, generator=gen) > 0.5).float(),
                                                   scale_factor=16, mode="bilinear", align_corners=False),
               "another person's photos": tgt.roll(200, 0)}
    return outputs, src, tgt, faces.identity[pairs[:, 0]], mean_face, pairs[:, 0]


@pytest.mark.parametrize("name, state", [
    ("photos", "sharp face"), ("aligned photos", "sharp face"), ("photos blurred 2x", "blurry face"),
    ("photos blurred 4x", "blurry face"), ("noise", "noise"), ("one noise image", "noise"),
    ("photos under noise", "noise"), ("blurred photos under noise", "noise"), ("photos under faint noise", "sharp face"),
    ("blurred photos under faint noise", "blurry face"), ("mean face", "constant"), ("copy", "copy"), ("blurred copy", "copy"),
    ("black", "dark"), ("white", "washed"), ("darkened photos", "dark"), ("colour of the source", "faded"),
    ("faded photos", "faded"), ("blotches of colour", "noise"), ("another person's photos", "shapeless")])
def test_end_states_of_known_outputs(known_outputs, name, state):
    outputs, src, tgt, identity, mean_face, source_index = known_outputs
    measures = S.state_measures(outputs[name], src, tgt, identity, mean_face, source_index)
    # what the expression judge reads in them: the source's expression in a copy, else the target's
    target_read, source_read = (0.0, 1.0) if name in ("copy", "blurred copy") else (1.0, 0.0)
    measures.update(expr_acc=target_read, source_expr_acc=source_read)
    assert S.classify(measures) == state, measures
    if name == "blotches of colour":  # the blotch rule decides, not the Laplacian's
        assert max(measures["sharpness"], measures["fine_detail"]) < S.NOISE_SHARPNESS, measures
    assert S.is_face(state) == (state in ("sharp face", "blurry face", "copy"))


def test_grain_on_a_blurred_face_is_noise_which_the_laplacian_alone_misses(known_outputs):
    """Revision R8: noise laid on a blurred face leaves less Laplacian detail than a photo has, so before
    R8 it read as a face (here `sharp face`: the noise's own edges count as the photos' detail); the
    pixel-noise estimate reads the noise itself, on any face under it."""
    outputs, src, tgt, identity, mean_face, source_index = known_outputs
    measures = S.state_measures(outputs["blurred photos under noise"], src, tgt, identity, mean_face, source_index)
    measures.update(expr_acc=1.0, source_expr_acc=0.0)
    assert max(measures["sharpness"], measures["fine_detail"]) < S.NOISE_SHARPNESS, measures
    assert S.classify(measures, {"grain": False}) == "sharp face"
    assert S.classify(measures) == "noise" and measures["pixel_noise"] >= S.NOISE_LEVEL


def test_pixel_noise_reads_the_noise_on_a_sharp_or_a_blurred_face(known_outputs):
    from expr_gan.metrics.realism import pixel_noise

    outputs, tgt = known_outputs[0], known_outputs[2]
    blurred = outputs["photos blurred 2x"]
    gen = torch.Generator().manual_seed(1)
    grey_noise = 12 / 255 * torch.randn(tgt[:, :1].shape, generator=gen)  # the same noise in every channel
    assert pixel_noise(blurred) < 0.5 and 1.5 < pixel_noise(tgt) < 4  # the rendered faces' own edges and sensor noise
    assert abs(pixel_noise((blurred + grey_noise).clamp(0, 1)) - 12) < 0.5
    assert abs(pixel_noise((tgt + grey_noise).clamp(0, 1)) - 12) < 1.0
    per_channel = 12 / 255 * torch.randn(tgt.shape, generator=gen)  # averaging three channels leaves 1/sqrt(3)
    assert abs(pixel_noise((blurred + per_channel).clamp(0, 1)) - S.NOISE_LEVEL) < 0.3
    assert pixel_noise((tgt * 255).round().to(torch.uint8)) == pytest.approx(pixel_noise(tgt), abs=0.05)


def test_a_copy_needs_the_judge_to_read_the_source_not_the_target(known_outputs):
    """Revision R7: the source's layout is not enough. The input itself, if the judge read the target in
    42 % of them (the one-hot acting), is no copy; nor is it when the judge reads the source in under half."""
    outputs, src, tgt, identity, mean_face, source_index = known_outputs
    measures = S.state_measures(outputs["copy"], src, tgt, identity, mean_face, source_index)
    assert S.classify({**measures, "expr_acc": 0.0, "source_expr_acc": 1.0}) == "copy"
    assert S.classify({**measures, "expr_acc": 0.42, "source_expr_acc": 0.55}) == "sharp face"
    assert S.classify({**measures, "expr_acc": 0.1, "source_expr_acc": 0.4}) == "sharp face"
    # before R7 the pixels alone decided
    assert S.classify({**measures, "expr_acc": 0.42, "source_expr_acc": 0.55}, {"copy_judge": False}) == "copy"


def test_sharp_is_a_band_around_the_photos():
    assert S.is_sharp(1.0) and S.is_sharp(0.73)  # photos, eye-aligned photos
    assert not S.is_sharp(0.32) and not S.is_sharp(5.4)  # photos blurred 2x; the noise of the old cGAN job


def test_dead_units_counts_relu_units_that_never_fire():
    from torch import nn

    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2), nn.LeakyReLU(0.2))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0, 1.0]))  # three units never fire

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = net

        def forward(self, x, onehot):
            return self.fc(x)

    assert dead_units(Net(), torch.randn(8, 4), torch.zeros(8, 6)) == {"fc.0": 0.5}  # LeakyReLU units never die


