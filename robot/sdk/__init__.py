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
