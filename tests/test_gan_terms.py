"""The conditional GAN's terms and edit targets, each on a batch whose answer is known: what D learns as
real (`targets.d_real`), the reconstruction target (`targets.rec_target`), the changed region, the
binary-mask, mask-region, edge and feature-matching terms; which combinations are refused, and why."""
from pathlib import Path

import pytest
import torch
from torch import nn

from expr_gan.losses import discriminator_terms as D
from expr_gan.losses import generator_adversarial as GA
from expr_gan.losses import image_terms as I
from expr_gan.losses import mask_terms as M
from expr_gan.losses.adversarial import GANLoss
from expr_gan.losses.edit_targets import EditTargets
from expr_gan.imaging import changed_region
from expr_gan.losses.term import Generated, weighted_sum
from expr_gan.modules.conditional_gan import ConditionalGANModule
from expr_gan.nets.patchgan import PatchDiscriminator
from expr_gan.nets.unet import UNetGenerator


def make_module(g_terms: dict | None = None, d_terms: dict | None = None, mask: bool = True,
                discriminator: nn.Module | None = None, **targets) -> ConditionalGANModule:
    """A tiny attention U-Net and PatchGAN with the given terms (by default: adv and an L1 reconstruction)."""
    torch.manual_seed(0)
    if g_terms is None:
        g_terms = {"adv": GA.FoolDiscriminator(), "rec": I.Reconstruction(nn.L1Loss())}
    return ConditionalGANModule(UNetGenerator(image_size=32, width=8, mask=mask),
                                discriminator or PatchDiscriminator(width=8), nn.L1Loss(), GANLoss("lsgan"),
                                g_terms=g_terms, d_terms=d_terms or {"adv": D.RealVsFake()},
                                targets=EditTargets(**targets))


def g_values(module: ConditionalGANModule, batch: dict) -> tuple[dict, dict, torch.Tensor]:
    """(raw, weighted, total) of G's terms on `batch`, as one G update computes them."""
    return weighted_sum(module.g_terms, module.generator_step(module.targets(batch, module.needs_region)))


def make_batch() -> dict:
    """A source, a target that differs from it only in an 8x8 square, and a differently lit 'photo'."""
    source = torch.rand(2, 3, 32, 32) * 0.2 - 0.1
    aligned = source.clone()
    aligned[:, :, 12:20, 12:20] = 0.9  # the expression change
    return {"source": source, "target_aligned": aligned, "target": aligned + 0.3,
            "target_onehot": torch.eye(6)[:2], "target_expr": torch.tensor([0, 1]), "source_expr": torch.tensor([2, 3])}


def test_changed_region_marks_the_change_and_its_margin_only():
    batch = make_batch()
    region = changed_region(batch["source"], batch["target_aligned"])
    assert region.shape == (2, 1, 32, 32) and set(region.unique().tolist()) <= {0.0, 1.0}
    assert region[:, :, 12:20, 12:20].all()
    # the 9x9 high-pass spreads the change by 4 px, the margin by 2 more; beyond that nothing changed
    assert region[:, :, :5].sum() == 0 and region[:, :, 27:].sum() == 0
    lit = batch["source"] + 0.3  # a lighting change alone is not a change (high-passed)
    assert changed_region(batch["source"], lit).sum() == 0


def test_composite_reconstruction_target():
    batch = make_batch()
    assert make_module().reconstruction_target(batch) is batch["target_aligned"]
    composite = make_module(rec_target="composite").reconstruction_target(batch)
    assert torch.equal(composite[:, :, 12:20, 12:20], batch["target_aligned"][:, :, 12:20, 12:20])
    assert torch.equal(composite[:, :, :8], batch["source"][:, :, :8])  # a copy outside the change
    with pytest.raises(ValueError, match="model.targets.rec_target='x'"):
        make_module(rec_target="x")


@pytest.mark.parametrize("d_real,key", [("target", "target_aligned"), ("photo", "target"), ("source", "source")])
def test_what_d_learns_as_real(d_real, key):
    batch = make_batch()
    edit = EditTargets(d_real=d_real)(batch)
    assert edit.real is batch[key]
    assert torch.equal(edit.real_expr, batch["source_expr" if d_real == "source" else "target_expr"])
    assert torch.equal(edit.real_onehot.argmax(1), edit.real_expr)


