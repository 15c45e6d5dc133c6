"""Learned controllers: plugs for the Controller socket that robot/control defines.

torch is imported by the modules that need it, so `import policies.learned` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.learned.walker_policy import LearnedWalkerController
    from policies.learned.unitree_policy import (
        UnitreePolicyConfig,
        UnitreePolicyController,
        UnitreePolicyError,
        build_observation,
    )

__all__ = ["DEFAULT_WALKER", "LearnedWalkerController", "WalkerPolicy", "WalkerPolicyConfig", "WalkerPolicyError",
           "UnitreePolicyConfig", "UnitreePolicyController", "UnitreePolicyError", "build_observation",
           "make_controller"]

_LAZY = {name: "policies.learned.unitree_policy" for name in
         ("UnitreePolicyConfig", "UnitreePolicyController", "UnitreePolicyError", "build_observation")}
_LAZY.update({name: "policies.learned.walker_policy" for name in
              ("LearnedWalkerController", "WalkerPolicy", "WalkerPolicyConfig", "WalkerPolicyError")})

CONTROLLER_KINDS = ("unitree-policy", "learned")
"""Learned controllers a `--controller KIND:PATH` spec can name: Unitree's TorchScript policies, and
walker policies trained by `humanoid train walker` (a folder saved by `WalkerPolicy.save_pretrained`)."""

DEFAULT_WALKER = Path(__file__).resolve().parents[2] / "assets" / "models" / "openhumanoid-walker-mlp"
"""The shipped learned walker: what a bare `--controller learned` runs."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_controller(spec: str) -> UnitreePolicyController | LearnedWalkerController:
    """A learned controller from a command-line spec such as ``unitree-policy:/path/to/motion.pt`` or
    ``learned:/path/to/policy_folder``.

    Raises:
        ValueError: an unknown kind or a missing path (the message says what is accepted).
        FileNotFoundError: no file at the path.
        UnitreePolicyError, WalkerPolicyError: the file or folder is not a fitting policy.
    """
    if spec == "learned":
        spec = f"learned:{DEFAULT_WALKER}"  # the shipped walker
    kind, sep, path = spec.partition(":")
    if kind not in CONTROLLER_KINDS:
        raise ValueError(f"unknown learned controller {kind!r} in {spec!r}; expected one of "
                         f"{', '.join(k + ':PATH' for k in CONTROLLER_KINDS)}")
    if not sep or not path:
        raise ValueError(f"{spec!r} names no policy file; write {kind}:PATH")
    try:
        import torch  # noqa: F401
    except ImportError as err:
        raise ImportError(f"the {kind} controller needs torch: pip install 'openhumanoid[learn]'") from err
    if kind == "learned":
        from policies.learned.walker_policy import LearnedWalkerController

        return LearnedWalkerController(path)
    from policies.learned.unitree_policy import UnitreePolicyController

    return UnitreePolicyController(path)
