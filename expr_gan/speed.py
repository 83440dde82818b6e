"""Speed options (config group `speed`): channels_last, torch.compile of the sub-networks, cuDNN autotuning.

All are off by default (they cost start-up time or help only on GPUs) and on in `speed=gpu`, which
the 128 px presets (experiment=pix2pix, stargan, ganimation, ours) select. Mixed precision is the
Trainer's own option: `trainer.precision=bf16-mixed` (trainer=gpu sets it).
"""
from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


def apply_speed(module: nn.Module, channels_last: bool = False, compile: bool = False,
                compile_backend: str = "inductor") -> nn.Module:
    """Apply the speed options to a LightningModule in place; returns it.

    `compile` compiles each sub-network that has weights (generator, discriminator, net, refiner,
    head, critic, EMA copy) with `nn.Module.compile`, never the LightningModule: the wrapped
    networks keep their parameter names, so checkpoints load into uncompiled models unchanged.
    `channels_last` converts the weights here and every batch's images as they reach the device.
    """
    # (speed.cudnn_benchmark is process-wide: expr_gan.runtime.run_settings applies it for the run)
    if channels_last:
        module.to(memory_format=torch.channels_last)
        module.channels_last = True
    if compile:
        # a gradient penalty differentiates D's gradients; compiled graphs cannot (no double backward)
        uncompiled = set(getattr(module, "double_backward_networks", lambda: [])())
        for name, child in module.named_children():
            if name in uncompiled:
                log.info("speed.compile: %s stays uncompiled (its gradient penalty needs double backward)", name)
            elif any(p is not None for p in child.parameters()):
                child.compile(backend=compile_backend)
    return module


def to_channels_last(batch: dict) -> dict:
    """The batch with its image tensors ([B, C, H, W]) in channels_last memory format."""
    return {k: v.contiguous(memory_format=torch.channels_last) if torch.is_tensor(v) and v.dim() == 4 else v
            for k, v in batch.items()}
