"""Networks: faithfulness to the references, every ablation knob, clear size errors."""
import pytest
import torch
from torch import nn

from expr_gan.nets.classifier import ExpressionCNN, ReportClassifierHead
from expr_gan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from expr_gan.nets.encoder_decoder import EncoderDecoder
from expr_gan.nets.refinement import RefinementNet


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_dcgan_reference_parameter_counts():
    """pytorch/examples DCGAN at 64 px, 3 channels, nz 100, width 64, no conv biases."""
    assert count(DCGANGenerator(nz=100, ngf=64, channels=3, image_size=64)) == 3_576_704
    assert count(DCGANDiscriminator(channels=3, ndf=64, image_size=64, fc_dim=0, bias=False)) == 2_765_568


def test_discriminator_grows_one_layer_per_doubling_and_has_heads():
    convs = lambda d: sum(isinstance(m, nn.Conv2d) for m in d.features.modules())
    assert convs(DCGANDiscriminator(image_size=128, ndf=8)) == convs(DCGANDiscriminator(image_size=64, ndf=8)) + 1
    d = DCGANDiscriminator(image_size=128, ndf=8, fc_dim=32, num_classes=6)
    logits, cls = d(torch.randn(3, 3, 128, 128))
    assert logits.shape == (3,) and cls.shape == (3, 6)
    assert any(isinstance(m, nn.Linear) for m in d.real_fake.modules())


def norms(net):
    return sum(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in net.modules())


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_shapes(size, channels):
    net = EncoderDecoder(channels=channels, image_size=size, width=8)
    assert net(torch.randn(2, channels, size, size), torch.eye(6)[:2]).shape == (2, channels, size, size)


@pytest.mark.parametrize("knobs", [
    dict(down="pool", up="upsample"), dict(fc_bottleneck=True, fc_dim=16), dict(condition="dense"),
    dict(act="leaky_relu", init="dcgan", norm_type="instance"), dict(init="default", out_act="none"),
])
def test_generator_knobs(knobs):
    net = EncoderDecoder(image_size=32, width=8, **knobs)
    out = net(torch.randn(2, 3, 32, 32), torch.eye(6)[:2])
    assert out.shape == (2, 3, 32, 32)
    if knobs.get("down") == "pool":
        assert any(isinstance(m, nn.MaxPool2d) for m in net.modules())
        assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    if "fc_bottleneck" in knobs:
        assert net.fc is not None
    if knobs.get("condition") == "dense":  # the one-hot enters at the bottleneck, not as input planes
        assert net.stem[0].in_channels == 3 and net.cond_embed is not None


def test_condition_changes_the_output():
    for condition in ("tile", "dense"):
        net = EncoderDecoder(image_size=32, width=8, condition=condition, norm="none").eval()
        x = torch.randn(1, 3, 32, 32)
        assert not torch.allclose(net(x, torch.eye(6)[:1]), net(x, torch.eye(6)[1:2]))


def test_norm_placement():
    layers = 1 + 3 + 3  # stem, 3 downs, 3 ups (the output conv never has a norm)
    assert norms(EncoderDecoder(image_size=32, width=8, norm="all")) == layers
    assert norms(EncoderDecoder(image_size=32, width=8, norm="none")) == 0
    minimal = EncoderDecoder(image_size=32, width=8, norm="minimal")
    assert norms(minimal) == 1 and isinstance(minimal.stem[1], nn.BatchNorm2d)
    refine = RefinementNet(image_size=32, width=8, norm="minimal")
    assert norms(refine) == 1 and isinstance(refine.down[0][1], nn.BatchNorm2d)  # after the second conv
    assert refine.stem[0].in_channels == 3 * 2 + 6


def test_he_init_matches_the_report_formula():
    net = EncoderDecoder(image_size=32, width=32, init="he", norm="none")
    w = net.down[1][0].weight  # conv 64 -> 128, 4x4
    fan_in, fan_out = 64 * 16, 128 * 16
    assert w.std().item() == pytest.approx((4 / (fan_in + fan_out)) ** 0.5, rel=0.05)


def test_bad_knobs_are_clear_errors():
    with pytest.raises(ValueError, match="image size 36 is not supported"):
        EncoderDecoder(image_size=36)
    with pytest.raises(ValueError, match="act='tanh'"):
        EncoderDecoder(image_size=32, act="tanh")
    with pytest.raises(ValueError, match="norm='some'"):
        EncoderDecoder(image_size=32, norm="some")
    with pytest.raises(ValueError, match="power-of-two"):
        DCGANDiscriminator(image_size=96)