def test_binary_mask_and_feature_matching_terms():
    batch = make_batch()
    plain = g_values(make_module(), batch)[0]
    module = make_module({"adv": GA.FoolDiscriminator(), "mask_binary": M.BinaryMask(2.0), "fm": GA.FeatureMatching()})
    raw, weighted, total = g_values(module, batch)
    assert "mask_binary" not in plain and "fm" not in plain
    mask = make_module().generator.forward_with_mask(batch["source"], batch["target_onehot"])[1]
    assert raw["mask_binary"].item() == pytest.approx((mask * (1 - mask)).mean().item(), rel=1e-5)
    assert weighted["mask_binary"].item() == pytest.approx(2 * raw["mask_binary"].item(), rel=1e-6)  # weight 2
    assert raw["fm"].item() > 0 and total.item() == pytest.approx(sum(v.item() for v in weighted.values()), rel=1e-6)
    raw["fm"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.generator.parameters())


def test_mask_region_term_is_zero_when_the_mask_paints_exactly_the_changed_region(monkeypatch):
    batch = make_batch()
    module = make_module({"mask_region": M.MaskOnChange(3.0)})
    assert module.needs_region  # the term reads the changed region, so the batch computes it
    region = changed_region(batch["source"], batch["target_aligned"])
    mask = module.generator.forward_with_mask(batch["source"], batch["target_onehot"])[1]
    raw, weighted, _ = g_values(module, batch)
    assert weighted["mask_region"].item() == pytest.approx(3.0 * ((1 - mask) - region).abs().mean().item(), rel=1e-5)
    exact = lambda net, source, onehot: Generated(source, 1 - region, {})  # noqa: E731  paints the changed square only
    monkeypatch.setattr(module, "generate", exact)
    assert g_values(module, batch)[0]["mask_region"].item() == 0.0
    assert not make_module().needs_region  # nothing reads it: not computed


def test_gradient_difference_sees_edges_not_colours():
    from expr_gan.imaging import gradient_difference

    target = make_batch()["target_aligned"]
    assert gradient_difference(target, target).item() == 0.0
    assert gradient_difference(target + 0.5, target).item() == pytest.approx(0.0, abs=1e-6)  # a colour shift
    blurred = torch.nn.functional.avg_pool2d(target, 3, 1, 1, count_include_pad=False)
    assert gradient_difference(blurred, target).item() > 0.01  # the square's edges are weaker
    module = make_module({"grad": I.GradientDifference(2.0)}, rec_target="composite")
    g_values(module, make_batch())[0]["grad"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.generator.parameters())


def test_terms_the_networks_cannot_serve_are_refused_naming_the_term():
    """Refused in one place (check_terms), at construction, with the term's key and what it needs."""
    with pytest.raises(ValueError, match=r"model.g_terms.fm: FeatureMatching needs a discriminator with feature_maps"):
        make_module({"fm": GA.FeatureMatching()}, discriminator=nn.Conv2d(3, 1, 1))
    with pytest.raises(ValueError, match=r"model.g_terms.tv: MaskSmoothness needs a generator with an attention mask"):
        make_module({"tv": M.MaskSmoothness()}, mask=False)
    with pytest.raises(ValueError, match=r"model.d_terms.cls: ExpressionHead needs a discriminator with an expression head"):
        make_module(d_terms={"adv": D.RealVsFake(), "cls": D.ExpressionHead()})
    with pytest.raises(ValueError, match=r"model.g_terms.gp: GradientPenalty is a D term; list it under model.d_terms"):
        make_module({"gp": D.GradientPenalty()})
    with pytest.raises(ValueError, match=r"model.g_terms.l1: expected a loss term .* got L1Loss"):
        make_module({"l1": nn.L1Loss()})
    heads = make_module({"cls": GA.ExpressionHeadOnFake()}, discriminator=PatchDiscriminator(width=8, num_classes=6))
    assert list(heads.g_terms) == ["cls"]


def test_a_term_at_weight_zero_or_null_is_not_computed():
    module = make_module({"adv": GA.FoolDiscriminator(0.0), "rec": I.Reconstruction(nn.L1Loss()), "cyc": None})
    assert list(module.g_terms) == ["rec"]
    assert set(g_values(module, make_batch())[0]) == {"rec"}


def resampling_blur(x: torch.Tensor) -> torch.Tensor:
    """A [1/4, 1/2, 1/4] blur along both axes: the softening of bilinear resampling, without a shift."""
    k, pad = (0.25, 0.5, 0.25), torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
    rows = k[0] * pad[..., :, :-2] + k[1] * pad[..., :, 1:-1] + k[2] * pad[..., :, 2:]
    return k[0] * rows[..., :-2, :] + k[1] * rows[..., 1:-1, :] + k[2] * rows[..., 2:, :]


