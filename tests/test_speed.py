"""Speed options: channels_last, compiled sub-networks with unchanged checkpoints, skipped per-step logging."""
from pathlib import Path

import torch
from hydra.utils import instantiate

from expr_gan.checkpoint import build_module, load_checkpoint
from expr_gan.speed import apply_speed, to_channels_last
from expr_gan.commands.train import train

FAST = ["logger=none", "callbacks.eval_metrics=null", "max_batches=4"]


def test_apply_speed_compiles_networks_not_the_module(make_cfg):
    cfg = make_cfg("model=dcgan")
    plain, fast = instantiate(cfg.model), instantiate(cfg.model)
    fast.load_state_dict(plain.state_dict())
    apply_speed(fast, channels_last=True, compile=True, compile_backend="eager")
    assert fast.channels_last and fast._compiled_call_impl is None
    assert fast.generator._compiled_call_impl is not None and fast.discriminator._compiled_call_impl is not None
    assert list(fast.state_dict()) == list(plain.state_dict())  # no _orig_mod. prefixes
    conv = next(m for m in fast.generator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    x, c = torch.rand(2, 3, 32, 32) * 2 - 1, torch.eye(6)[:2]
    batch = to_channels_last({"source": x, "target_onehot": c})
    assert batch["source"].is_contiguous(memory_format=torch.channels_last) and batch["target_onehot"] is c
    plain.eval(), fast.eval()
    assert torch.allclose(plain.translate(x, c), fast.translate(batch["source"], c), atol=1e-5)


def test_compiled_run_writes_checkpoints_that_load_uncompiled(make_cfg):
    cfg = make_cfg("model=ours", *FAST, "speed.compile=true", "speed.compile_backend=eager", "speed.channels_last=true")
    train(cfg)
    ckpt = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    plain = instantiate(cfg.model)  # an uncompiled module: the keys a checkpoint must hold to load into it
    assert set(ckpt["state_dict"]) == set(plain.state_dict()) and not any("_orig_mod" in k for k in ckpt["state_dict"])
    module = build_module(ckpt)  # strict about missing and unexpected keys
    compiled = apply_speed(build_module(ckpt), compile=True, compile_backend="eager")  # the same weights, compiled
    x, c = torch.rand(2, 3, 32, 32) * 2 - 1, torch.eye(6)[:2]
    with torch.no_grad():
        assert torch.allclose(module.translate(x, c), compiled.translate(x, c), atol=1e-5)


def test_per_step_logging_only_on_logging_steps(make_cfg, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = make_cfg("model=dcgan", "callbacks.eval_metrics=null", "max_batches=12", "trainer.log_every_n_steps=5")
    metrics = train(cfg)
    assert "train/G/rec" in metrics and "train/D/adv_real" in metrics
    events = sorted(Path(cfg.paths.output_dir, "tensorboard").rglob("events.out.tfevents.*"))
    acc = EventAccumulator(str(events[0]))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("train/G/rec")]
    # written at batches 5 and 10 (steps 4, 9) and at the stop (11), as without the skipping
    assert steps == [4, 9, 11]


def test_batches_carry_aligned_targets_only_for_families_that_read_them(make_cfg):
    import helpers

    for model, expected in (("generation", False), ("dcgan", True)):
        helpers.RecordBatchKeys.seen = set()
        train(make_cfg(f"model={model}", *FAST, "+callbacks.keys._target_=helpers.RecordBatchKeys", "data.align_targets=true"))
        assert ("target_aligned" in helpers.RecordBatchKeys.seen) == expected, model
