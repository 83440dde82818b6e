"""Every option of every config group composes into a config whose objects instantiate."""
from pathlib import Path

import pytest
from hydra.utils import instantiate

from expr_gan.config import config_dir

CONF = Path(config_dir())
GROUPS = {g: sorted(p.stem for p in (CONF / g).glob("*.yaml"))
          for g in ("data", "model", "loss", "optimizer", "pixels", "norm", "trainer", "logger", "callbacks", "debug")}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_group_option_composes(make_cfg, group, option):
    cfg = make_cfg(f"{group}={option}")
    if group != "debug":  # debug configs are @package _global_
        assert cfg.get(group) is not None or option == "none"
    if group in ("loss", "pixels"):
        instantiate(cfg[group])


def test_experiments_compose(make_cfg):
    for path in sorted((CONF / "experiment").glob("*.yaml")):
        make_cfg(f"experiment={path.stem}")


def test_unknown_option_is_a_clear_error(make_cfg):
    from hydra.errors import MissingConfigException
    with pytest.raises(MissingConfigException, match="model/nonexistent"):
        make_cfg("model=nonexistent")


def test_unsupported_image_size_is_a_clear_error(make_cfg):
    cfg = make_cfg("data.size=36")
    with pytest.raises(Exception, match="image size 36 is not supported"):
        instantiate(cfg.model)
