"""Every experiment config composes, says what it replicates, and completes a short run."""
from pathlib import Path

import pytest

import helpers
from expr_gan.config import config_dir
from expr_gan.commands.train import train
from helpers import assert_trained
from test_families import SHORT

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
PAPER = ["paper_two_step_mse", "paper_two_step_smoothl1", "paper_joint", "paper_dcgan", "paper_dcgan_iters16"]


def test_the_reports_runs_exist():
    assert set(PAPER) <= set(EXPERIMENTS)


def _composed(*overrides: str) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides))
    plain = OmegaConf.to_container(cfg, resolve=False)
    return {k: v for k, v in plain.items() if k not in ("task_name", "paths", "hydra")}


def _differences(a, b, prefix="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in set(a) | set(b) for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_changes_the_run_and_says_why(name):
    """Every experiment changes the composed run (not only its name) compared with no experiment, and
    its file opens with a comment (what it replicates or runs)."""
    changed = _differences(_composed(f"experiment={name}"), _composed("~experiment"))
    assert changed, f"experiment={name} composes the same run as no experiment"
    text = (Path(config_dir()) / "experiment" / f"{name}.yaml").read_text()
    assert text.lstrip().startswith("#"), f"{name}.yaml opens without a comment"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_short_run(make_cfg, name):
    # a GPU preset (found by its composed trainer, not listed: ours, warp) runs the same recipe on the CPU here
    gpu_preset = make_cfg(f"experiment={name}").trainer.get("accelerator") == "gpu"
    cfg = make_cfg(f"experiment={name}", "debug=tiny", *SHORT, "model.iters_per_batch=2" if "iters16" in name else "seed=0",
                   *(["trainer=cpu"] if gpu_preset else []),
                   "speed.compile_backend=eager")  # the GPU presets compile; inductor would take minutes on a CPU
    assert cfg.task_name == name
    helpers.TrainingCheck.last = None
    assert_trained(train(cfg), helpers.TrainingCheck.last)


def _readme_commands(section: str) -> list[list[str]]:
    from conftest import REPO
    text = (REPO / "README.md").read_text().split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    import re
    return [cmd.split()[3:] for cmd in re.findall(r"`(python -m expr_gan\.train [^`]*)`", text)]


def test_readme_model_table_lists_every_family():
    """Guards the parametrisation below: a README edit that breaks the pattern fails here, not as a skip."""
    commands = _readme_commands("Model families")
    assert [c[0] for c in commands] == ["model=generation", "model=refinement", "model=joint", "model=dcgan"]


@pytest.mark.parametrize("overrides", _readme_commands("Model families"), ids=" ".join)
def test_readme_model_table_commands_run(make_cfg, overrides):
    helpers.TrainingCheck.last = None
    assert_trained(train(make_cfg(*overrides, *SHORT)), helpers.TrainingCheck.last)


def _readme_table_overrides() -> list[list[str]]:
    """The `overrides` column of the ablation tables (docs/results.md: beating the identity function and
    realism), a `+ ` row (added to a row above) without its plus."""
    import re

    from conftest import REPO
    text = (REPO / "docs" / "results.md").read_text()
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| ") and line.count("|") > 3]
    return [re.sub(r"^\+ ", "", cell.strip("`")).split() for cell in rows if cell.startswith("`")]


def test_readme_ablation_overrides_compose_and_build():
    """Every override row of the ablation tables (docs/results.md) is today's syntax: it composes onto the
    default run and its model builds (terms checked against the networks)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    rows = _readme_table_overrides()
    assert len(rows) >= 15 and any(o.startswith("+g_term@") for row in rows for o in row)
    for row in rows:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=["debug=tiny", *row])
        assert instantiate(cfg.model) is not None, row