def lit_and_softened_batch() -> dict:
    """make_batch's pair, but the target captured in another light (a gain and a gradient) and
    resampled (its noise and its edge softened), as an eye-aligned target is: only the square is a change."""
    batch = make_batch()
    source = batch["source"] / 10  # sensor noise of a few grey levels
    source[:, :, 2:5] = 0.4  # a horizontal band (a brow), so the fit sees structure along y too
    source[:, :, :, 23:27] = torch.tensor([0.1, 0.3, 0.5, 0.7])  # an anti-aliased edge (hair line, glasses)
    source[:, :, :, 27:] = 0.8
    aligned = source.clone()
    aligned[:, :, 12:20, 12:20] = 0.9
    light = 1.15 + 0.1 * torch.linspace(-1, 1, 32)  # brighter, and brighter to the right
    batch["source"], batch["target_aligned"] = source, (resampling_blur(aligned) + 1) * light - 1  # a gain acts on [0, 2]
    return batch


def rendered_pair(person: int, source_expr: str, target_expr: str, target_in_source_light: bool = False):
    """(source, target eye-aligned to it) from the embedded renderer at 64 px, in [-1, 1]. With
    `target_in_source_light`: the target photo taken in the source's light, without sensor noise
    (what relighting should recover)."""
    import dataclasses

    from expr_gan.data.align import align_to
    from expr_gan.data.faces import EXPRESSIONS, render_face, sample_capture, sample_identity

    ident = sample_identity(0, person)
    source_capture = sample_capture(0, person, EXPRESSIONS.index(source_expr), 0)
    target_capture = sample_capture(0, person, EXPRESSIONS.index(target_expr), 0)
    if target_in_source_light:
        target_capture = dataclasses.replace(target_capture, light_angle=source_capture.light_angle, noise_sigma=0.0,
                                             light_strength=source_capture.light_strength,
                                             brightness=source_capture.brightness)
    (src, src_eyes), (tgt, tgt_eyes) = (render_face(ident, e, c, 64) for e, c in
                                        ((source_expr, source_capture), (target_expr, target_capture)))
    to_tensor = lambda im: torch.from_numpy(im).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    return to_tensor(src), align_to(to_tensor(tgt), torch.tensor(src_eyes)[None], torch.tensor(tgt_eyes)[None]), src_eyes


def test_relighting_recovers_the_target_as_photographed_in_the_sources_light():
    from expr_gan.imaging import relit_change

    errors = []
    for person in range(4):
        source, aligned, _ = rendered_pair(person, "neutral", "surprise")
        truth = rendered_pair(person, "neutral", "surprise", target_in_source_light=True)[1]
        region, relit = relit_change(source, aligned)
        inside = region.expand_as(source).bool()
        errors.append(((aligned - truth)[inside].abs().mean(), (relit - truth)[inside].abs().mean()))
    before, after = torch.tensor(errors).T
    assert after.max() < 0.02  # 2.5 grey levels: the size of the sensor noise
    assert after.mean() < 0.4 * before.mean()


def test_relit_change_marks_only_what_the_expression_moved():
    """neutral -> mouth_open changes the mouth only: the high-passed region also marks the eyes
    (resampling softens their sharp edges), the relit one marks the mouth and leaves the eyes alone."""
    from expr_gan.imaging import changed_region, relit_change

    for person in range(3):
        source, aligned, eyes = rendered_pair(person, "neutral", "mouth_open")
        eye_rows = slice(int(eyes[:, 1].mean()) - 3, int(eyes[:, 1].mean()) + 4)
        plain, (region, _) = changed_region(source, aligned), relit_change(source, aligned)
        assert plain[..., eye_rows, :].sum() > 50
        assert region[..., eye_rows, :].sum() == 0
        assert region[..., int(eyes[:, 1].mean()) + 10 :, :].sum() > 50  # the mouth


def test_relight_option_builds_the_composite_from_the_relit_target():
    batch = lit_and_softened_batch()
    module = make_module({"change": I.ChangedRegionL1()}, rec_target="composite", relight=True, d_real="composite")
    composite = module.reconstruction_target(batch)
    assert torch.equal(composite[:, :, :, 24:], batch["source"][:, :, :, 24:])  # the edge is copied, not repainted
    unlit = batch["target_aligned"][:, :, 14:18, 14:18].mean().item()
    assert abs(composite[:, :, 14:18, 14:18].mean().item() - 0.9) < 0.5 * abs(unlit - 0.9)  # in the source's light
    assert torch.equal(module.targets(batch).real, composite)  # D's real images are what a perfect G outputs
    assert g_values(module, batch)[0]["change"].item() > 0
    with pytest.raises(ValueError, match="model.targets.d_real='x'"):
        make_module(d_real="x")


