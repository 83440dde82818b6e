"""One way in: every command composes its primary config (`conf/<command>.yaml`) with Hydra.

`python -m expr_gan.<command> key=value ...` follows Hydra's override grammar and struct mode, as
`expr_gan.train` does: `key=v` changes a key that exists (a typo is an error naming it), `+key=v`
adds one, `~key` removes one, `key=[a,b]` is a list and `key={a:1}` a mapping; `--help` prints the
command's documentation and config, `--cfg job` its composed config. Commands that read a checkpoint
(`evaluate`) also take overrides of the checkpoint's run config (`data.size=32`, `c2st.seed=1`): every
override whose first key is not one of the command's own goes there, with the same grammar and the
same error for a key the run config lacks. `out=DIR` is a command's run directory (its default,
`outputs/<command>/<time>`, mirrors train's `hydra.run.dir`); the composed config is saved there as
`command.yaml`.
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict


MODULES = {"inspect": "expr_gan.data.inspect", "synthetic": "expr_gan.data.synthetic"}  # else expr_gan.<name>


def _module(name: str) -> str:
    return MODULES.get(name, f"expr_gan.{name}")


def _usage_error(message: str):
    from expr_gan.errors import UsageError

    return UsageError(message)


def _parse(overrides: list[str]):
    """Hydra's parse of the overrides (their keys without +/~), with a grammar error named."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as err:
        raise _usage_error(f"cannot parse the overrides: {err}") from None
    for override in parsed:
        if override.is_sweep_override():
            raise _usage_error(f"{override.input_line}: a sweep (a,b) is for `train -m`; a list is written "
                               f"{override.key_or_group}=[a,b] (a mapping {override.key_or_group}={{a:1,b:2}})")
    return parsed


def compose_command(name: str, overrides: list[str] = ()) -> DictConfig:
    """The primary config `conf/<name>.yaml` with `overrides` applied (struct mode, Hydra's grammar)."""
    from hydra import compose, initialize_config_dir

    from expr_gan.config import config_dir

    from hydra.errors import ConfigCompositionException

    _parse(list(overrides))  # a sweep or a grammar error first, with our message
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name=name):
            cfg = compose(name, overrides=list(overrides))
    except ConfigCompositionException as err:  # Hydra's "Could not override 'x'.\nTo append ..." on one line
        raise _usage_error(" ".join(str(err).split()) + f" (python -m {_module(name)} --help lists the keys)") from None
    missing = _missing_keys(cfg)
    if missing:
        raise _usage_error(f"missing {', '.join(k + '=...' for k in missing)} (python -m {_module(name)} --help)")
    return cfg


def _missing_keys(node, prefix: str = "") -> list[str]:
    """Keys whose value is ??? (interpolations to them are not listed twice)."""
    missing = []
    for key in node.keys() if isinstance(node, DictConfig) else []:
        if OmegaConf.is_interpolation(node, key):
            continue
        if OmegaConf.is_missing(node, key):
            missing.append(f"{prefix}{key}")
        elif isinstance(node[key], DictConfig):
            missing += _missing_keys(node[key], f"{prefix}{key}.")
    return missing


