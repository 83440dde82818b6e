"""Shared fixtures: composing configs for tiny in-process runs, an isolated cache dir."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

from expr_gan.config import config_dir

REPO = Path(__file__).resolve().parents[1]

# tiny everything: these overrides make any run take seconds on a CPU
TINY = ["debug=tiny", "print_config=false"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One decoded-dataset cache shared by all tests of the session."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["EXPR_GAN_CACHE_DIR"] = str(path)
    return path


@pytest.fixture
def make_cfg(tmp_path, cache_dir):
    """Compose the train config with overrides, pointing every output into tmp_path."""

    def _make(*overrides: str, tiny: bool = True):
        # most tests exercise the simplest family unless they choose a model or an experiment
        if not any(o.startswith(("model=", "experiment=")) for o in overrides):
            overrides = ("model=generation", *overrides)
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=[*(TINY if tiny else []), *overrides], return_hydra_config=False)
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / "run")
            cfg.paths.cache_dir = str(cache_dir)
        return cfg

    return _make


def run_cli(*args: str, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m <args>` in a subprocess; returns the completed process (output captured)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def generation_ckpt(tmp_path_factory, cache_dir) -> Path:
    """last.ckpt of one tiny generation run (debug=tiny, 2 epochs), trained once for every test that
    only needs a checkpoint to read (evaluate, generate, the command-line tests)."""
    from expr_gan.commands.train import train

    out = tmp_path_factory.mktemp("generation_run")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, "model=generation", "logger=none", "callbacks.eval_metrics=null"])
    with open_dict(cfg):
        cfg.paths.output_dir, cfg.paths.cache_dir = str(out), str(cache_dir)
    train(cfg)
    return out / "checkpoints" / "last.ckpt"
