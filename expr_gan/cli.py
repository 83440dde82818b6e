"""Errors of the command-line tools: a user error is one line and exit code 2, a bug keeps its traceback.

Parsing is expr_gan.app's (Hydra's grammar, one config per command under conf/)."""
from __future__ import annotations

import sys

from expr_gan.errors import DivergenceError


def user_error(err: BaseException) -> str | None:
    """The one-line message of an error the user can fix (a bad option, missing or unusable data, a
    bad checkpoint, a diverged run); None for anything else (a bug: keep its traceback)."""
    from hydra.errors import HydraException, InstantiationException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(err, InstantiationException) and err.__cause__ is not None:
        err = err.__cause__  # the user-facing message is the cause's
    if isinstance(err, (ValueError, FileNotFoundError, NotADirectoryError, DivergenceError, HydraException,
                        OmegaConfBaseException)):  # UsageError and CheckpointError are ValueErrors
        return str(err).strip()
    return None


def run(main, argv: list[str] | None = None) -> int:
    """Call `main(argv)`, turning user errors into a one-line message and exit code 2."""
    try:
        return main(sys.argv[1:] if argv is None else argv) or 0
    except Exception as err:
        message = user_error(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
