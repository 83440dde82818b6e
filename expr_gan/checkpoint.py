"""Checkpoints: load with weights_only=True and rebuild any model family from its stored config."""
from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from expr_gan.errors import CheckpointError


def load_checkpoint(path: str | Path) -> dict:
    """torch.load(path, weights_only=True) with errors that name the file and what was expected; the
    stored configs of a conditional GAN from before its losses were terms are read as terms
    (legacy_config.py), so every loader sees the current form."""
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
    from expr_gan.legacy_config import upgrade_run_config

    for key in ("expr_gan_config", "expr_gan_config_source"):  # a GAN's from before its terms, as terms
        if ckpt.get(key) is not None:
            ckpt[key] = upgrade_run_config(ckpt[key])
    return ckpt


def checkpoint_config(ckpt: dict) -> DictConfig:
    """The resolved run config stored in a checkpoint."""
    return OmegaConf.create(ckpt["expr_gan_config"])


def build_module(ckpt: dict, eval_mode: bool = True):
    """Instantiate the LightningModule described by the checkpoint's config and load its weights."""
    from hydra.utils import instantiate

    cfg = checkpoint_config(ckpt)
    if cfg.model.get("stage1_ckpt"):  # a refinement's stage 1 is in the state dict: the file is not read
        cfg.model.stage1_ckpt = None  # again, so a checkpoint still loads after that file moved
    module = instantiate(cfg.model)
    missing, unexpected = module.load_state_dict(ckpt["state_dict"], strict=False)
    if missing or unexpected:
        raise CheckpointError(f"checkpoint weights do not fit {cfg.model._target_}: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    return module.eval() if eval_mode else module


def load_run(path: str | Path, overrides=(), setup_data: bool = True):
    """(module in eval mode, datamodule, config) of a stored run: the checkpoint's model with its
    weights and its data rebuilt from its own config, changed by Hydra `overrides` of that config
    (expr_gan.overrides.apply_overrides: a key it lacks is an error). The one loader of evaluate, generate
    and the replication's measures."""
    from hydra.utils import instantiate

    from expr_gan.overrides import apply_overrides

    ckpt = load_checkpoint(path)
    cfg = checkpoint_config(ckpt)
    if overrides:  # on the interpolated form where stored, so data.size=32 also reaches data.source.size
        source = ckpt.get("expr_gan_config_source")
        cfg = apply_overrides(OmegaConf.create(source) if source is not None else cfg, list(overrides))
        OmegaConf.resolve(cfg)
    module = build_module({**ckpt, "expr_gan_config": OmegaConf.to_container(cfg)})
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    if setup_data:
        dm.setup()
    return module, dm, cfg


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
