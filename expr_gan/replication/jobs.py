"""The report's experiments as training jobs, and how much work each gets per budget.

A job is one `python -m expr_gan.train` run: a `paper_*` experiment (conf/experiment, each file says
what it replicates and which settings the report left open) plus the one change a claim is about.
Budgets are work (epochs, batches), never wall time, so a slower machine measures the same thing:

  tiny   seconds per job (debug=tiny: 32 px, 12 people, narrow nets): the test suite's run
  cpu    64 px (32 px where the report used it), net_width 16, the embedded 300 people: 1.5-2.5 hours
         on a 2-core CPU (README "Replication" has the measured run)
  paper  the report's settings (128 px, its widths and epochs): a GPU
"""
from __future__ import annotations

from dataclasses import dataclass, field

BUDGETS = ("tiny", "cpu", "paper")
# the 64 px jobs are evaluated on the identity split (held-out people), whatever split they trained on
IDENTITY_SPLIT = ["data.split=identity", "data.split_fractions=[0.8,0.1,0.1]"]


@dataclass(frozen=True)
class Job:
    """One training run of the replication."""

    name: str
    overrides: tuple[str, ...]
    work: dict = field(default_factory=dict)  # budget -> overrides that set its epochs / batches
    size_cpu: int = 64  # image size under budget=cpu (the report's 32 px where it used them)
    history: bool = False  # evaluate (val/ metrics) after every epoch: the claim is about training
    eval_overrides: tuple[str, ...] = ()  # data overrides for expr_gan.evaluate

    def train_overrides(self, budget: str) -> list[str]:
        """The full override list for `python -m expr_gan.train` under `budget`."""
        if budget not in BUDGETS:
            raise ValueError(f"budget={budget!r}: expected one of {', '.join(BUDGETS)}")
        scale = {"tiny": ["debug=tiny", "data.num_identities=16"],
                 "cpu": [f"data.size={self.size_cpu}", "net_width=16"], "paper": []}[budget]
        if self.history:
            metrics = ["callbacks.eval_metrics.every_n_epochs=1", "callbacks.eval_metrics.max_pairs=192"]
        else:
            metrics = ["callbacks.eval_metrics=null"]
        return [*self.overrides, *scale, *self.work.get(budget, []), *metrics, "trainer.max_time=null",
                "print_config=false", "trainer.enable_progress_bar=false"]


def _epochs(tiny: tuple[int, int], cpu: tuple[int, int], paper: tuple[int, int]) -> dict:
    """Two-step work per budget: (stage-1 epochs, total epochs)."""
    return {b: [f"model.stage1_epochs={s}", f"trainer.max_epochs={t}"] for b, (s, t) in
            (("tiny", tiny), ("cpu", cpu), ("paper", paper))}


def _gan_epochs(tiny: int, cpu: int, paper: int) -> dict:
    return {"tiny": [f"trainer.max_epochs={tiny}"], "cpu": [f"trainer.max_epochs={cpu}"],
            "paper": [f"trainer.max_epochs={paper}"]}


def _gan_batches(tiny: int, cpu: int, paper: int) -> dict:
    return {b: [f"max_batches={n}", "trainer.max_epochs=1000"] for b, n in (("tiny", tiny), ("cpu", cpu), ("paper", paper))}


SGD = _epochs((1, 2), (2, 4), (2, 4))
TWO_STEP = _epochs((1, 2), (2, 3), (4, 8))
JOINT = _epochs((1, 2), (1, 2), (2, 4))
DCGAN = _gan_epochs(2, 2, 10)
ITERS = _gan_batches(6, 80, 450)

JOBS = {job.name: job for job in [
    # section 2.3.2: the failing combination, then each of its three ingredients changed alone
    Job("sgd_minimal_unit", ("experiment=paper_sgd_minimal_unit",), SGD, size_cpu=32),
    Job("sgd_minimal_unit__adam", ("experiment=paper_sgd_minimal_unit", "optimizer=adam"), SGD, size_cpu=32),
    Job("sgd_minimal_unit__norm_all", ("experiment=paper_sgd_minimal_unit", "norm=all"), SGD, size_cpu=32),
    Job("sgd_minimal_unit__byte", ("experiment=paper_sgd_minimal_unit", "pixels=byte"), SGD, size_cpu=32),
    # sections 2.3.3-2.3.4: the two-step process, loss x layers
    Job("two_step_mse", ("experiment=paper_two_step_mse",), TWO_STEP),
    Job("two_step_smoothl1_base", ("experiment=paper_two_step_mse", "loss=smoothl1"), TWO_STEP),
    Job("two_step_mse_refined", ("experiment=paper_two_step_smoothl1", "loss=mse"), TWO_STEP),
    Job("two_step_smoothl1", ("experiment=paper_two_step_smoothl1",), TWO_STEP),
    # section 2.3.5: the joint network's classifier
    Job("joint_smoothl1", ("experiment=paper_joint", "run_test=true"), JOINT, eval_overrides=tuple(IDENTITY_SPLIT)),
    Job("joint_mse", ("experiment=paper_joint", "loss=mse", "run_test=true"), JOINT, eval_overrides=tuple(IDENTITY_SPLIT)),
    Job("joint_end_to_end", ("experiment=paper_joint", "model.mode=end_to_end", "run_test=true"), JOINT,
        eval_overrides=tuple(IDENTITY_SPLIT)),
    # section 3: the conditional DCGAN and its variants
    Job("dcgan", ("experiment=paper_dcgan",), DCGAN, history=True),
    Job("dcgan_cls", ("experiment=paper_dcgan", "model.discriminator.num_classes=6", "model.d_cls_on_fake=true"), DCGAN),
    Job("dcgan_standard", ("experiment=paper_dcgan", "pixels=standard"), DCGAN),
    # 32 px under budget=cpu: 16 iterations per batch cost 16x, and the claim is about iterations, not size
    *[Job(f"dcgan_iters{n}", ("experiment=paper_dcgan", f"model.iters_per_batch={n}"), ITERS, size_cpu=32)
      for n in (1, 2, 8, 16)],
]}
