"""BatchClock: the run's one clock of training batches, and `last.ckpt`, which follows it."""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn

from expr_gan.errors import UsageError

LAST = "last.ckpt"


class BatchClock(pl.callbacks.Checkpoint):
    """Counts training batches, stops after `max_batches`, and owns `<dirpath>/last.ckpt`.

    As each training batch starts, in this order: `last.ckpt` is written if `every_n_batches` batches
    completed since the last write, the batch is counted (`module.batches_trained`, the step of
    every logged scalar and sample grid), and if it is the budget's last one the trainer is told to
    stop after it (so the batch still runs and logs its terms). `last.ckpt` is also written at the
    end of every validation and when training ends (unless nothing trained since the last write);
    nothing is written when a run fails, so after a divergence it is the last good state.

    Batches, not optimizer steps: Lightning's `max_steps` and `every_n_train_steps` count optimizer
    steps, several per batch for a GAN. The count is stored in checkpoints, so a resumed run
    continues it. A `Checkpoint`, so Lightning runs it after every other callback: a callback's
    on_train_batch_start sees the batches before this one, and at the end of a validation the
    best-epoch file and its record are updated first (the config lists it after best_checkpoint; train() checks that it is the last), so the
    last.ckpt written then carries that record (tests/test_checkpoints.py). The periodic write happens
    as the next batch starts, not in on_train_batch_end: there Lightning has not yet counted the batch
    as completed, and a resume from such a file restarts its loop one batch behind the data position
    (tests/test_resume.py: the SIGKILL test caught it). `dirpath=None` writes nothing.
    """

    def __init__(self, dirpath: str | None = None, every_n_batches: int | None = 200, max_batches: int | None = None):
        if every_n_batches is not None and every_n_batches < 1:
            raise UsageError(f"callbacks.batch_clock.every_n_batches={every_n_batches}: "
                             "expected a positive number or null")
        if max_batches is not None and max_batches < 1:
            raise UsageError(f"max_batches={max_batches}: expected a positive number or null")
        self.path = Path(dirpath) / LAST if dirpath is not None else None
        self.every_n_batches, self.max_batches = every_n_batches, max_batches
        self._written_at: int | None = None  # batches_trained at the last write

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        done = pl_module.batches_trained
        if self.every_n_batches and done and done % self.every_n_batches == 0 and self._written_at != done:
            self._write(trainer, pl_module)
        pl_module.batches_trained = done + 1
        pl_module.batch_in_epoch = batch_idx
        if self.max_batches is not None and pl_module.batches_trained >= self.max_batches:
            trainer.should_stop = True

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == TrainerFn.FITTING:  # not for trainer.validate()
            self._write(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if self._written_at != pl_module.batches_trained:  # e.g. stopped by max_batches or max_time mid-epoch
            self._write(trainer, pl_module)

    def _write(self, trainer, pl_module) -> None:
        if self.path is None or trainer.fast_dev_run or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # the whole state: weights, optimizers, loops
        self._written_at = pl_module.batches_trained
