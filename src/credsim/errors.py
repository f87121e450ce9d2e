"""Errors a user can cause: each is one line (file, key, value, what is allowed)."""


class CredsimError(Exception):
    """An error caused by the user's input; the CLI prints it as one line, exit 2."""

    exit_code = 2


class ScenarioError(CredsimError, ValueError):
    """A scenario that is not valid."""


class RunDirError(CredsimError):
    """A run directory that cannot be used."""