def test_report_classifier_head():
    head = ReportClassifierHead(in_channels=128, num_classes=6, in_size=64)
    assert head.fc.in_features == 36
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in head.convs if isinstance(c, nn.Conv2d)] == [
        (128, 32, (5, 5), (1, 1)), (32, 16, (5, 5), (5, 5)), (16, 1, (2, 2), (2, 2))]
    assert head(torch.randn(2, 128, 64, 64)).shape == (2, 6)
    assert ReportClassifierHead(in_channels=16, in_size=16).fc.in_features == 1
    with pytest.raises(ValueError, match="too small"):
        ReportClassifierHead(in_size=8)
    assert ExpressionCNN(in_channels=1, width=8)(torch.randn(2, 1, 32, 32)).shape == (2, 6)


def test_unet_full_resolution_blocks():
    """`full_res_layers` adds 3x3 blocks at the image's own size, each fed the input again."""
    from expr_gan.nets.unet import UNetGenerator

    torch.manual_seed(0)
    plain, deep = UNetGenerator(image_size=32, width=8, mask=True), UNetGenerator(image_size=32, width=8, mask=True,
                                                                                  full_res_layers=2)
    assert len(plain.full_res) == 0 and len(deep.full_res) == 2
    extra = sum(p.numel() for p in deep.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 2 * ((8 + 3) * 8 * 9 + 8 + 2 * 8)  # conv weights + bias, instance-norm affine
    image, mask = deep(torch.randn(2, 3, 32, 32), torch.eye(6)[:2], with_mask=True)
    assert image.shape == (2, 3, 32, 32) and mask.shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="full_res_layers=-1"):
        UNetGenerator(image_size=32, full_res_layers=-1)


def test_linear_output_can_start_at_mid_grey():
    """out_bias: a linear [0, 255] output under batch norm starts inside the targets' range, not at 0."""
    from expr_gan.nets.encoder_decoder import EncoderDecoder

    x, onehot = torch.rand(4, 3, 32, 32) * 255, torch.eye(6)[:4]
    torch.manual_seed(0)
    zero = EncoderDecoder(image_size=32, width=8, num_down=1, out_act="none", condition="dense")
    torch.manual_seed(0)
    mid = EncoderDecoder(image_size=32, width=8, num_down=1, out_act="none", condition="dense", out_bias=127.5)
    assert abs(float(zero(x, onehot).mean())) < 5 and abs(float(mid(x, onehot).mean()) - 127.5) < 5
    # nothing else differs: the same draws initialise every other weight
    assert all(torch.equal(a, b) for (n, a), (_, b) in zip(zero.named_parameters(), mid.named_parameters())
               if n != "head.0.bias")


def test_scaled_loss_measures_smoothl1_in_grey_levels():
    from expr_gan.losses.reconstruction import ScaledLoss

    out, target = torch.tensor([0.0, 0.5]), torch.tensor([2 / 255, 0.5 + 0.5 / 255])  # 2 and 0.5 grey levels
    loss = ScaledLoss("smoothl1", 127.5)
    # SmoothL1 per element in grey levels: |2| - 0.5 = 1.5 (linear zone), 0.5 * 0.5**2 = 0.125 (quadratic)
    assert float(loss(out * 2 - 1, target * 2 - 1)) == pytest.approx((1.5 + 0.125) / 2, rel=1e-4)
    with pytest.raises(ValueError, match="loss.kind='huber'"):
        ScaledLoss("huber")


def test_tiled_condition_planes_take_the_images_units():
    """cond_scale: a tiled one-hot plane that is on holds 255 next to [0, 255] images (1 by default)."""
    seen = []
    for scale in (1.0, 255.0):
        net = EncoderDecoder(image_size=32, width=8, num_down=1, out_act="none", condition="tile", cond_scale=scale)
        net.stem[0].register_forward_hook(lambda m, inputs, out: seen.append(inputs[0][:, 3:]))
        net(torch.rand(2, 3, 32, 32) * 255, torch.eye(6)[[1, 4]])
    for planes, scale in zip(seen, (1.0, 255.0)):
        assert planes.shape == (2, 6, 32, 32)
        assert torch.equal(planes[0, 1], torch.full((32, 32), scale)) and planes[0, [0, 2, 3, 4, 5]].abs().max() == 0
        assert torch.equal(planes[1, 4], torch.full((32, 32), scale))
