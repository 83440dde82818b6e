"""The warping generator (issue 29): the renderer's named points, carried into the aligned frame; the
flow's direction; the flow terms on flows whose answer is known; the photo paste that moves the
photo's own pixels; a tiny warp_cpu run end to end."""
import numpy as np
import pytest
import torch
from torch import nn

from expr_gan.data.align import aligned_pair_targets, points_to_source
from expr_gan.data.face_points import POINT_NAMES, face_points
from expr_gan.data.faces import EXPRESSIONS, render_face, sample_capture, sample_identity
from expr_gan.losses.flow_terms import FlowAtPoints, FlowSmoothness, ResidualSize, flow_at
from expr_gan.losses.term import EditBatch, GeneratorStep, check_terms
from expr_gan.nets.patchgan import PatchDiscriminator
from expr_gan.nets.unet import UNetGenerator
from expr_gan.nets.warp import WarpGenerator, warp_image
from expr_gan.photo.align import crop_matrix
from expr_gan.photo.paste import paste_warp, region_mask
from test_photo import fake_face


def test_points_sit_on_what_the_renderer_draws():
    """The eye points are render_face's eyes; an open mouth is dark between its lips; laughing puts the
    lower lip lower and the corners wider than neutral; surprise lifts the brows."""
    ident = sample_identity(0, 5)
    index = {name: i for i, name in enumerate(POINT_NAMES)}
    points = {}
    for e, name in enumerate(EXPRESSIONS):
        capture = sample_capture(0, 5, e, 0)
        image, eyes = render_face(ident, name, capture, 128)
        points[name] = face_points(ident, name, capture, 128)
        assert np.allclose(points[name][:2], eyes, atol=1e-4)
        if name in ("surprise", "mouth_open"):
            mid = (points[name][index["upper_lip"]] + points[name][index["lower_lip"]]) / 2
            x, y = int(mid[0]), int(mid[1])
            assert image[y, x].mean() < 90, (name, image[y, x])  # the mouth's dark inside
    straight = {n: face_points(ident, n, sample_capture(0, 5, 0, 0, "none"), 128) for n in EXPRESSIONS}
    lip, corners = index["lower_lip"], [index["right_mouth_corner"], index["left_mouth_corner"]]
    assert straight["laughing"][lip, 1] > straight["neutral"][lip, 1] + 3
    width = lambda p: p[corners[1], 0] - p[corners[0], 0]
    assert width(straight["laughing"]) > width(straight["neutral"]) + 3
    assert straight["surprise"][index["left_brow_mid"], 1] < straight["neutral"][index["left_brow_mid"], 1] - 3


def test_target_points_follow_the_target_into_the_sources_pose():
    """Aligned by the eyes, the target's eye centres land on the source's, exactly; its nose tip (the
    same person) within a tenth of a pixel; unknown eyes leave the points as they are."""
    ident, size = sample_identity(0, 2), 64
    caps = [sample_capture(0, 2, e, 0) for e in (0, 3)]
    src, tgt = (torch.from_numpy(face_points(ident, EXPRESSIONS[e], c, size))[None] for e, c in zip((0, 3), caps))
    moved = points_to_source(tgt, src[:, :2], tgt[:, :2])
    assert torch.allclose(moved[:, :2], src[:, :2], atol=1e-4)
    assert (moved[0, -1] - src[0, -1]).norm() < 0.1 and (tgt[0, -1] - src[0, -1]).norm() > 0.5
    unknown = torch.full((1, 2, 2), float("nan"))
    assert torch.equal(points_to_source(tgt, unknown, unknown), tgt)


def test_batches_carry_points_only_for_models_that_read_them(tmp_path):
    from expr_gan.data.datamodule import FacePairsDataModule
    from expr_gan.data.synthetic import SyntheticFaces

    dm = FacePairsDataModule(SyntheticFaces(num_identities=6, size=32), size=32, cache_dir=tmp_path,
                             align_targets=True, flip=True, split_fractions=(0.5, 0.25, 0.25))
    dm.setup()
    assert "source_points" not in next(iter(dm.train_dataloader()))  # no trainer, no model that reads them
    dm.trainer = type("T", (), {"lightning_module": type("M", (), {"uses_points": True})(), "world_size": 1})()
    batch = next(iter(dm.train_dataloader()))
    assert batch["source_points"].shape == batch["target_points"].shape == (len(batch["source"]), len(POINT_NAMES), 2)
    # eye centres: the aligned target's are the source's (flipped pairs included, mirrored together)
    assert torch.allclose(batch["source_points"][:, :2], batch["target_points"][:, :2], atol=1e-3)


