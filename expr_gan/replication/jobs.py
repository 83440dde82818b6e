"""The report's experiments as training jobs, and how much work each gets per budget.

A job is one `python -m expr_gan.train` run: a `paper_*` experiment (conf/experiment, each file says
what it replicates and which reading of the report it takes where the report is silent) plus the one
change a claim is about. Budgets are work (epochs, batches), never wall time, so a slower machine
measures the same thing:

  tiny   seconds per job (debug=tiny: 32 px, 16 people, narrow nets): the test suite's run
  cpu    the embedded 300 people, net_width 16: 32 px for the regressors' and the cGAN's claims (the
         report's own first size; the cGAN keeps the report's 16 x 16 bottleneck there), 64 px for the
         joint classifier (its head needs the larger feature maps); about 90 min on a 2-core CPU
         (docs/replication.md has the measured run)
  paper  the report's settings (128 px, its widths and epochs): a GPU

Every job has a role. `claim` jobs are the report's configurations; a `control` runs the same family
at the same budget with the one change that must make it learn (a chance-level or degenerate claim
job then comes from the setting, not from a bug); a `sensitivity` job keeps a reading of the report
that fails (its state is the finding). `continues`: the job resumes another job's trained weights
and optimizer state and trains `extra` more batches (the report's iterations per batch, applied to
the cGAN that has learned the identity function). A `seed` job is a claim job trained again with
another training seed (`seed=S`: weights, split and data order), for the claims whose measured values
lie near their thresholds (SEEDED).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from expr_gan.errors import UsageError
from expr_gan.replication.claims import CLAIMS

BUDGETS = ("tiny", "cpu", "paper")
ROLES = ("claim", "control", "sensitivity", "seed")
# the joint jobs are also evaluated on the identity split's test people: the people their
# pair_heldout split holds out entirely (data/pairs.py), so the shared referees apply
IDENTITY_SPLIT = ["data.split=identity", "data.split_fractions=[0.8,0.1,0.1]"]


@dataclass(frozen=True)
class Job:
    """One training run of the replication."""

    name: str
    overrides: tuple[str, ...]
    work: dict = field(default_factory=dict)  # budget -> overrides that set its epochs / batches
    size_cpu: int = 32  # image size under budget=cpu
    cpu_overrides: tuple[str, ...] = ()  # more overrides under budget=cpu (the cGAN's bottleneck at 32 px)
    history: bool = False  # evaluate (val/ metrics) every 3 epochs: the claim is about training
    eval_overrides: tuple[str, ...] = ()  # data overrides for expr_gan.evaluate
    role: str = "claim"
    about: str = ""  # what a control or sensitivity job shows (the table's words)
    continues: str | None = None  # the job whose trained state this one continues
    extra: dict = field(default_factory=dict)  # budget -> batches trained after `continues` ended
    # a reading of the report (a sensitivity row): claim job -> the job that stands in for it under this
    # reading; the claims those jobs decide are judged again with the stand-ins (readings.py)
    reading: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"job {self.name}: role={self.role!r}: expected one of {', '.join(ROLES)}")

    def train_overrides(self, budget: str) -> list[str]:
        """The full override list for `python -m expr_gan.train` under `budget` (without the resume
        point of a `continues` job, which replicate.run_job adds)."""
        if budget not in BUDGETS:
            raise UsageError(f"budget={budget!r}: expected one of {', '.join(BUDGETS)}")
        scale = {"tiny": ["debug=tiny", "data.num_identities=16"],
                 "cpu": [f"data.size={self.size_cpu}", "net_width=16", *self.cpu_overrides], "paper": []}[budget]
        if self.history:
            metrics = ["callbacks.eval_metrics.every_n_epochs=3", "callbacks.eval_metrics.max_pairs=192"]
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


SGD = _epochs((1, 2), (2, 4), (2, 4))
# stage 2 trains two epochs, so "settles within the first epoch" (claim 2) can fail
TWO_STEP = _epochs((1, 3), (2, 4), (4, 8))
JOINT = _epochs((1, 2), (1, 3), (2, 4))
DCGAN = _gan_epochs(3, 12, 10)
ITERS = {"tiny": 6, "cpu": 80, "paper": 450}  # batches after the cGAN's own training
# the report's nets condense 32 px to 16 x 16 (section 2.1): one downsampling at 32 px (num_down=3 at 128)
BOTTLENECK_16 = ("model.generator.num_down=1",)
TWO_STEP_16 = ("model.net.num_down=1", "model.refiner.num_down=1")
# the report's head reads 64 x 64 maps (36 inputs to its FC layer at 128 px); at 64 px those are the
# refiner's first level (after its first downsampling they are 32 x 32, and the FC gets 4 inputs)
HEAD_64 = ("model.cls_level=0",)
# the cGAN's reconstruction in grey levels whatever the pixel range (losses/image_terms.py)
GREY_LEVEL_REC = "model.g_terms.rec._target_=expr_gan.losses.image_terms.GreyLevelReconstruction"
LABEL_TILED = ("model.refiner.condition=tile", "model.refiner.cond_scale=255")
BASE_TWO_STEP = ("model.net.out_bias=null", "model.refiner.out_bias=null")

_CLAIMS = [
    # section 2.3.2: the failing combination, then each of its three ingredients changed alone
    Job("sgd_minimal_unit", ("experiment=paper_sgd_minimal_unit",), SGD),
    Job("sgd_minimal_unit__adam", ("experiment=paper_sgd_minimal_unit", "optimizer=adam"), SGD),
    Job("sgd_minimal_unit__norm_all", ("experiment=paper_sgd_minimal_unit", "norm=all"), SGD),
    Job("sgd_minimal_unit__byte", ("experiment=paper_sgd_minimal_unit", "pixels=byte"), SGD),
    # sections 2.3.3-2.3.4: the two-step process, loss x layers
    Job("two_step_mse", ("experiment=paper_two_step_mse",), TWO_STEP, cpu_overrides=TWO_STEP_16),
    Job("two_step_smoothl1_base", ("experiment=paper_two_step_mse", "loss=smoothl1"), TWO_STEP,
        cpu_overrides=TWO_STEP_16),
    Job("two_step_mse_refined", ("experiment=paper_two_step_smoothl1", "loss=mse"), TWO_STEP,
        cpu_overrides=TWO_STEP_16),
    Job("two_step_smoothl1", ("experiment=paper_two_step_smoothl1",), TWO_STEP, cpu_overrides=TWO_STEP_16),
    # section 2.3.5: the joint network's classifier
    Job("joint_smoothl1", ("experiment=paper_joint",), JOINT, 64, HEAD_64, eval_overrides=tuple(IDENTITY_SPLIT)),
    Job("joint_mse", ("experiment=paper_joint", "loss=mse"), JOINT, 64, HEAD_64, eval_overrides=tuple(IDENTITY_SPLIT)),
    Job("joint_end_to_end", ("experiment=paper_joint", "model.mode=end_to_end"), JOINT, 64, HEAD_64,
        eval_overrides=tuple(IDENTITY_SPLIT)),
    # section 3: the conditional DCGAN and its variants
    Job("dcgan", ("experiment=paper_dcgan",), DCGAN, cpu_overrides=BOTTLENECK_16, history=True),
    Job("dcgan_cls", ("experiment=paper_dcgan_cls",), DCGAN, cpu_overrides=BOTTLENECK_16),
    # the report's loss is computed on what the network outputs: here standardised values
    # claim 9 with the loss matched: standardised pixels, SmoothL1 in grey levels as the [-1, 1] run's
    Job("dcgan_standard_grey", ("experiment=paper_dcgan", "pixels=standard", "loss=smoothl1", GREY_LEVEL_REC), DCGAN,
        cpu_overrides=BOTTLENECK_16),
    *[Job(f"dcgan_iters{n}", ("experiment=paper_dcgan", f"model.iters_per_batch={n}"), {},
          cpu_overrides=BOTTLENECK_16, continues="dcgan", extra=ITERS) for n in (1, 2, 8, 16)],
]

_CONTROLS = [
    Job("two_step_smoothl1__symmetric", ("experiment=paper_two_step_smoothl1", "pixels=symmetric", *BASE_TWO_STEP),
        TWO_STEP, cpu_overrides=TWO_STEP_16, role="control",
        about="the refined two-step in [-1, 1] with a tanh output: must give faces"),
    Job("joint_smoothl1__label", ("experiment=paper_joint", *LABEL_TILED), JOINT, 64, HEAD_64,
        eval_overrides=tuple(IDENTITY_SPLIT), role="control",
        about="the joint head with the target label tiled into the refiner it reads (planes of 0 or 255, the "
        "images' units): must reach >= 90 %"),
    Job("joint_smoothl1__label_relu", ("experiment=paper_joint", *LABEL_TILED, "model.head.logit_relu=true"), JOINT,
        64, HEAD_64, eval_overrides=tuple(IDENTITY_SPLIT), role="control",
        about="the literal head (the ReLU after its FC layer) given the answer, the label tiled as above: must reach "
        ">= 90 % if that head can learn at all"),
    Job("dcgan__no_adv", ("experiment=paper_dcgan", "model.g_terms.adv.weight=0"), DCGAN, cpu_overrides=BOTTLENECK_16,
        role="control", about="the cGAN without its adversarial term, a plain regressor: must give (blurry) faces"),
]

_SENSITIVITY = [
    Job("two_step_smoothl1__out_bias0", ("experiment=paper_two_step_smoothl1", *BASE_TWO_STEP), TWO_STEP,
        cpu_overrides=TWO_STEP_16, role="sensitivity", reading={"two_step_smoothl1": "two_step_smoothl1__out_bias0"},
        about="the refined two-step with its linear [0, 255] output starting at 0 (not mid-grey)"),
    Job("two_step_smoothl1__adam_2e-4", ("experiment=paper_two_step_smoothl1", "optimizer.lr=0.0002"), TWO_STEP,
        cpu_overrides=TWO_STEP_16, role="sensitivity", reading={"two_step_smoothl1": "two_step_smoothl1__adam_2e-4"},
        about="the refined two-step with Adam at 2e-4 instead of 1e-3"),
    Job("joint_smoothl1__logit_relu", ("experiment=paper_joint", "model.head.logit_relu=true"), JOINT, 64, HEAD_64,
        eval_overrides=tuple(IDENTITY_SPLIT), role="sensitivity", reading={"joint_smoothl1": "joint_smoothl1__logit_relu"},
        about="the literal joint head: the ReLU the report writes after its FC layer"),
    Job("joint_smoothl1__as_written", ("experiment=paper_joint", "model.head.logit_relu=true", "optimizer.lr=0.0002",
                                       *BASE_TWO_STEP), JOINT, 64, HEAD_64, eval_overrides=tuple(IDENTITY_SPLIT),
        role="sensitivity", reading={"joint_smoothl1": "joint_smoothl1__as_written"},
        about="the joint network as configured before these readings: the head's ReLU, outputs starting at 0, Adam at 2e-4"),
    Job("dcgan__unit_weight", ("experiment=paper_dcgan", "loss=smoothl1"), DCGAN, cpu_overrides=BOTTLENECK_16,
        role="sensitivity", reading={"dcgan": "dcgan__unit_weight"},
        about="the cGAN with SmoothL1 in [-1, 1] units at weight 1 beside the adversarial term"),
    Job("dcgan__adam_2e-4", ("experiment=paper_dcgan", "optimizer.lr=0.0002"), DCGAN, cpu_overrides=BOTTLENECK_16,
        role="sensitivity", reading={"dcgan": "dcgan__adam_2e-4"},
        about="the cGAN with Adam at DCGAN's 2e-4 instead of 1e-3"),
    Job("dcgan__fc_bottleneck", ("experiment=paper_dcgan", "model.generator.fc_bottleneck=true"), DCGAN,
        cpu_overrides=BOTTLENECK_16, role="sensitivity", reading={"dcgan": "dcgan__fc_bottleneck"},
        about="the cGAN with its image code passed through a 512-unit fully connected layer"),
    Job("dcgan__literal", ("experiment=paper_dcgan", "model.generator.fc_bottleneck=true", "loss=smoothl1",
                           "optimizer.lr=0.0002"), DCGAN, cpu_overrides=BOTTLENECK_16, role="sensitivity",
        reading={"dcgan": "dcgan__literal"}, about="the report's cGAN as written, all three readings at once: the "
        "image code through a 512-unit FC layer, SmoothL1 in [-1, 1] at weight 1, Adam at 2e-4"),
    # section 3.3's other reading: 16 iterations on each batch from the start, not after the copy is learned
    Job("dcgan_iters16_scratch", ("experiment=paper_dcgan", "model.iters_per_batch=16"), _gan_epochs(1, 1, 10),
        cpu_overrides=BOTTLENECK_16, role="sensitivity",
        reading={"dcgan_iters1": "dcgan", "dcgan_iters8": "dcgan_iters16_scratch", "dcgan_iters16": "dcgan_iters16_scratch"},
        about="16 iterations on each batch from scratch, 1 epoch (budget=cpu: 225 batches, 3,600 updates against "
        "the cGAN's 2,700), judged against the cGAN (1 iteration); 2 iterations stay the continued run's"),
    # claim 9 as first read: the loss on the standardised values (about 1/100 of the grey-level loss's gradient)
    Job("dcgan_standard", ("experiment=paper_dcgan", "pixels=standard", "loss=smoothl1"), DCGAN,
        cpu_overrides=BOTTLENECK_16, role="sensitivity", reading={"dcgan_standard_grey": "dcgan_standard"},
        about="standardised pixels with plain SmoothL1 on the standardised values (not loss-matched to the "
        "[-1, 1] run's grey levels)"),
]

# claim jobs trained again on seeds 1 and 2: the jobs of the claims marked `seeded` in claims.py, those whose
# measured values lay within reach of their thresholds on seed 0 (claims 2, 4, 5, 6, 8 and 10; claims.py says
# why for each). The claims are the one place that says which: this list is derived from them.
SEEDS = (1, 2)
SEEDED = tuple(dict.fromkeys(j for c in CLAIMS if c.seeded for j in c.jobs))


def seed_name(name: str, seed: int) -> str:
    """The job `name` trained with training seed `seed` (seed 0: the job itself)."""
    return name if seed == 0 else f"{name}__seed{seed}"


def base_name(name: str) -> str:
    """The claim job a seed job repeats (itself for any other job)."""
    return name.split("__seed")[0]


def _seeded(job: Job, seed: int) -> Job:
    return replace(job, name=seed_name(job.name, seed), overrides=(*job.overrides, f"seed={seed}"), role="seed",
                   history=False, about=f"{job.name} with training seed {seed}",
                   continues=seed_name(job.continues, seed) if job.continues else None)


_BY_NAME = {job.name: job for job in [*_CLAIMS, *_CONTROLS, *_SENSITIVITY]}
JOBS = {**_BY_NAME, **{seed_name(n, s): _seeded(_BY_NAME[n], s) for s in SEEDS for n in SEEDED}}
