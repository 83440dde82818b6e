"""`expr-gan <command> [overrides]` (or `python -m expr_gan <command> ...`): every command behind one name.

The commands are expr_gan/commands/<command>.py; each runs as `python -m expr_gan.commands.<command>`
would (same arguments, run directory and errors).
"""
from __future__ import annotations

import sys

from expr_gan.commands import COMMANDS, run_command


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
    sys.argv = [f"expr-gan {name}", *rest]  # what Hydra (train) and --help read
    try:
        return run_command(name, rest)
    except SystemExit as done:  # Hydra's app (train) ends with sys.exit
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