def test_the_flow_samples_backwards_in_pixels():
    """Zero flow returns the image; a flow of +1 px in x shows each pixel its right neighbour."""
    image = torch.rand(1, 3, 8, 8)
    assert torch.allclose(warp_image(image, torch.zeros(1, 2, 8, 8)), image, atol=1e-6)
    one_px = torch.zeros(1, 2, 8, 8)
    one_px[:, 0] = 2 / 8
    assert torch.allclose(warp_image(image, one_px)[..., :-1], image[..., 1:], atol=1e-5)
    # a bf16 flow (GPU autocast) still samples on a float32 grid: zero flow returns a 128 px image exactly
    big = torch.rand(1, 3, 128, 128)
    assert torch.allclose(warp_image(big, torch.zeros(1, 2, 128, 128, dtype=torch.bfloat16)), big, atol=1e-5)


def _step(flow, source_points, target_points, fake=None, warped=None) -> GeneratorStep:
    b = len(flow)
    batch = EditBatch(*([None] * 11), source_points=source_points, target_points=target_points)
    fake = torch.zeros(b, 3, *flow.shape[-2:]) if fake is None else fake
    return GeneratorStep(batch, fake, None, None, None, None, None, None, None, None,
                         {"flow": flow, "warped": fake if warped is None else warped})


def test_flow_terms_on_flows_whose_answer_is_known():
    size = 16
    source = torch.tensor([[[4.0, 5.0], [10.0, 8.0]]])
    target = torch.tensor([[[5.0, 5.0], [10.0, 6.0]]])
    # a flow that is the motion at every pixel near each point: read at the target's points, it is s - t
    flow = torch.zeros(1, 2, size, size)
    flow[0, 0, :, :8], flow[0, 1, :, 8:] = -1 * 2 / size, 2 * 2 / size
    assert torch.allclose(flow_at(flow * size / 2, target), source - target, atol=1e-5)
    assert FlowAtPoints()(_step(flow, source, target)).item() == pytest.approx(0, abs=1e-5)
    zero = torch.zeros(1, 2, size, size)
    assert FlowAtPoints()(_step(zero, source, target)).item() == pytest.approx(1.5)  # mean of 1 and 2 px
    unknown = torch.cat([source, torch.full((1, 1, 2), float("nan"))], 1)
    assert FlowAtPoints()(_step(zero, unknown, torch.cat([target, target[:, :1]], 1))).item() == pytest.approx(1.5)
    assert FlowSmoothness()(_step(torch.full((1, 2, size, size), 0.3), source, target)).item() == 0
    # between columns 7 and 8 x steps by 1 px and y by 2 px: the mean |d/dx| over 2 channels x 15 column gaps
    assert FlowSmoothness()(_step(flow, source, target)).item() == pytest.approx((1 + 2) / (2 * 15))
    fake, warped = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    fake[..., 0, 0] = 1.6
    assert ResidualSize()(_step(zero[..., :4, :4], source, target, fake, warped)).item() == pytest.approx(0.1)


def test_flow_terms_need_a_warping_generator_and_points():
    with pytest.raises(ValueError, match="g_terms.flow.*needs a warping generator.*UNetGenerator has none"):
        check_terms({"flow": FlowAtPoints()}, "G", UNetGenerator(image_size=32, width=8, mask=True),
                    PatchDiscriminator(width=8))
    warp = WarpGenerator(image_size=32, width=8)
    assert "flow" in check_terms({"flow": FlowAtPoints()}, "G", warp, PatchDiscriminator(width=8))
    with pytest.raises(ValueError, match="needs the renderer's named points"):
        FlowAtPoints()(_step(torch.zeros(1, 2, 8, 8), None, None))
    with pytest.raises(ValueError, match="mask=false"):
        WarpGenerator(image_size=32, width=8, mask=False)


def test_a_warping_generator_starts_near_the_input_and_returns_its_parts():
    torch.manual_seed(0)
    net = WarpGenerator(image_size=32, width=8)
    x, onehot = torch.rand(2, 3, 32, 32) * 2 - 1, torch.eye(6)[:2]
    parts = net(x, onehot, with_parts=True)
    assert set(parts) == {"image", "mask", "flow", "warped"} and parts["flow"].shape == (2, 2, 32, 32)
    assert parts["flow"].abs().max() <= 0.25 and parts["mask"].mean() > 0.8
    image, mask = net(x, onehot, with_mask=True)
    assert torch.equal(image, parts["image"]) and torch.equal(mask, parts["mask"])
    # output = mask * warped + (1 - mask) * colour, colour and warped in [-1, 1]: it leaves the warp by
    # at most twice the painted share
    assert ((parts["image"] - parts["warped"]).abs() <= 2 * (1 - parts["mask"]) + 1e-6).all()


