"""Where the Hydra configs live: top-level `conf/` in a checkout, `expr_gan/conf` in a wheel."""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf


def _length(items, default=0) -> int:
    """`${len:LIST,DEFAULT}`: the length of a list, or DEFAULT when it is null (data.num_expressions)."""
    return default if items is None else len(items)


if not OmegaConf.has_resolver("len"):
    OmegaConf.register_new_resolver("len", _length)


def config_dir() -> str:
    """Absolute path of the config directory, for `hydra.main` and `compose`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"expr_gan configs not found in {here / 'conf'} or {here.parent / 'conf'}")


def expression_names(cfg) -> list[str]:
    """The expression vocabulary of a run config's data (a configured subset, or the source's own), in
    one-hot order."""
    from hydra.utils import get_class

    configured = cfg.data.source.get("expressions")
    return list(configured) if configured else list(get_class(cfg.data.source._target_).expression_names)