def apply_overrides(cfg: DictConfig, overrides: list[str], what: str = "the checkpoint's run config") -> DictConfig:
    """A copy of `cfg` with Hydra overrides applied the way Hydra applies them to a composed config:
    `key=v` only for an existing key, `+key=v` only for a new one, `++key=v` either way, `~key` deletes.
    A config group (`data=caspeal`) cannot be swapped here: its keys can be changed."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    OmegaConf.set_struct(cfg, True)
    for override in _parse(overrides):
        key, value, line = override.key_or_group, override.value(), override.input_line
        current = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if override.is_delete():
            if current is None:
                raise _usage_error(f"{line}: {what} has no key {key!r} to delete")
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            with open_dict(node):  # deleting is allowed on a struct config only this way
                del node[leaf]
        elif override.is_add() and current is not None:
            raise _usage_error(f"{line}: {what} already has {key!r} (drop the +, or use ++ to set it either way)")
        elif override.is_add() or override.is_force_add():
            OmegaConf.update(cfg, key, value, merge=True, force_add=True)
        else:
            if OmegaConf.select(cfg, key, default="<absent>", throw_on_missing=False) == "<absent>":
                raise _usage_error(f"{line}: {what} has no key {key!r} (a typo? --help lists the command's own "
                                   f"options; +{line} adds a key)")
            if isinstance(current, DictConfig) and not isinstance(value, dict):
                raise _usage_error(f"{line}: {key!r} is a config group of the stored run; its keys can be changed "
                                   f"({key}.KEY=VALUE), it cannot be swapped for another")
            OmegaConf.update(cfg, key, value, merge=True)
    return cfg


def split_run_overrides(name: str, overrides: list[str]) -> tuple[list[str], list[str]]:
    """(the command's own overrides, overrides of a checkpoint's run config): an override belongs to
    the run config when its first key is not a key of the command's primary config (nor `hydra`)."""
    own_keys = set(compose_command_keys(name)) | {"hydra"}
    own, run = [], []
    for line, override in zip(overrides, _parse(list(overrides))):
        (own if override.key_or_group.split(".")[0] in own_keys else run).append(line)
    return own, run


def compose_command_keys(name: str) -> list[str]:
    """The top-level keys of `conf/<name>.yaml` (read, not composed: its mandatory values are unset)."""
    from expr_gan.config import config_dir

    return [k for k in OmegaConf.load(Path(config_dir()) / f"{name}.yaml").keys() if k != "defaults"]


def command_config(name: str, argv: list[str], doc: str, run_config: bool = False):
    """The command's composed config from its argv, or None when `--help` / `--cfg job` was answered.
    With `run_config`, returns (cfg, overrides of the checkpoint's run config)."""
    overrides, flags = _split_flags(name, argv)
    if "--help" in flags:
        print(doc.strip() + f"\n\n== Config (conf/{name}.yaml; change any key with key=value) ==\n")
        print(OmegaConf.to_yaml(_compose_lenient(name, [])))
        print(__doc__.strip())
        return None
    own, run = split_run_overrides(name, overrides) if run_config else (overrides, [])
    if "--cfg" in flags:
        print(OmegaConf.to_yaml(_compose_lenient(name, own)))
        return None
    cfg = compose_command(name, own)
    OmegaConf.resolve(cfg)
    return (cfg, run) if run_config else cfg


def _split_flags(name: str, argv: list[str]) -> tuple[list[str], set[str]]:
    """(the overrides, the flags among --help/-h and --cfg job/-c job); any other flag is an error."""
    overrides, flags, items = [], set(), list(argv)
    while items:
        arg = items.pop(0)
        if arg in ("--help", "-h"):
            flags.add("--help")
        elif arg in ("--cfg", "-c"):
            if not items or items.pop(0) != "job":
                raise _usage_error("--cfg takes `job` here (the command's own config; it has no hydra part)")
            flags.add("--cfg")
        elif arg.startswith("-"):
            raise _usage_error(f"unknown flag {arg}: expected --help or --cfg job (python -m {_module(name)} --help)")
        else:
            overrides.append(arg)
    return overrides, flags


def _compose_lenient(name: str, overrides: list[str]) -> DictConfig:
    """Composed like compose_command, with mandatory values left as ??? (for --help and --cfg job)."""
    from hydra import compose, initialize_config_dir

    from expr_gan.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name=name):
        return compose(name, overrides=list(overrides))


def as_list(value) -> list:
    """A list option's value as a list: `key=a` (one item) and `key=[a,b]` both work."""
    from omegaconf import ListConfig

    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, ListConfig)) else [value]


def save_command_config(out: Path, name: str, cfg: DictConfig, run_overrides: list[str] = ()) -> Path:
    """Write the resolved command config and any run-config overrides to `<out>/command.yaml`, next
    to what the command writes."""
    from expr_gan.io import atomic_write_text

    record = {"command": f"python -m {_module(name)}", "config": OmegaConf.to_container(cfg),
              "run_overrides": list(run_overrides)}
    return atomic_write_text(Path(out) / "command.yaml", OmegaConf.to_yaml(OmegaConf.create(record)))
