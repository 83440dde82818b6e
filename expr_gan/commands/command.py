"""What every command shares: its config composed from `conf/<command>.yaml`, its run directory, its errors.

`expr-gan <command> key=value ...` (or `python -m expr_gan.<command>`) follows Hydra's override grammar and struct mode, as
`expr_gan.train` does: `key=v` changes a key that exists (a typo is an error naming it), `+key=v`
adds one, `~key` removes one, `key=[a,b]` is a list and `key={a:1}` a mapping; `--help` prints the
command's documentation and config, `--cfg job` its composed config. Commands that read a checkpoint
(`evaluate`) also take overrides of the checkpoint's run config (`data.size=32`, `c2st.seed=1`): every
override whose first key is not one of the command's own goes there, with the same grammar and the
same error for a key the run config lacks. `out=DIR` is a command's run directory (its default,
`outputs/<command>/<time>`, mirrors train's `hydra.run.dir`); the composed config is saved there as
`command.yaml`. A user error (expr_gan.errors.UserError) is one `error:` line and exit code 2;
anything else keeps its traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from expr_gan.errors import UsageError
from expr_gan.overrides import parse_overrides


def compose_command(name: str, overrides: list[str] = ()) -> DictConfig:
    """The primary config `conf/<name>.yaml` with `overrides` applied (struct mode, Hydra's grammar)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from expr_gan.config import config_dir

    parse_overrides(list(overrides))  # a sweep or a grammar error first, with our message
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name=name):
            cfg = compose(name, overrides=list(overrides))
    except ConfigCompositionException as err:  # Hydra's "Could not override 'x'.\nTo append ..." on one line
        raise UsageError(" ".join(str(err).split()) + f" (expr-gan {name} --help lists the keys)") from None
    except ValueError as err:  # OmegaConf's for a key into a list (cases.first=x): the overrides are the user's
        raise UsageError(f"cannot apply {' '.join(overrides)}: {err} (expr-gan {name} --help lists the keys)") from None
    missing = _missing_keys(cfg)
    if missing:
        raise UsageError(f"missing {', '.join(k + '=...' for k in missing)} (expr-gan {name} --help)")
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


def split_run_overrides(name: str, overrides: list[str]) -> tuple[list[str], list[str]]:
    """(the command's own overrides, overrides of a checkpoint's run config): an override belongs to
    the run config when its first key is not a key of the command's primary config (nor `hydra`)."""
    own_keys = set(compose_command_keys(name)) | {"hydra"}
    own, run = [], []
    for line, override in zip(overrides, parse_overrides(list(overrides))):
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
                raise UsageError("--cfg takes `job` here (the command's own config; it has no hydra part)")
            flags.add("--cfg")
        elif arg.startswith("-"):
            raise UsageError(f"unknown flag {arg}: expected --help or --cfg job (expr-gan {name} --help)")
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

    record = {"command": f"expr-gan {name}", "config": OmegaConf.to_container(cfg),
              "run_overrides": list(run_overrides)}
    return atomic_write_text(Path(out) / "command.yaml", OmegaConf.to_yaml(OmegaConf.create(record)))


def user_error(err: BaseException) -> str | None:
    """The one-line message of an error the user can fix (expr_gan.errors.UserError: a bad option,
    missing or unusable data, a bad checkpoint, a diverged run; Hydra's and OmegaConf's config errors);
    None for anything else, a bug, which keeps its traceback."""
    from hydra.errors import HydraException, InstantiationException
    from omegaconf.errors import OmegaConfBaseException

    from expr_gan.errors import UserError

    if isinstance(err, InstantiationException) and err.__cause__ is not None:
        err = err.__cause__  # the user-facing message is the cause's
    if isinstance(err, (UserError, HydraException, OmegaConfBaseException)):
        return str(err).strip()
    return None


def run(main, argv: list[str] | None = None) -> int:
    """Call `main(argv)` (a command's), turning a user error into one `error:` line and exit code 2."""
    try:
        return main(sys.argv[1:] if argv is None else argv) or 0
    except Exception as err:
        message = user_error(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
