"""Hydra overrides (`key=v`, `+key=v`, `++key=v`, `~key`) parsed and applied to a stored config.

On the ground floor: the commands apply them to a checkpoint's run config (expr_gan/checkpoint.py)
with the same grammar and errors as Hydra's composition of `train`.
"""
from __future__ import annotations

from omegaconf import DictConfig, OmegaConf, open_dict

from expr_gan.errors import UsageError


def parse_overrides(overrides: list[str]):
    """Hydra's parse of the overrides (their keys without +/~), with a grammar error named."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as err:
        raise UsageError(f"cannot parse the overrides: {err}") from None
    for override in parsed:
        if override.is_sweep_override():
            raise UsageError(f"{override.input_line}: a sweep (a,b) is for `train -m`; a list is written "
                             f"{override.key_or_group}=[a,b] (a mapping {override.key_or_group}={{a:1,b:2}})")
    return parsed


def apply_overrides(cfg: DictConfig, overrides: list[str], what: str = "the checkpoint's run config") -> DictConfig:
    """A copy of `cfg` with Hydra overrides applied the way Hydra applies them to a composed config:
    `key=v` only for an existing key, `+key=v` only for a new one, `++key=v` either way, `~key` deletes.
    A config group (`data=caspeal`) cannot be swapped here: its keys can be changed."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    OmegaConf.set_struct(cfg, True)
    for override in parse_overrides(overrides):
        key, value, line = override.key_or_group, override.value(), override.input_line
        current = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if override.is_delete():
            if current is None:
                raise UsageError(f"{line}: {what} has no key {key!r} to delete")
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            with open_dict(node):  # deleting is allowed on a struct config only this way
                del node[leaf]
        elif override.is_add() and current is not None:
            raise UsageError(f"{line}: {what} already has {key!r} (drop the +, or use ++ to set it either way)")
        elif override.is_add() or override.is_force_add():
            _update(cfg, line, key, value, force_add=True)
        else:
            if OmegaConf.select(cfg, key, default="<absent>", throw_on_missing=False) == "<absent>":
                raise UsageError(f"{line}: {what} has no key {key!r} (a typo? --help lists the command's own "
                                 f"options; +{line} adds a key)")
            if isinstance(current, DictConfig) and not isinstance(value, dict):
                raise UsageError(f"{line}: {key!r} is a config group of the stored run; its keys can be changed "
                                 f"({key}.KEY=VALUE), it cannot be swapped for another")
            _update(cfg, line, key, value)
    return cfg


def _update(cfg: DictConfig, line: str, key: str, value, force_add: bool = False) -> None:
    """OmegaConf.update, with its ValueError for a key into a list (`a.list.name=1`) named as the override's."""
    try:
        OmegaConf.update(cfg, key, value, merge=True, force_add=force_add)
    except ValueError as err:
        raise UsageError(f"{line}: {err}") from None
