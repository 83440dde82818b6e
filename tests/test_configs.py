"""Every option of every config group composes into a config whose objects instantiate and hold what
the option says; every experiment composes and builds its model and data."""
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from expr_gan.config import config_dir

CONF = Path(config_dir())
GROUPS = {g: sorted(p.stem for p in (CONF / g).glob("*.yaml"))
          for g in ("data", "model", "loss", "optimizer", "pixels", "norm", "trainer", "logger", "callbacks", "debug")}
NEEDS_ROOT = {"caspeal", "rafd", "kdef", "folder", "csv"}  # real datasets: composed, built on fixtures in test_sources


def test_every_group_has_its_options():
    # the report's four families and ours are there; a new model is a new file, tested by the test below
    assert {"dcgan", "generation", "joint", "ours", "refinement"} <= set(GROUPS["model"])
    assert {"cpu", "ddp", "default", "gpu"} <= set(GROUPS["trainer"])
    assert {"none", "tensorboard"} == set(GROUPS["logger"]) and {"none", "default", "end_eval"} == set(GROUPS["callbacks"])


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_group_option_composes_and_instantiates(make_cfg, tmp_path, group, option):
    cfg = make_cfg(f"{group}={option}")
    node = cfg.get(group)
    if group == "debug":  # @package _global_: it changes top-level keys
        assert cfg.trainer.get("fast_dev_run") is True if option == "fast_dev_run" else cfg.data.size == 32
    elif option == "none" and group == "logger":
        assert not node  # nothing to instantiate
    elif group == "norm":
        assert node.placement == option
    elif group == "data":
        assert node.source._target_ and node.num_expressions > 0
        if option not in NEEDS_ROOT:
            dm = instantiate(node, pixels=instantiate(cfg.pixels))
            dm.setup()
            assert len(dm.train_pairs) > 0
    elif group == "model":
        module = instantiate(node)
        assert isinstance(module, pl.LightningModule)
        out = module.eval().translate(torch.zeros(2, 3, 32, 32), torch.eye(6)[:2])
        assert out.shape == (2, 3, 32, 32)
    elif group == "optimizer":
        opt = instantiate(node)([torch.nn.Parameter(torch.zeros(1))])
        assert type(opt).__name__.lower() == option
    elif group == "trainer":
        assert node.accelerator == {"cpu": "cpu", "gpu": "gpu"}.get(option, "auto")
        if option == "gpu":  # the GPU preset: bf16; on a machine without a GPU it is a clear error
            assert node.precision == "bf16-mixed"
            if not torch.cuda.is_available():
                with pytest.raises(Exception, match="(?i)gpu"):
                    instantiate(node)
        elif option == "ddp":
            assert node.strategy == "ddp_find_unused_parameters_true" and node.devices == 2
        else:
            assert isinstance(instantiate(node), pl.Trainer)
    elif group == "logger":
        (logger,) = [instantiate(v) for v in node.values()]
        assert type(logger).__name__ == "TensorBoardLogger"
    elif group == "callbacks":  # what train() builds: every run's four, a batch clock, and the option's own
        from expr_gan.commands.train import run_callbacks

        kinds = {type(c).__name__ for c in run_callbacks(cfg)}
        every_run = {"ExactResume", "ConfigInCheckpoint", "FrozenHeap", "PhaseTimer", "BatchClock"}
        assert kinds == every_run | (set() if option == "none" else {"ModelCheckpoint", "EvalMetrics"})
    else:  # loss, pixels: plain objects
        assert instantiate(node) is not None


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_experiment_composes_with_its_task_name_and_builds(make_cfg, name):
    cfg = make_cfg(f"experiment={name}", tiny=False)
    assert cfg.task_name == name
    module = instantiate(cfg.model)
    assert isinstance(module, pl.LightningModule) and sum(p.numel() for p in module.parameters()) > 0


def test_unknown_option_is_a_clear_error(make_cfg):
    from hydra.errors import MissingConfigException
    with pytest.raises(MissingConfigException, match="model/nonexistent"):
        make_cfg("model=nonexistent")


def test_unsupported_image_size_is_a_clear_error(make_cfg):
    cfg = make_cfg("data.size=36")
    with pytest.raises(Exception, match="image size 36 is not supported"):
        instantiate(cfg.model)


def test_the_default_run_is_ours_cpu_and_the_command_line_wins():
    """`python -m expr_gan.train` composes experiment=ours_cpu (work budget, ours' recipe); a group
    chosen on the command line replaces the experiment's choice, and ~experiment gives the bare groups."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        default, spelled = compose("train"), compose("train", overrides=["experiment=ours_cpu"])
        dcgan = compose("train", overrides=["model=dcgan", "loss=smoothl1"])
        bare = compose("train", overrides=["~experiment"])
    assert default == spelled and default.task_name == "ours_cpu"
    assert default.trainer.max_epochs == 4 and default.trainer.max_time is None  # work, not wall time
    assert default.model.scheduler.end_factor == 0.0 and default.callbacks.eval_metrics.referees is False
    assert default.model.targets.rec_target == "composite" and default.model.g_terms.mask_binary.weight > 0
    assert dcgan.model.generator._target_.endswith("EncoderDecoder") and dcgan.loss._target_ == "torch.nn.SmoothL1Loss"
    assert bare.task_name == "train" and bare.optimizer.lr == 0.0002 and default.optimizer.lr == 0.001 and bare.data.batch_size == 32
