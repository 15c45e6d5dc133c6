"""A Unitree-style SDK over the simulated G1: hg LowCmd/LowState and the LocoClient."""

from robot.sdk.bridge import LowLevelBridge
from robot.sdk.lowlevel import (
    CRC,
    G1JointIndex,
    IMUState,
    LowCmd,
    LowCmdError,
    LowState,
    MotorCmd,
    MotorState,
)

__all__ = ["CRC", "G1JointIndex", "IMUState", "LowCmd", "LowCmdError", "LowLevelBridge", "LowState",
           "MotorCmd", "MotorState"]

# The high-level layer imports the controllers, which import the messages above, so it is loaded on
# first use (PEP 562) rather than here: `from robot.sdk import LocoClient` works either way.
_LOCO = ("FsmId", "LocoClient", "LocoError", "SimRobot", "VelocityLimits")
__all__ += list(_LOCO)


def __getattr__(name: str) -> object:
    if name in _LOCO:
        from robot.sdk import loco

        return getattr(loco, name)
    raise AttributeError(f"module 'robot.sdk' has no attribute {name!r}")
