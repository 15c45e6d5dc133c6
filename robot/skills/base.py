"""What every skill shares: the result type, the context it acts through, seeing and searching.

A skill acts only through the `LocoClient` (walking, postures) and the arm channel (`write_arm_sdk`);
it senses through the robot's own channels (odometry, LowState joint angles) and the head camera. It
never reads or writes simulator bodies: the ground truth lives in robot/skills/predicates.py, for tests
and evaluation only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot.control.kinematics import quat_matrix
from robot.perception.detect import Catalogue, Detection, detect, resolve
from robot.sdk.loco import FsmId, LocoClient, SimRobot
from robot.sim.camera import Frame, HeadCamera
from robot.skills.registry import Target

REASONS = ("ok", "not_found", "unreachable", "timeout", "fell", "invalid")
STATION_PERIOD = 0.1
"""Seconds between station-keeping velocity commands."""


@dataclass
class SkillResult:
    """What a skill reports.

    Attributes:
        ok: the done-condition holds as the robot measures it.
        reason: ok, not_found, unreachable, timeout, fell or invalid.
        measured: numbers the skill measured (distances, angles, seconds), JSON-ready.
        skill: which skill ran.
        seconds: simulated seconds it took.
    """

    ok: bool
    reason: str
    measured: dict[str, Any] = field(default_factory=dict)
    skill: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "ok": self.ok, "reason": self.reason, "seconds": round(self.seconds, 3),
                "measured": self.measured}


class SkillFailed(Exception):
    """Raised inside a skill to end it with a reason (caught by the runner)."""

    def __init__(self, reason: str, **measured: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.measured = measured


def wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@dataclass
class Pose2:
    """The pelvis on the floor (odometry): x, y, yaw; z is the pelvis height."""

    x: float
    y: float
    yaw: float
    z: float = 0.74

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])

    def to_body(self, p: np.ndarray) -> np.ndarray:
        """A world point (2 or 3 numbers) in the pelvis heading frame (x forward, y left)."""
        d = np.asarray(p, dtype=float).copy()
        d[0] -= self.x
        d[1] -= self.y
        if len(d) > 2:
            d[2] -= self.z
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        d[0], d[1] = c * d[0] + s * d[1], -s * d[0] + c * d[1]
        return d

    def bearing(self, p: np.ndarray) -> float:
        return wrap(math.atan2(p[1] - self.y, p[0] - self.x) - self.yaw)


class SkillContext:
    """The robot as a skill sees it: LocoClient, arm channel, head camera and the detector's catalogue.

    Args:
        robot: the simulated robot (its clock, odometry and arm_sdk channel).
        client: its LocoClient.
        catalogue: body id -> label, the detector's classes (robot/perception).
        camera: the head camera (default: a new one on the robot's world).
    """

    def __init__(self, robot: SimRobot, client: LocoClient, catalogue: Catalogue,
                 camera: HeadCamera | None = None) -> None:
        self.robot = robot
        self.client = client
        self.catalogue = catalogue
        self.camera = camera or HeadCamera(robot.world)
        self.frames = 0
        self.last_frame: Frame | None = None
        self.last_detections: list[Detection] = []
        from robot.skills.nav import Obstacles

        self.obstacles = Obstacles()
        """Everything seen so far, for paths around it (robot/skills/nav.py)."""
        self.memory: dict[str, np.ndarray] = {}
        """Last seen position of each target description (odometry frame): a target that leaves the
        view when close (below the camera's field) is still where it was."""
        self.names: dict[str, str] = {}
        """Which body each target description resolved to (to leave it out of the obstacles)."""
        self.driving = False
        """True while a skill loop sends its own velocity commands; otherwise station keeping runs."""
        self.arm_exit: list[np.ndarray] = []
        """Arm-channel poses to leave through before the arms are released or the base moves: the way a
        hand that rests on something came in, backwards (touch sets it)."""
        self.station: Pose2 | None = None
        self._integral = np.zeros(2)
        robot.every(int(round(STATION_PERIOD / robot.world.dt)), self._keep_station)

    # --- station keeping ---------------------------------------------------------------------------
    def _keep_station(self, robot: SimRobot) -> None:
        """Hold the pose in `station` while no skill drives: the walker keeps stepping in place.

        Why not StopMove: with the walker before commit da4f2b6, stopping after any walking ended in a
        fall about 3 s later (it idled out after 8 steps with the DCM unsettled and lurched sideways; 3
        of 3 commands). It stands since, but stepping in place is still what lets the body be held: an
        arm held forward makes it creep (arm.py) and a standing robot cannot correct that. Stepping in
        place drifts forward about 0.06 m/s, which this P+I loop removes (held within 2-3 cm).
        """
        if self.driving or self.station is None or robot.fsm != FsmId.START or robot.fallen:
            return
        p = self.pose()
        s = self.station
        b = p.to_body(np.array([s.x, s.y]))
        # The integral carries the walker's own creep: in place it needs about -0.09 m/s to stand still.
        self._integral = np.clip(self._integral + STATION_PERIOD * b, -0.2, 0.2)
        vx = float(np.clip(1.5 * b[0] + 1.0 * self._integral[0], -0.2, 0.15))
        vy = float(np.clip(1.5 * b[1] + 1.0 * self._integral[1], -0.08, 0.08))
        vyaw = float(np.clip(1.5 * wrap(s.yaw - p.yaw), -0.3, 0.3))
        self.client.Move(vx, vy, vyaw)

    def hold(self, pose: Pose2 | None = None) -> None:
        """From now on keep station at `pose` (default: here) whenever no skill is driving."""
        self.station = pose or self.pose()
        self._integral[:] = 0.0
        self.driving = False

    # --- time and state ----------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return self.robot.time

    def sleep(self, seconds: float) -> None:
        self.robot.sleep(seconds)
        if self.robot.fallen:
            raise SkillFailed("fell")

    def pose(self) -> Pose2:
        o = self.robot.odometry()  # the state estimator's output (Unitree's SportModeState)
        return Pose2(float(o.position[0]), float(o.position[1]), float(o.yaw), float(o.position[2]))

    def joint_q(self) -> np.ndarray:
        """Measured joint angles (LowState, 35 slots)."""
        return self.robot.bridge.read().q.copy()

    def tilt(self) -> np.ndarray:
        """The pelvis's roll and pitch as a rotation (3x3, heading frame from pelvis frame), from the IMU's
        quaternion with its yaw taken out. Stepping in place sways the pelvis by up to about 6 degrees."""
        R = quat_matrix(self.robot.bridge.read().imu_state.quaternion_floats())
        yaw = math.atan2(R[1, 0], R[0, 0])
        c, s = math.cos(yaw), math.sin(yaw)
        return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ R

    def get_up(self, limit: float = 30.0) -> bool:
        """From the floor to balanced stepping: Lie2StandUp (robot/control/getup.py), then Start, keeping
        station where it stands. False if it could not (the robot is then in Damp)."""
        self.arm_exit = []  # whatever the hand rested on, it is not there now
        if self.client.Lie2StandUp() != 0:
            return False
        t0 = self.time
        while self.robot.fsm == FsmId.LIE2STANDUP and self.time - t0 < limit:
            self.robot.step()
        if self.robot.fallen or self.robot.fsm != FsmId.STAND_UP:
            return False
        self.robot.sleep(0.5)  # the standing controller takes the pose over from the get-up
        if self.client.Start() != 0:
            return False
        self.hold()
        return True

    def ensure_walking(self) -> None:
        """Balanced stepping (FSM 500, continuous gait) from wherever the robot is; `fell` if it cannot
        get there. The gait stays continuous: see `_keep_station` for why the walker must not idle out."""
        if self.robot.fallen:
            raise SkillFailed("fell")
        _, fsm = self.client.GetFsmId()
        if fsm != FsmId.START:
            if fsm in (FsmId.SQUAT, FsmId.SIT):
                self.client.Squat2StandUp()
                self.sleep(1.5)  # the posture controller rises 0.22 m in about a second
            elif fsm not in (FsmId.STAND_UP, FsmId.SQUAT2STANDUP):
                self.client.StandUp()
                self.sleep(0.5)
            if self.client.Start() != 0:
                raise SkillFailed("fell")
            self.station = None
        self.client.ContinuousGait(True)
        if self.station is None:
            self.hold()

    # --- seeing --------------------------------------------------------------------------------------
    def look(self) -> Frame:
        """A new head-camera frame; what it shows joins the obstacle memory."""
        self.frames += 1
        frame = self.camera.capture()
        self.last_frame = frame
        self.last_detections = detect(frame, self.catalogue)
        if any(d.label.shape == "table" for d in self.last_detections):
            self.obstacles.add_detections(self.last_detections, frame.points(), frame.segmentation)
        else:
            self.obstacles.add_detections(self.last_detections)
        return frame

    def observe(self, target: Target) -> Detection | None:
        """The target in a new frame, or None; remembers where it was seen."""
        frame = self.look()
        det = resolve(frame, self.catalogue, target.object, target.point_2d, self.last_detections)
        if det is not None:
            self.memory[target.object] = det.position.copy()
            self.names[target.object] = det.label.name
        return det

    def locate(self, target: Target, search: bool = True, first: bool = True) -> np.ndarray:
        """Where the target is (world point): seen now, else turned toward once all around, else
        `not_found`. `point_2d` only counts on the first look: after any motion the frame has changed.
        """
        det = self.observe(target if first else Target(target.object))
        if det is not None:
            return det.position
        if not search:
            if target.object in self.memory:
                return self.memory[target.object]
            raise SkillFailed("not_found")
        from robot.skills.motion import turn_by  # local: motion imports this module

        # One look around: six 60 deg turns cover the circle with the camera's 69 deg field.
        plain = Target(target.object)
        for _ in range(5):
            turn_by(self, math.radians(60.0), tolerance=math.radians(8.0))
            self.sleep(0.3)
            det = self.observe(plain)
            if det is not None:
                return det.position
        turn_by(self, math.radians(60.0), tolerance=math.radians(8.0))
        raise SkillFailed("not_found")

    # --- arm channel --------------------------------------------------------------------------------
    def arm(self, q: np.ndarray, weight: float) -> None:
        """Upper-body targets (35 slots; waist and arms are read) through arm_sdk with a blend weight."""
        from robot.sdk.lowlevel import G1JointIndex, LowCmd

        cmd = LowCmd()
        cmd.q[:] = q
        cmd.q[G1JointIndex.kNotUsedJoint] = weight
        self.robot.write_arm_sdk(cmd)

    def arm_weight(self) -> float:
        return float(self.robot.arm_sdk_weight)

    def arm_targets(self) -> np.ndarray:
        return self.robot.arm_sdk_q.copy()

    def blend_arm(self, q: np.ndarray, weight: float, seconds: float, steps_per_s: float = 50.0) -> None:
        """Move the arm channel from its present targets and weight to `q`, `weight` smoothly."""
        q0, w0 = self.arm_targets(), self.arm_weight()
        if w0 <= 1e-6:
            q0 = q.copy()  # from the walker's own pose: only the weight ramps
        n = max(1, int(seconds * steps_per_s))
        for i in range(1, n + 1):
            s = 0.5 - 0.5 * math.cos(math.pi * i / n)
            self.arm(q0 + s * (q - q0), w0 + s * (weight - w0))
            self.sleep(seconds / n)

    def release_arms(self, seconds: float = 0.6) -> None:
        """Hand the arms back to the walker (weight to 0), if a previous skill held them; a hand that
        rests on something leaves the way it came first (`arm_exit`)."""
        self.clear_arm()
        if self.arm_weight() > 1e-6:
            self.blend_arm(self.arm_targets(), 0.0, seconds)

    def clear_arm(self) -> None:
        """Take a hand that rests on something (a table top) back out the way it came, keeping the arm
        channel held. Released straight from the table, the arm swung down through the table's edge, and
        the walker, stepping in place beside it, was shoved sideways and fell (touch, task-suite seed 22)."""
        exits, self.arm_exit = self.arm_exit, []
        if self.arm_weight() > 1e-6 and not self.robot.fallen:
            for q in exits:
                self.blend_arm(q, 1.0, 0.2)


__all__ = ["REASONS", "Pose2", "SkillContext", "SkillFailed", "SkillResult", "wrap"]
