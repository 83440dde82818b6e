"""What a GAN loss term is, and what it receives: one batch's edit targets and one phase's outputs.

A term is a small `nn.Module` with a `weight` and one job. The conditional GAN
(modules/conditional_gan.py) receives two named collections of them, `model.d_terms` and
`model.g_terms`, and per update sums `weight * term(step)` in the order listed. A term that needs a
network, the GAN objective or the pixel codec finds it in the step it is given, never through the
trainer. A term declares what it needs (`requires`), and `check_terms` refuses a combination the
networks cannot serve, naming the term.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn

from expr_gan.errors import UsageError


class EditBatch(NamedTuple):
    """What both phases need from a batch, computed once per batch (losses/edit_targets.py)."""

    source: torch.Tensor
    onehot: torch.Tensor  # the target expression, one-hot
    target_expr: torch.Tensor
    source_expr: torch.Tensor
    aligned: torch.Tensor  # the target as the data gives it (eye-aligned when the datamodule aligns)
    target: torch.Tensor  # what the pixel terms ask for where the expression changed (relit with `relight`)
    changed: torch.Tensor | None  # [B, 1, H, W] 0/1: where the target differs from the source (None: not needed)
    rec_target: torch.Tensor  # what the reconstruction compares with: `target`, or the composite
    real: torch.Tensor  # what D learns as real (`d_real`), with its one-hot and expression
    real_onehot: torch.Tensor
    real_expr: torch.Tensor
    # the renderer's named points [B, K, 2] (pixels) of the source, and of the target in the frame of
    # `aligned`; None unless a term reads them (`needs_points`) and the data has them
    source_points: torch.Tensor | None = None
    target_points: torch.Tensor | None = None


class Generated(NamedTuple):
    """What a generator gave: its image, its attention mask (None without one) and, from a warping
    generator, its parts (flow, warped input; nets/warp.py), else an empty dict."""

    image: torch.Tensor
    mask: torch.Tensor | None
    parts: dict


class DiscriminatorStep(NamedTuple):
    """What a D term sees: D's outputs on the real images and on G's (detached) output."""

    batch: EditBatch
    fake: torch.Tensor
    real_logits: torch.Tensor
    real_classes: torch.Tensor | None  # D's expression head, when it has one
    fake_logits: torch.Tensor
    fake_classes: torch.Tensor | None
    gan_loss: nn.Module  # the adversarial objective (losses/adversarial.py GANLoss)
    discriminator: nn.Module


class GeneratorStep(NamedTuple):
    """What a G term sees: G's output (and mask), D's view of it, and what a term may call."""

    batch: EditBatch
    fake: torch.Tensor
    mask: torch.Tensor | None  # attention generators: 1 where the input is kept
    fake_logits: torch.Tensor
    fake_classes: torch.Tensor | None
    gan_loss: nn.Module
    discriminator: nn.Module
    generate: Callable  # (image, onehot) -> (image, mask or None) with the generator being trained
    view: Callable  # what pixel terms compare: the image, or its high-pass (edit_targets.py `highpass`)
    decode: Callable  # network pixels -> [0, 1] (the datamodule's pixel codec)
    parts: dict = {}  # a warping generator's flow and warped input (nets/warp.py); never mutated


class LossTerm(nn.Module):
    """One term: `forward(step)` returns its raw value (a scalar) or named parts whose sum is the value.

    `weight` multiplies the value in the phase's total; the raw value is what gets logged
    (`train/G/<name>`). `requires` names what the networks must provide: "mask" (an attention
    generator), "class_head" (a discriminator with an expression head), "feature_maps" (a
    discriminator exposing them), "flow" (a warping generator, nets/warp.py). `needs_region`: the term
    reads `batch.changed`; `needs_points`: it reads the named points (`batch.source_points`). `prepare(datamodule)`
    runs once before training (a term that trains or loads something); `wiring_check=True` under
    Lightning's `fast_dev_run`, where a term skips slow work its value does not need to be computed.
    """

    phase = "G"  # "G" or "D": the collection the term belongs in
    requires: tuple[str, ...] = ()
    needs_region = False
    needs_points = False

    def __init__(self, weight: float = 1.0):
        super().__init__()
        self.weight = float(weight)

    def prepare(self, datamodule, wiring_check: bool = False) -> None:
        """Work done once before training; nothing by default."""

    def extra_repr(self) -> str:
        return f"weight={self.weight}"


def capabilities(generator: nn.Module, discriminator: nn.Module) -> set[str]:
    """What the networks provide to terms (see LossTerm.requires)."""
    found = set()
    if getattr(getattr(generator, "out", None), "mask", False) and hasattr(generator, "forward_with_mask"):
        found.add("mask")
    if getattr(discriminator, "classify", None) is not None:
        found.add("class_head")
    if hasattr(discriminator, "feature_maps"):
        found.add("feature_maps")
    if hasattr(generator, "forward_parts"):
        found.add("flow")
    return found


WHAT = {"mask": "a generator with an attention mask (e.g. nets=unet with mask: true)",
        "class_head": "a discriminator with an expression head (discriminator.num_classes > 0)",
        "feature_maps": "a discriminator with feature_maps (patchgan, multiscale_patchgan)",
        "flow": "a warping generator (nets=warp_unet)"}


def check_terms(terms: dict, phase: str, generator: nn.Module, discriminator: nn.Module) -> dict:
    """The terms of one phase that act (weight != 0), after checking each against its phase and the
    networks; a ValueError names the first term that cannot work and why."""
    collection = f"model.{phase.lower()}_terms"
    have = capabilities(generator, discriminator)
    active = {}
    for name, term in (terms or {}).items():
        if term is None:
            continue
        if not isinstance(term, LossTerm):
            raise UsageError(f"{collection}.{name}: expected a loss term (expr_gan.losses.term.LossTerm), "
                             f"got {type(term).__name__}")
        if term.phase != phase:
            raise UsageError(f"{collection}.{name}: {type(term).__name__} is a {term.phase} term; "
                             f"list it under model.{term.phase.lower()}_terms")
        for need in term.requires:
            if need not in have:
                raise UsageError(f"{collection}.{name}: {type(term).__name__} needs {WHAT[need]}; "
                                 f"{type(generator if need in ('mask', 'flow') else discriminator).__name__} has none")
        if term.weight != 0:
            active[name] = term
    return active


def weighted_sum(terms: dict, step) -> tuple[dict, dict, torch.Tensor]:
    """(raw values by name, with `<name>_<part>` for parts; weighted values by name; their total)."""
    raw, weighted = {}, {}
    for name, term in terms.items():
        value = term(step)
        if isinstance(value, dict):
            raw.update({f"{name}_{part}": v for part, v in value.items()})
            value = sum(value.values())
        raw[name] = value
        weighted[name] = term.weight * value
    return raw, weighted, sum(weighted.values())
