"""PyBullet, imported without the "pybullet build time: ..." line its C module writes to stderr on import.

Every `humanoid` command printed that line first, so a usage error was two lines on stderr and a script reading
them had to skip it. Only the import is silenced: PyBullet's later warnings and errors still reach stderr.
"""

from __future__ import annotations

import os
import sys


def _import_quietly():  # noqa: ANN202 - the module
    try:
        sys.stderr.flush()
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no real stderr (an embedding host): import as is
        import pybullet

        return pybullet
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        import pybullet
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
    return pybullet


pb = _import_quietly()

__all__ = ["pb"]
