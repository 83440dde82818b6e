"""Checkpoints made before the GAN's losses became terms still load: their flat model node
(`lambda_rec`, `critic`, `d_real`, ...) is upgraded to the terms the old code applied."""
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from expr_gan.config import config_dir
from expr_gan.legacy_config import upgrade_model_config, upgrade_run_config

BEFORE = yaml.safe_load((Path(__file__).parent / "data" / "model_configs_before_terms.yaml").read_text())
# experiments' own choices made after the record, which no upgrade of an old node makes: the default
# run's learning-rate decay (the old checkpoints trained without one, as their config says)
CHOSEN_SINCE = {"ours_cpu": ["~scheduler"]}


@pytest.mark.parametrize("experiment", sorted(BEFORE))
def test_an_old_model_node_upgrades_to_what_the_experiment_composes_now(experiment):
    """The old code's composed model node (tests/data, written by commit 07760b3), upgraded, is the one
    composed today: the same terms, weights, order (the order of the sum) and targets."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        now = OmegaConf.to_container(compose("train", overrides=[f"experiment={experiment}", *CHOSEN_SINCE.get(experiment, [])]).model, resolve=True)
    now["g_terms"] = {k: v for k, v in now["g_terms"].items() if v is not None and v["weight"] != 0}
    upgraded = upgrade_model_config(BEFORE[experiment])
    assert list(upgraded["g_terms"]) == list(now["g_terms"]) and list(upgraded["d_terms"]) == list(now["d_terms"])
    assert upgraded == now


def test_current_configs_pass_through_and_a_checkpoint_of_before_loads(generation_ckpt, tmp_path):
    import torch
    from hydra.utils import instantiate

    from expr_gan.checkpoint import load_run
    from expr_gan.modules.conditional_gan import ConditionalGANModule

    config = {"model": {"_target_": "x.ConditionalGANModule", "g_terms": {}}}
    assert upgrade_run_config(config) is config
    ckpt = torch.load(generation_ckpt, weights_only=True)
    assert upgrade_run_config(ckpt["expr_gan_config"]) is ckpt["expr_gan_config"]  # not a GAN: as it was
    # a pix2pix checkpoint as the old code wrote it: its config in the flat form, its weights
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=pix2pix_cpu", "debug=tiny"])
    config = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "data", "pixels", "loss")}
    module = instantiate(cfg.model)
    config["model"] = {**BEFORE["pix2pix_cpu"], "generator": config["model"]["generator"],
                       "discriminator": config["model"]["discriminator"]}
    old = tmp_path / "old.ckpt"
    torch.save({"state_dict": module.state_dict(), "expr_gan_config": config,
                "expr_gan_pixels": {"mode": "symmetric", "mean": None, "std": None}}, old)
    loaded, _, _ = load_run(old, setup_data=False)
    assert isinstance(loaded, ConditionalGANModule) and list(loaded.g_terms) == ["adv", "rec"]
    assert loaded.g_terms["rec"].weight == 100.0
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_an_old_option_on_the_command_line_points_to_its_new_place(tmp_path):
    from conftest import REPO, run_cli

    done = run_cli("expr_gan.train", "model.lambda_adv=8", f"hydra.run.dir={tmp_path / 'run'}", cwd=REPO)
    assert done.returncode == 2 and not (tmp_path / "run").exists()
    assert "model.lambda_adv is model.g_terms.adv.weight" in done.stderr
