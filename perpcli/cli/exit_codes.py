"""The CLI's exit codes: re-exported from the domain so the contract lives in one place."""

from perpcli.domain.errors import ExitCode

__all__ = ["ExitCode"]
