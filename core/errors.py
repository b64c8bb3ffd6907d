"""Errors a user can act on.

`InputError` carries one line for the user: which file, which row or column, what to do. The command line
prints it without a traceback and exits 1. `NumericalError` is a solver or sampler failure the user must see
(exit 2). Both live in the bottom layer so every layer can raise them.
"""

from __future__ import annotations


class CtfpError(Exception):
    """Base class of the errors the command line reports as one line."""

    exit_code = 1


class InputError(CtfpError):
    """Bad input: a file, column, row or option the user must fix."""

    exit_code = 1


class NumericalError(CtfpError):
    """A solver status, non-convergence or failed diagnostic the user must know about."""

    exit_code = 2
