"""The socket System 1 plugs into: what every whole-body controller takes and gives.

A controller is called once per physics step (500 Hz) with the robot's LowState, the odometry of its
state estimator and the current locomotion command, and answers with the LowCmd to send. The
model-based walker (robot/control/walker.py), Unitree's released policy (policies/learned) and our
learned walkers all implement it; the LocoClient's state machine owns the modes around it (damping,
standing up, fall detection), so every controller falls back to Damp the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState


@dataclass
class Odometry:
    """The state estimator's output (Unitree's SportModeState): pelvis pose and velocity, world frame.

    In simulation the estimator is exact (the simulator's ground truth stands in for leg odometry + IMU
    fusion); controllers must treat it as an estimate and never write it.
    """

    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    yaw: float = 0.0
    yaw_rate: float = 0.0


@dataclass
class LocoCommand:
    """What the LocoClient asks of System 1 at this instant."""

    vx: float = 0.0
    """Forward velocity, m/s, in the heading frame."""
    vy: float = 0.0
    """Leftward velocity, m/s."""
    vyaw: float = 0.0
    """Yaw rate, rad/s, positive counter-clockwise."""
    walking: bool = True
    """Balance mode: True steps (ContinuousGait), False stands still when the velocity is zero."""
    height: float = 0.0
    """Pelvis height offset from the nominal stance, m (LowStand < 0 < HighStand)."""
    arm_q: np.ndarray = field(default_factory=lambda: C.DEFAULT_Q.copy())
    """Arm and waist targets (35 slots; only the upper-body slots are read), as Unitree's arm_sdk."""
    arm_weight: float = 0.0
    """arm_sdk blend weight: 0 = the controller's own arm pose, 1 = `arm_q`."""


def blend_upper_body(q: np.ndarray, own: np.ndarray, command: LocoCommand, blended: bool) -> bool:
    """arm_sdk's blend for a controller that holds the waist and arms at `own` (their targets in
    UPPER_BODY_SLOTS order): writes `(1 - w) own + w command.arm_q` into `q` while the weight w is on, and
    once more when it drops to 0. Returns whether it is on, to pass back as `blended` next tick."""
    w = float(np.clip(command.arm_weight, 0.0, 1.0))
    if w > 0.0 or blended:
        upper = C.UPPER_BODY_SLOTS
        q[upper] = (1.0 - w) * own + w * np.asarray(command.arm_q)[upper]
    return w > 0.0


@runtime_checkable
class Controller(Protocol):
    """System 1: LowState + odometry + command -> LowCmd, once per 2 ms physics step."""

    name: str

    def reset(self, state: LowState, odom: Odometry) -> None:
        """Start from the robot's present state (a new episode or after standing up)."""

    def step(self, state: LowState, odom: Odometry, command: LocoCommand) -> LowCmd:
        """The LowCmd for the next 2 ms."""