def test_paste_warp_moves_the_photos_own_pixels_and_nothing_outside():
    """A crop flow of +1 crop pixel in x moves the photo's pixels by one crop pixel's worth of photo
    pixels (here the crop is 1/2 the photo's scale: 2 photo pixels); zero flow and no paint change nothing."""
    face = fake_face((100.0, 120.0), (160.0, 120.0))
    photo = np.zeros((300, 260, 3), np.uint8)
    photo[:] = (np.arange(260) % 256).astype(np.uint8)[None, :, None]  # a horizontal ramp: x is readable
    mask = region_mask(face.points, (260, 300))
    size = 32
    matrix = crop_matrix(face.eyes, size)
    scale = float(np.hypot(*matrix[:, 0]))  # crop pixels per photo pixel
    crop = np.zeros((size, size, 3), np.float32)
    assert np.array_equal(paste_warp(photo, crop, crop, np.zeros((size, size, 2), np.float32), matrix, mask), photo)
    flow = np.zeros((size, size, 2), np.float32)
    flow[..., 0] = 2 / size  # +1 crop pixel in x
    moved = paste_warp(photo, crop, crop, flow, matrix, mask)
    outside, core = mask == 0, mask == 1
    assert np.array_equal(moved[outside], photo[outside])
    shift = moved[core].astype(float) - photo[core]
    assert np.median(shift) == pytest.approx(1 / scale, abs=1)


def test_warp_cpu_trains_logs_its_terms_and_edits_a_photo_with_its_flow(make_cfg, tmp_path):
    """A tiny warp_cpu run: batches carry points, the flow terms are logged, the grid shows the warped
    input, the checkpoint reloads with its flow, and a photo edited by it is the photo outside the face."""
    from PIL import Image

    from expr_gan.checkpoint import build_module, load_checkpoint
    from expr_gan.data.pixels import PixelRange
    from expr_gan.photo.edit import edit_photo, photo_translate
    from expr_gan.commands.train import train

    cfg = make_cfg("experiment=warp_cpu", "trainer.max_epochs=1", "+trainer.limit_train_batches=3",
                   "logger=none")
    metrics = train(cfg)
    for term in ("flow_points", "flow_smooth", "residual"):
        assert np.isfinite(metrics[f"train/G/{term}"])
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    module = build_module(ckpt)
    assert module.uses_points and isinstance(module.generator, WarpGenerator)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    image, flow = photo_translate(module)(x, torch.eye(6)[:2])
    assert flow.shape == (2, 2, 32, 32) and torch.equal(image, module.translate(x, torch.eye(6)[:2]))
    face = fake_face((100.0, 120.0), (160.0, 120.0))
    rng = np.random.default_rng(1)
    photo = Image.fromarray(rng.integers(0, 256, (300, 260, 3), dtype=np.uint8))
    result = edit_photo(photo, [face], photo_translate(module), PixelRange(), torch.eye(6)[1:3], 32, 3)
    outside = region_mask(face.points, (260, 300)) == 0
    for edited in result.photos:
        assert np.array_equal(edited[outside], np.asarray(photo)[outside])
        assert not np.array_equal(edited, np.asarray(photo))
    # model_flow (evaluate's photo baseline): the model's flow alone, nothing painted
    from expr_gan.photo.scorecard import flow_only

    moved, same_flow = flow_only(photo_translate(module))(x, torch.eye(6)[:2])
    assert torch.equal(same_flow, flow) and torch.allclose(moved, warp_image(x, flow))
    # the sample grid: per person the outputs, the mask, the input as the flow moved it, the real targets
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_0000.png")).astype(float)
    tile = lambda row, col: grid[2 + 34 * row: 34 * (row + 1), 2 + 34 * col: 34 * (col + 1)]  # 32 px, padding 2
    assert (grid.shape[0] - 2) % (4 * 34) == 0 and grid.shape[1] == 7 * 34 + 2
    assert tile(1, 1).mean() > 180  # the mask: mostly white (the input kept) after 3 batches
    for col in range(1, 7):  # the warped input: the source (row 0, column 0) moved by at most a few pixels
        assert np.abs(tile(2, col) - tile(0, 0)).mean() < 12
