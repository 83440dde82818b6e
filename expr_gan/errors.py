"""The errors a user can fix, on the ground floor: every layer raises them, nothing here imports expr_gan.

The command line (cli.py) prints them as one `error:` line with exit code 2; anything else keeps its
traceback.
"""
from __future__ import annotations


class UsageError(ValueError):
    """A bad command-line argument; printed as `error: ...` with the usage, exit code 2."""


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not an expr_gan checkpoint."""


class DivergenceError(RuntimeError):
    """A loss term became NaN or infinite."""
