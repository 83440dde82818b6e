"""PhaseTimer: each epoch's training and validation as phases of the run's timings.json."""
from __future__ import annotations

import pytorch_lightning as pl

from expr_gan import timing


class PhaseTimer(pl.Callback):
    """Times `epoch/<e>/train` (its training batches, with their checkpoint writes) and
    `epoch/<e>/validation` (the validation loop, with the sample grid and the evaluation nested in
    it as their own phases) in the active timing record (expr_gan/timing.py); does nothing outside one.

    A training phase starts at an epoch's first batch and ends when validation starts or the epoch
    ends, so a mid-epoch validation (`val_check_interval` < 1) splits the epoch into two phases of
    the same name. The batch counts tell what each phase covered.
    """

    def __init__(self):
        self._train: dict | None = None
        self._validation: dict | None = None

    def _end_train(self) -> None:
        record = timing.active()
        if record is not None and self._train is not None:
            record.end(self._train)
        self._train = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        record = timing.active()
        if record is not None and self._train is None:
            self._train = record.begin(f"epoch/{trainer.current_epoch}/train", batches=0)
        if self._train is not None:
            self._train["batches"] += 1

    def on_validation_start(self, trainer, pl_module) -> None:
        self._end_train()
        record = timing.active()
        if record is not None and not trainer.sanity_checking:
            self._validation = record.begin(f"epoch/{trainer.current_epoch}/validation")

    def on_validation_end(self, trainer, pl_module) -> None:
        record = timing.active()
        if record is not None and self._validation is not None:
            record.end(self._validation)
        self._validation = None

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._end_train()

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self._end_train()
