"""The G1 (23-DoF, rev 1.0) in numbers: the one place that names joints, motor slots, limits and gains.

Facts follow Unitree's published G1 description and SDK (see ../shared/reference/g1.md). Nothing else in
the project hard-codes a joint index: import the tables from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_MOTOR = 35
"""Slots in LowCmd/LowState (the hg message family), as on the real robot."""

MODE_MACHINE_23DOF = 4
"""`mode_machine` that the 23-DoF rev 1.0 robot reports."""


@dataclass(frozen=True)
class JointSpec:
    """One actuated joint: its motor slot, URDF name, axis, limits and default gains."""

    index: int
    name: str
    axis: str  # "x" (roll), "y" (pitch) or "z" (yaw) in the child link frame
    lower: float
    upper: float
    effort: float  # N m
    velocity: float  # rad/s
    default: float  # rad, the standing pose
    kp: float  # N m/rad, Unitree's low-level SDK example gains
    kd: float  # N m s/rad


def _leg(side: str, base: int) -> list[JointSpec]:
    left = side == "left"
    return [
        JointSpec(base + 0, f"{side}_hip_pitch_joint", "y", -2.5307, 2.8798, 88.0, 32.0, -0.1, 60.0, 1.0),
        JointSpec(base + 1, f"{side}_hip_roll_joint", "x",
                  -0.5236 if left else -2.9671, 2.9671 if left else 0.5236, 139.0, 20.0, 0.0, 60.0, 1.0),
        JointSpec(base + 2, f"{side}_hip_yaw_joint", "z", -2.7576, 2.7576, 88.0, 32.0, 0.0, 60.0, 1.0),
        JointSpec(base + 3, f"{side}_knee_joint", "y", -0.0873, 2.8798, 139.0, 20.0, 0.3, 100.0, 2.0),
        JointSpec(base + 4, f"{side}_ankle_pitch_joint", "y", -0.8727, 0.5236, 50.0, 37.0, -0.2, 40.0, 1.0),
        JointSpec(base + 5, f"{side}_ankle_roll_joint", "x", -0.2618, 0.2618, 50.0, 37.0, 0.0, 40.0, 1.0),
    ]


def _arm(side: str, base: int) -> list[JointSpec]:
    left = side == "left"
    s = 1.0 if left else -1.0
    return [
        JointSpec(base + 0, f"{side}_shoulder_pitch_joint", "y", -3.0892, 2.6704, 25.0, 37.0, 0.3, 40.0, 1.0),
        JointSpec(base + 1, f"{side}_shoulder_roll_joint", "x",
                  -1.5882 if left else -2.2515, 2.2515 if left else 1.5882, 25.0, 37.0, 0.25 * s, 40.0, 1.0),
        JointSpec(base + 2, f"{side}_shoulder_yaw_joint", "z", -2.618, 2.618, 25.0, 37.0, 0.0, 40.0, 1.0),
        JointSpec(base + 3, f"{side}_elbow_joint", "y", -1.0472, 2.0944, 25.0, 37.0, 0.97, 40.0, 1.0),
        JointSpec(base + 4, f"{side}_wrist_roll_joint", "x", -1.9722, 1.9722, 25.0, 37.0, 0.15 * s, 40.0, 1.0),
    ]


JOINTS: tuple[JointSpec, ...] = tuple(
    _leg("left", 0)
    + _leg("right", 6)
    + [JointSpec(12, "waist_yaw_joint", "z", -2.618, 2.618, 88.0, 32.0, 0.0, 200.0, 5.0)]
    + _arm("left", 15)
    + _arm("right", 22)
)
"""The 23 actuated joints in motor-slot order."""

EMPTY_SLOTS: tuple[int, ...] = (13, 14, 20, 21, 27, 28) + tuple(range(29, NUM_MOTOR))
"""Slots the 23-DoF body leaves unused (waist roll/pitch, wrist pitch/yaw, and the spare tail)."""

JOINT_BY_NAME: dict[str, JointSpec] = {j.name: j for j in JOINTS}
MOTOR_INDEX: dict[str, int] = {j.name: j.index for j in JOINTS}
ACTIVE_SLOTS = np.array([j.index for j in JOINTS], dtype=np.int64)

LEG_JOINT_NAMES: tuple[str, ...] = tuple(j.name for j in JOINTS if j.index < 12)
"""Both legs, left first: hip pitch, roll, yaw, knee, ankle pitch, roll (unitree_rl_gym's order)."""
ARM_JOINT_NAMES: tuple[str, ...] = tuple(j.name for j in JOINTS if j.index >= 15)
LEG_SLOTS = np.arange(12)
WAIST_SLOT = 12
LEFT_ARM_SLOTS = np.arange(15, 20)
RIGHT_ARM_SLOTS = np.arange(22, 27)
UPPER_BODY_SLOTS = np.concatenate([[WAIST_SLOT], LEFT_ARM_SLOTS, RIGHT_ARM_SLOTS])


def _slot_array(attr: str, fill: float = 0.0) -> np.ndarray:
    out = np.full(NUM_MOTOR, fill, dtype=np.float64)
    for j in JOINTS:
        out[j.index] = getattr(j, attr)
    return out


DEFAULT_Q = _slot_array("default")
Q_LOWER = _slot_array("lower")
Q_UPPER = _slot_array("upper")
EFFORT_LIMIT = _slot_array("effort")
VELOCITY_LIMIT = _slot_array("velocity")
KP_SDK = _slot_array("kp")
KD_SDK = _slot_array("kd")

# Unitree's walking-policy gains (unitree_rl_gym's G1 training config and its deployment), LEG_SLOTS order:
# hip pitch, roll, yaw 100/2, knee 150/4, ankle pitch, roll 40/2. Stiffer than the SDK example above: the
# policies are trained on these, and `openhumanoid/Walk-v0` trains with them.
LEG_KP_POLICY = np.array((100.0, 100.0, 100.0, 150.0, 40.0, 40.0) * 2)
LEG_KD_POLICY = np.array((2.0, 2.0, 2.0, 4.0, 2.0, 2.0) * 2)
# The waist under a walking policy: Unitree's deployment holds it at kp 300; kd 20 stands in for the training
# model's welded waist. At the SDK's kd 5 the torso and pelvis form a 25 Hz yaw limit cycle: Unitree's policy
# in Walk-v0 at 0.5 m/s had a mean yaw-rate error of 1.41 rad/s, at kd 20 0.11 rad/s.
WAIST_KP_POLICY = 300.0
WAIST_KD_POLICY = 20.0

# Gains accepted in a LowCmd. Unitree's motors take any value; we reject what would make the explicit
# PD at dt = 2 ms unstable (kd * dt / I > ~2 for a 0.01 kg m^2 foot, measured in notes.md) or is plainly
# a unit error.
KP_MAX = 1000.0
KD_MAX = 50.0

# Damping, the safe state (Unitree: kp 0, kd 8 when a controller exits).
DAMP_KD = 8.0

# --- Body facts used by controllers and tests ---------------------------------------------------------
TOTAL_MASS_REF = 32.0  # kg, 23-DoF G1 (Unitree spec); the URDF is tested against it within 5 %
STAND_PELVIS_HEIGHT = 0.79  # m, reference standing pelvis height
SPAWN_HEIGHT = 0.80  # m, pelvis origin at spawn (Unitree spawns at 0.793-0.8 m)
PELVIS_IMU_POS = (0.04525, 0.0, -0.08339)  # IMU in the pelvis frame
TORSO_IMU_POS = (-0.03959, -0.00224, 0.14792)
HEAD_CAMERA_POS = (0.0576, 0.0175, 0.4299)  # D435 in the torso frame
HEAD_CAMERA_PITCH = 0.831  # rad, tilt down of the D435 on G1 (about 47.6 deg)