def test_relighting_runs_in_float32_under_mixed_precision():
    """bf16 autocast (the GPU presets) must not turn the least-squares fit into a bf16 solve."""
    from expr_gan.imaging import relit_change

    source, aligned, _ = rendered_pair(0, "neutral", "surprise")
    region, relit = relit_change(source, aligned)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        region_amp, relit_amp = relit_change(source, aligned)
    assert relit_amp.dtype == torch.float32 and torch.allclose(relit_amp, relit, atol=1e-5)
    assert torch.equal(region_amp, region)


SKIP_RUN = ["model=dcgan", "model.ema_decay=0.9", "on_nonfinite=skip", "max_batches=3", "logger=none",
            "callbacks.eval_metrics=null", "+callbacks.initial._target_=helpers.InitialWeights"]


def _changed(cfg, prefix: str) -> bool:
    """Whether the run's weights under `prefix` moved (batch-norm statistics move with any forward pass)."""
    import helpers
    from pathlib import Path

    from expr_gan.checkpoint import load_checkpoint

    final = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")["state_dict"]
    return any(not torch.equal(v, helpers.InitialWeights.state[k]) for k, v in final.items()
               if k.startswith(prefix) and "running_" not in k and (v.is_floating_point() or k == "ema_updates"))


def test_a_skipped_d_update_skips_the_g_update_and_the_ema_after_it(make_cfg):
    from expr_gan.commands.train import train

    cfg = make_cfg(*SKIP_RUN, "+model.d_terms.nan={_target_: helpers.NaNTerm, phase: D}")
    metrics = train(cfg)
    assert metrics["train/nonfinite_skipped"] == 3  # every batch, once: nothing after the skipped update ran
    assert not _changed(cfg, "discriminator.") and not _changed(cfg, "generator.") and not _changed(cfg, "generator_ema.")
    assert not _changed(cfg, "ema_updates")


def test_a_skipped_g_update_skips_the_ema_but_not_the_d_update_before_it(make_cfg):
    from expr_gan.commands.train import train

    cfg = make_cfg(*SKIP_RUN, "+model.g_terms.nan={_target_: helpers.NaNTerm}")
    metrics = train(cfg)
    assert metrics["train/nonfinite_skipped"] == 3
    assert _changed(cfg, "discriminator.") and not _changed(cfg, "generator.") and not _changed(cfg, "generator_ema.")
    finite = make_cfg(*SKIP_RUN)
    finite.paths.output_dir += "_finite"
    train(finite)
    assert _changed(finite, "generator.") and _changed(finite, "generator_ema.")  # the positive control


def test_a_new_term_is_one_class_and_one_override(make_cfg):
    """docs/extending.md "Add a loss term": a class (here tests/helpers.py MeanColour) and one override train it,
    log its raw value and count it in the total with its weight."""
    from expr_gan.commands.train import train

    metrics = train(make_cfg("model=dcgan", "max_batches=4", "logger=none", "callbacks.eval_metrics=null",
                             "+model.g_terms.colour={_target_: helpers.MeanColour, weight: 5}"))
    assert metrics["train/G/colour"] > 0
    assert metrics["train/G/total"] == pytest.approx(
        metrics["train/G/adv"] + metrics["train/G/rec"] + 5 * metrics["train/G/colour"], rel=1e-5)


TERM_FILES = [(group, p.stem) for group in ("g_term", "d_term")
              for p in sorted((Path(__file__).parents[1] / "conf" / group).glob("*.yaml"))]


@pytest.mark.parametrize("group,name", TERM_FILES)
def test_every_term_file_adds_its_term_at_a_key(make_cfg, group, name):
    """`+g_term@model.g_terms.x=<file>` (or d_term) composes onto ours and builds the term, in its phase."""
    import hydra

    import yaml

    phase = group[0]
    head = ["model.discriminator.num_classes=6"] if name == "expression_head" else []
    target = yaml.safe_load((Path(__file__).parents[1] / "conf" / group / f"{name}.yaml").read_text())["_target_"]
    # a term on a warping generator's flow composes onto warp_cpu (ours refuses it, naming the term)
    experiment = "warp_cpu" if "flow" in hydra.utils.get_class(target).requires else "ours_cpu"
    cfg = make_cfg(f"experiment={experiment}", f"+{group}@model.{phase}_terms.x={name}", *head)
    module = hydra.utils.instantiate(cfg.model)
    terms = module.g_terms if phase == "g" else module.d_terms
    assert "x" in terms and terms["x"].phase == phase.upper() and list(terms)[-1] == "x"  # summed last

