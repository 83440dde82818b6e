"""Divergence guard, safe checkpoints, resuming, concurrent caches."""
import multiprocessing as mp
from pathlib import Path

import pytest
import torch

from expr_gan.callbacks.checkpoints import AtomicCheckpointIO
from expr_gan.errors import CheckpointError, DivergenceError
from expr_gan.commands.train import train
from conftest import REPO, run_cli

NAN = ["loss._target_=helpers.NaNAfterLoss", "+loss.after=30", "logger=none", "callbacks.eval_metrics=null"]


@pytest.mark.parametrize("model", ["generation", "dcgan"])
def test_nonfinite_loss_stops_naming_batch_and_term(make_cfg, model):
    cfg = make_cfg(f"model={model}", *NAN, "trainer.max_epochs=3")
    term = {"generation": "loss_rec", "dcgan": "rec"}[model]  # the GAN names its terms by their key in g_terms
    with pytest.raises(DivergenceError, match=rf"non-finite G loss term '{term}'.* at batch \d+"):
        train(cfg)
    ckpts = list((Path(cfg.paths.output_dir) / "checkpoints").glob("*.ckpt"))
    assert ckpts and all(torch.isfinite(t).all() for c in ckpts
                         for t in torch.load(c, weights_only=True)["state_dict"].values() if t.is_floating_point())


def test_a_failing_fit_leaves_the_heap_unfrozen(make_cfg):
    """FrozenHeap freezes the heap for training and unfreezes it on every way out, a direct trainer.fit
    that raises included (not only train()'s)."""
    import gc

    from hydra.utils import instantiate

    from expr_gan.callbacks.heap import FrozenHeap

    cfg = make_cfg("model=generation", *NAN, "trainer.max_epochs=3")
    seen = {}

    class Probe(__import__("pytorch_lightning").Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen["frozen"] = gc.get_freeze_count()

    trainer = instantiate(cfg.trainer, callbacks=[FrozenHeap(), Probe()], logger=False, enable_checkpointing=False)
    with pytest.raises(DivergenceError):
        trainer.fit(instantiate(cfg.model), datamodule=instantiate(cfg.data, pixels=instantiate(cfg.pixels)))
    assert seen["frozen"] > 0 and gc.get_freeze_count() == 0


@pytest.mark.parametrize("model", ["generation", "dcgan"])
def test_nonfinite_batches_can_be_skipped(make_cfg, model):
    cfg = make_cfg(f"model={model}", *NAN, "on_nonfinite=skip", "trainer.max_epochs=2")
    metrics = train(cfg)
    assert metrics["train/nonfinite_skipped"] > 0
    state = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_cli_divergence_exits_nonzero(tmp_path):
    result = run_cli("expr_gan.train", "model=generation", "debug=tiny", *NAN, f"hydra.run.dir={tmp_path}/run", cwd=REPO,
                     env={"PYTHONPATH": str(REPO / "tests")})
    assert result.returncode != 0 and "non-finite G loss term 'loss_rec'" in result.stderr


def test_resume_last_and_truncated_checkpoint(make_cfg):
    cfg = make_cfg("logger=none", "callbacks.eval_metrics=null", "trainer.max_epochs=1")
    train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    resumed = make_cfg("logger=none", "callbacks.eval_metrics=null", "trainer.max_epochs=2", "ckpt_path=last")
    train(resumed)
    assert torch.load(last, weights_only=True)["epoch"] == 1
    broken = last.parent / "broken.ckpt"
    broken.write_bytes(last.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="broken.ckpt is truncated, corrupt"):
        train(make_cfg("logger=none", f"ckpt_path={broken}"))


def test_atomic_checkpoint_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"a": torch.ones(3)}, path)
    before = path.read_bytes()

    def dying_save(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt("killed during save")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"a": torch.zeros(3)}, path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def _build_cache(cache_dir: str, queue) -> None:
    from expr_gan.data.synthetic import SyntheticFaces
    faces = SyntheticFaces(num_identities=6, size=32).load(cache_dir)
    queue.put(int(faces.images.sum()))


def test_two_processes_building_one_cache(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_cache, args=(str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    sums = [queue.get(timeout=5) for _ in procs]
    assert all(p.exitcode == 0 for p in procs) and sums[0] == sums[1]
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # one complete cache file, no temporaries
    from expr_gan.data.synthetic import SyntheticFaces
    assert int(SyntheticFaces(num_identities=6, size=32).load(tmp_path).images.sum()) == sums[0]
