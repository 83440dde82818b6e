"""One step axis in TensorBoard: training scalars on Lightning's logging steps, validation scalars
and sample grids at the step of the epoch's last batch (what Lightning's logger does, pinned)."""
from pathlib import Path

from expr_gan.commands.train import train


def _events(run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    return acc.Reload()


def test_scalars_and_grids_share_the_batch_step(make_cfg):
    cfg = make_cfg("model=dcgan", "trainer.max_epochs=2", "trainer.log_every_n_steps=5",
                   "callbacks.eval_metrics.every_n_epochs=1", "callbacks.eval_metrics.max_pairs=16",
                   "callbacks.eval_metrics.referees=true")
    train(cfg)
    run = Path(cfg.paths.output_dir)
    import json
    batches = json.loads((run / "run_info.json").read_text())["batches"]
    per_epoch = batches // 2
    events = _events(run)
    epoch_ends = [per_epoch - 1, 2 * per_epoch - 1]
    # Lightning writes training values at step s when (s + 1) % log_every_n_steps == 0: log_terms logs
    # exactly on those steps (modules/base.py), so each of them has every term
    expected = [s for s in range(batches) if (s + 1) % 5 == 0]
    for tag in ("train/G/rec", "train/G/adv", "train/G/total", "train/D/adv_real", "train/D/total"):
        assert [e.step for e in events.Scalars(tag)] == expected, tag
    for tag in ("val/loss_rec", "val/expr_acc"):
        assert [e.step for e in events.Scalars(tag)] == epoch_ends, tag
    assert [e.step for e in events.Images("samples/grid")] == epoch_ends
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0000.png", "epoch_0001.png"]
    final = events.Scalars("final/val/expr_acc")  # the HPARAMS tab's metric, at the last step
    assert [e.step for e in final] == [epoch_ends[-1]] and final[0].value == events.Scalars("val/expr_acc")[-1].value
