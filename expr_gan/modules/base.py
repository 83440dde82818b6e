"""What every model family shares: the translate() contract, sample grids and their files."""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from torchmetrics import MeanMetric

from expr_gan.errors import DivergenceError, UsageError
from expr_gan.visual import expression_grid


class ExpressionEditModule(pl.LightningModule):
    """Base class: subclasses implement `translate(source, onehot)` and their training step.

    `uses_aligned_targets`: whether the family reads `batch["target_aligned"]`; the datamodule asks
    (`FacePairsDataModule.setup`) and gathers them only for a family that does.

    `batches_trained` counts training batches (every family, whatever its optimizer steps per batch),
    is stored in checkpoints and restored on resume. The batch clock (callbacks/batch_clock.py, which
    train() always adds) advances it; the batch budget, periodic checkpoints and the step of every
    logged scalar and sample grid follow it.

    At the end of each validation the fixed sample people are translated to every expression; the
    grid goes to TensorBoard (`samples/grid`) and to `<run dir>/samples/epoch_XXXX.png`.
    """

    uses_aligned_targets = False

    def __init__(self, optimizer=None, grid_every_n_epochs: int = 1, gradient_clip_val: float | None = None,
                 on_nonfinite: str = "stop", scheduler=None):
        super().__init__()
        if on_nonfinite not in ("stop", "skip"):
            raise UsageError(f"on_nonfinite={on_nonfinite!r}: expected stop or skip")
        if gradient_clip_val is not None and gradient_clip_val <= 0:
            raise UsageError(f"model.gradient_clip_val={gradient_clip_val}: expected a positive number or null")
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler  # group `scheduler`: one per optimizer, stepped once per epoch
        self._schedulers_at_epoch = 0  # the epoch the schedulers were last stepped for (checkpointed)
        self.grid_every_n_epochs = grid_every_n_epochs
        self.on_nonfinite = on_nonfinite  # a non-finite loss: stop the run, or skip the batch's update
        self.nonfinite_skipped = 0
        self.gradient_clip_val = gradient_clip_val  # gradient-norm clipping of every update, every family
        self.channels_last = False  # set by expr_gan.speed.apply_speed
        self.batches_trained = 0
        self.batch_in_epoch = 0
        # epoch means as torchmetrics: exact over all pairs, and summed across processes under DDP
        self.val_loss_rec, self.test_loss_rec = MeanMetric(), MeanMetric()
        # every family steps its optimizers itself (`update`): the same few calls a plain loop makes,
        # without the per-step closure machinery of Lightning's automatic optimisation
        self.automatic_optimization = False

    @property
    def log_step(self) -> int:
        """The step at which loggers write this batch's values (Lightning's, 0-based: batches before it).

        Validation values and sample grids of an epoch share the step of its last batch.
        tests/test_logging.py checks that this is the step Lightning's logger connector uses.
        """
        return max(self.batches_trained - 1, 0)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["expr_gan_batches_trained"] = self.batches_trained
        checkpoint["expr_gan_schedulers_at_epoch"] = self._schedulers_at_epoch

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.batches_trained = int(checkpoint.get("expr_gan_batches_trained", 0))
        self._schedulers_at_epoch = int(checkpoint.get("expr_gan_schedulers_at_epoch", 0))

    def on_train_epoch_start(self) -> None:
        """Step the learning-rate schedulers once per finished epoch (manual optimisation: by hand).

        Stepped as the next epoch starts rather than as one ends, so a checkpoint written at the end of
        an epoch's validation holds the schedulers as the resumed run must find them; a run resumed
        mid-epoch starts that epoch again in Lightning's loop, and the recorded epoch keeps it from
        stepping twice (tests/test_resume.py)."""
        if self.current_epoch > self._schedulers_at_epoch:
            schedulers = self.lr_schedulers()  # Lightning: None, one scheduler, or a list of them
            for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
                scheduler.step()
            self._schedulers_at_epoch = self.current_epoch

    def with_schedulers(self, optimizers: list):
        """configure_optimizers' answer: the optimizers, with one scheduler each when one is configured."""
        if self.scheduler_factory is None:
            return optimizers
        return optimizers, [self.scheduler_factory(opt) for opt in optimizers]

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if self.channels_last and isinstance(batch, dict):
            from expr_gan.speed import to_channels_last

            return to_channels_last(batch)
        return batch

    def check_finite(self, losses: dict, total: torch.Tensor, phase: str = "G") -> bool:
        """True when every loss term is finite; otherwise stop with a message naming the batch and the
        term (policy `stop`), or count the batch and tell the caller to skip its update (`skip`).

        Checks their sum `total` (any non-finite term makes it non-finite): one op and one host sync
        per update. Which term it was is worked out only on failure.
        """
        if bool(torch.isfinite(total.detach()).all()):
            return True
        bad = [name for name, value in losses.items() if not torch.isfinite(value.detach()).all()] or ["total"]
        if self.on_nonfinite == "skip":
            self.nonfinite_skipped += 1
            self.log("train/nonfinite_skipped", float(self.nonfinite_skipped))
            return False
        value = losses.get(bad[0], total).detach()
        raise DivergenceError(
            f"non-finite {phase} loss term {bad[0]!r} (= {float(value)}) at batch "
            f"{self.batches_trained} (global step {self.global_step}); the last good checkpoint "
            f"stays in {self.trainer.default_root_dir}/checkpoints; on_nonfinite=skip skips such batches instead")

    def update(self, optimizer, losses: dict, phase: str = "G", total: torch.Tensor | None = None) -> bool:
        """One optimizer step on `total` (by default the sum of `losses`): finiteness check, zero_grad,
        backward, optional norm clipping (`gradient_clip_val`), step. False when a non-finite batch was skipped."""
        total = sum(losses.values()) if total is None else total
        if not self.check_finite(losses, total, phase):
            return False
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(total)
        if self.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.gradient_clip_val, gradient_clip_algorithm="norm")
        optimizer.step()
        return True

    def log_terms(self, prefix: str, losses: dict, prog_bar: tuple[str, ...] = ("loss_rec",)) -> None:
        """Log loss terms as `<prefix>/<name>` on the steps the loggers write (every
        `trainer.log_every_n_steps` batches, and the last batch of a stopped run) and on each epoch's
        first batch (short runs have values too).

        Each `self.log` call costs about half a millisecond of bookkeeping on a CPU (Lightning moves its
        metric record to the value's device every call); logging every term of every step cost a GAN
        step several percent, for values no logger would write. Lightning writes step s when
        (s + 1) % log_every_n_steps == 0 or the trainer stops; tests/test_logging.py pins that rule.
        """
        trainer = self.trainer
        every = trainer.log_every_n_steps
        written = trainer.should_stop or bool(trainer.fast_dev_run) or (every > 0 and self.batches_trained % every == 0)
        if not (written or self.batch_in_epoch == 0):
            return
        for name, value in losses.items():
            self.log(f"{prefix}/{name}", value.detach(), prog_bar=name in prog_bar)

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Edit `source` [B, C, H, W] to the expressions `onehot` [B, E]; network pixel range in and out."""
        raise NotImplementedError

    def eval_loss_rec(self, batch: dict) -> torch.Tensor:
        """The family's reconstruction loss of its output on a validation or test batch."""
        raise NotImplementedError

    def on_validation_epoch_start(self) -> None:
        self.share_rank0_buffers()

    def on_test_epoch_start(self) -> None:
        self.share_rank0_buffers()

    def share_rank0_buffers(self) -> None:
        """Under DDP, give every process rank 0's buffers (batch-norm statistics) before it evaluates.

        Each process updates its running statistics on its own batches, so without this each shard of
        the validation set would be scored by a slightly different model; rank 0's is the one its
        checkpoints hold (tests/test_sweeps.py checks DDP metrics against one process on those weights).
        """
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for buffer in self.buffers():
                torch.distributed.broadcast(buffer, src=0)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.eval_step(batch, "test")

    def eval_step(self, batch: dict, stage: str) -> None:
        """A validation or test batch: `<stage>/loss_rec`."""
        self.record_loss_rec(stage, self.eval_loss_rec(batch), len(batch["source"]))

    def record_loss_rec(self, stage: str, value: torch.Tensor, batch_size: int) -> None:
        """Accumulate `<stage>/loss_rec` over the epoch (weighted by batch size, across processes)."""
        metric = self.val_loss_rec if stage == "val" else self.test_loss_rec
        metric.update(value.detach(), weight=batch_size)
        self.log(f"{stage}/loss_rec", metric, prog_bar=stage == "val")

    def grid_extra_rows(self, source: torch.Tensor, onehot: torch.Tensor) -> list[torch.Tensor]:
        """Extra per-target rows for the sample grid (e.g. attention masks); none by default."""
        return []

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """Instantiate the configured optimizer (a `functools.partial` from Hydra) on `params`."""
        if self.optimizer_factory is None:
            raise UsageError("model.optimizer is not set")
        return self.optimizer_factory(params)

    def on_validation_epoch_end(self) -> None:
        trainer = self.trainer
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.datamodule is None:
            return
        if self.current_epoch % self.grid_every_n_epochs and not trainer.fast_dev_run:
            return
        self.log_sample_grid()

    def log_sample_grid(self) -> torch.Tensor:
        """Render the grid of the datamodule's fixed sample people; log it and save a PNG."""
        from expr_gan.timing import timed

        with timed(f"samples/epoch_{self.current_epoch}"):
            return self._sample_grid()

    def _sample_grid(self) -> torch.Tensor:
        from expr_gan.visual import save_png

        dm = self.trainer.datamodule
        sample = {k: v.to(self.device) for k, v in dm.sample_batch().items()}
        was_training = self.training
        self.eval()
        grid = expression_grid(self.translate, sample, dm.pixels.decode, self.grid_extra_rows)
        self.train(was_training)
        for logger in self.loggers:
            if hasattr(logger.experiment, "add_image"):
                logger.experiment.add_image("samples/grid", grid, self.log_step)  # the scalars' step axis
        out = Path(self.trainer.default_root_dir) / "samples" / f"epoch_{self.current_epoch:04d}.png"
        save_png(grid, out)
        return grid
