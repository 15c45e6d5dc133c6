"""Fall detection from what the robot measures: pelvis height (estimator) and tilt (IMU).

Thresholds follow Unitree's training terminations (|pitch| > 1.0 rad, |roll| > 0.8 rad) with a pelvis
height floor: the G1 stands with its pelvis at about 0.79 m and walks at about 0.74 m, so under 0.45 m
it is on the ground or about to be. A fall is declared on the first 2 ms tick past a threshold, well
within the 0.5 s the walking issue allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robot.control.base import Odometry
from robot.sdk.lowlevel import LowState


@dataclass(frozen=True)
class FallConfig:
    min_pelvis_height: float = 0.45
    """m above the ground."""
    max_tilt: float = 0.8
    """rad between the pelvis z axis and the vertical (roll and pitch together)."""


class FallDetector:
    """Says when the robot has fallen; the state machine then goes to Damp."""

    def __init__(self, cfg: FallConfig = FallConfig()) -> None:
        self.cfg = cfg

    def tilt(self, state: LowState) -> float:
        """Angle of the pelvis z axis from the vertical, from the IMU quaternion."""
        # As floats: this runs every 2 ms, and most ticks nothing else reads the IMU.
        w, x, y, z = state.imu_state.quaternion_floats()
        cos_tilt = 1.0 - 2.0 * (x * x + y * y)
        return math.acos(max(-1.0, min(1.0, cos_tilt)))

    def update(self, state: LowState, odom: Odometry) -> bool:
        return odom.position[2] < self.cfg.min_pelvis_height or self.tilt(state) > self.cfg.max_tilt
