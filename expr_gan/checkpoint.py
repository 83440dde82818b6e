"""Checkpoints: load with weights_only=True and rebuild any model family from its stored config."""
from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not an expr_gan checkpoint."""


def load_checkpoint(path: str | Path) -> dict:
    """torch.load(path, weights_only=True) with errors that name the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"checkpoint {path} is truncated, corrupt or holds more than tensors and plain "
                              f"data (it must load with torch.load(weights_only=True)): {err}") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "expr_gan_config" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not an expr_gan checkpoint (no state_dict / expr_gan_config)")
    return ckpt


def checkpoint_config(ckpt: dict) -> DictConfig:
    """The resolved run config stored in a checkpoint."""
    return OmegaConf.create(ckpt["expr_gan_config"])


def build_module(ckpt: dict, eval_mode: bool = True):
    """Instantiate the LightningModule described by the checkpoint's config and load its weights."""
    from hydra.utils import instantiate

    cfg = checkpoint_config(ckpt)
    module = instantiate(cfg.model)
    missing, unexpected = module.load_state_dict(ckpt["state_dict"], strict=False)
    if missing or unexpected:
        raise CheckpointError(f"checkpoint weights do not fit {cfg.model._target_}: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    return module.eval() if eval_mode else module


def pixels_from(ckpt: dict):
    """The fitted PixelRange stored with the checkpoint."""
    from expr_gan.data.pixels import PixelRange

    state = ckpt["expr_gan_pixels"]
    pixels = PixelRange(state["mode"], ckpt["expr_gan_config"]["pixels"].get("out_activation"))
    pixels.mean, pixels.std = state["mean"], state["std"]
    return pixels


def stage_weights(path: str | Path, prefix: str = "net.") -> dict:
    """The state dict of one sub-network (keys starting with `prefix`, prefix removed) of a checkpoint."""
    state = load_checkpoint(path)["state_dict"]
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise CheckpointError(f"checkpoint {path} holds no '{prefix}*' weights (expected a generation checkpoint)")
    return weights
