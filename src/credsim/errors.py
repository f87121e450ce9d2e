"""Errors a user can cause: each is one line (file, key, value, what is allowed)."""


class CredsimError(Exception):
    """An error caused by the user's input; the CLI prints it as one line, exit 2."""

    exit_code = 2
    # in a partitioned run: every rank meets it (rank 0 says it once, all stop), not a
    # rank alone (which says it and ends the job)
    all_ranks = False


class ScenarioError(CredsimError, ValueError):
    """A scenario that is not valid."""


class RunDirError(CredsimError):
    """A run directory that cannot be used."""
