"""The errors a user can fix, on the ground floor: every layer raises them, nothing here imports expr_gan.

A command prints a UserError as one `error:` line with exit code 2 (expr_gan/commands/command.py);
anything else, a ValueError from a bug included, keeps its traceback. Each is also the built-in
exception it refines (a UsageError is a ValueError), so `except ValueError` still catches it.
"""
from __future__ import annotations


class UserError(Exception):
    """An error the user can fix: the message names the option, file or value and what was expected."""


class UsageError(UserError, ValueError):
    """A bad command-line argument or config value (an unknown key, an option out of range)."""


class DataError(UserError, ValueError):
    """Data that cannot be used: a folder without the expected files, a photo without a face, a bad label."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder named by an option that does not exist."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, unreadable or not an expr_gan checkpoint."""


class DivergenceError(UserError, RuntimeError):
    """A loss term became NaN or infinite."""
