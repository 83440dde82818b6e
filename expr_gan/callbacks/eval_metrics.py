"""EvalMetrics: the evaluator's metrics under val/ at each validation, and in the HPARAMS tab at the end."""
from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch

from expr_gan.timing import timed

log = logging.getLogger(__name__)


class EvalMetrics(pl.Callback):
    """Logs val/<metric> for every registered metric (expr_gan/metrics/kinds/: expr_acc, id_acc, c2st_acc,
    sharpness, l1, psnr, ssim, copy_ratio, cond_sensitivity, ...) and val/judge_real_acc. `referees=false`: without the
    judge and the identity net (no expr_acc, id_acc, judge_real_acc; none trained); `c2st=null`:
    without the C2ST (no c2st_acc, c2st_std). What is left costs seconds; `expr_gan.evaluate` measures
    everything on the test people.

    Evaluates every `every_n_epochs` epochs and at the run's last validation (`every_n_epochs=null`:
    only there). Uses a fixed, seeded subset of `max_pairs` validation pairs so epochs are comparable; the
    referees are trained once per dataset (cached) on real training-identity images only; the C2ST
    classifier is trained afresh at each evaluation (`c2st`: its settings, as for expr_gan.evaluate).
    Under DDP rank 0 evaluates and broadcasts the values; every process logs them.

    Under `trainer.fast_dev_run` (a seconds-long check of the code path, for which Lightning itself
    turns off checkpoints and loggers) it does nothing: its referees take minutes to train on a cold
    cache and its C2ST classifiers most of a minute, and their values would mean nothing after one
    batch. `max_batches=N` is the short run that logs val/ metrics.
    """

    def __init__(self, every_n_epochs: int | None = 1, max_pairs: int = 384, max_sources: int = 24, referee: dict | None = None,
                 c2st: dict | None = None, referees: bool = True):
        self.every_n_epochs, self.max_pairs, self.max_sources = every_n_epochs, max_pairs, max_sources
        self.referee, self.c2st, self.referees = dict(referee or {}), c2st, referees
        self.evaluator = None
        self.pairs = None

    def _setup(self, dm) -> None:
        from expr_gan.metrics.evaluator import evaluator_for

        self.evaluator = evaluator_for(dm, self.referee, heldout="val", c2st=dict(self.c2st or {}),
                                       referees=self.referees, with_c2st=self.c2st is not None)
        order = torch.randperm(len(dm.val_pairs), generator=torch.Generator().manual_seed(1234))
        self.pairs = dm.val_pairs[order[: self.max_pairs]]

    def prepare(self, dm, wiring_check: bool = False) -> None:
        """Build the evaluator now (its referees trained and cached if they are not): train() calls this
        before fit, so under DDP the referees exist before the other processes start, and no process
        waits in a collective while rank 0 trains them. Nothing for a `wiring_check` (fast_dev_run)."""
        if self.evaluator is None and not wiring_check:
            self._setup(dm)

    def on_fit_start(self, trainer, pl_module) -> None:
        if trainer.fast_dev_run:
            log.info("fast_dev_run: no val/ metrics (the evaluation callback's referees and C2ST are skipped)")
        elif trainer.is_global_zero and trainer.datamodule is not None and self.evaluator is None:
            self._setup(trainer.datamodule)  # here, not in validation: referees may need training

    def _due(self, trainer) -> bool:
        """Whether this validation is evaluated (the same answer on every process)."""
        if trainer.sanity_checking or trainer.fast_dev_run or trainer.datamodule is None:
            return False
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            return True
        # the last validation of the run is always evaluated: the last epoch, or a stop (max_batches,
        # max_time: Lightning validates once more when a stop is requested)
        return bool(trainer.should_stop or (trainer.max_epochs is not None
                                            and trainer.current_epoch + 1 >= trainer.max_epochs))

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not self._due(trainer):
            return
        values = None
        if trainer.is_global_zero:  # rank 0 evaluates, every process logs the same values (broadcast)
            if self.evaluator is None:
                self._setup(trainer.datamodule)
            was_training = pl_module.training
            pl_module.eval()
            with timed(f"evaluation/epoch_{trainer.current_epoch}", pairs=len(self.pairs)):
                metrics = self.evaluator.evaluate(self.pairs, pl_module.translate, trainer.datamodule.pixels,
                                                  max_sources=self.max_sources, device=pl_module.device)
            pl_module.train(was_training)
            values = {key: float(metrics[key]) for key in self.evaluator.metric_keys()}
            if self.referees:
                values["judge_real_acc"] = self.evaluator.judge_real_acc
        values = trainer.strategy.broadcast(values, src=0)  # one process: returns values as they are
        for key, value in values.items():
            pl_module.log(f"val/{key}", value)  # on every rank: monitor=val/expr_acc works under DDP
