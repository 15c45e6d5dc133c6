"""Arm kinematics of the G1 from its one description: fingertip forward kinematics and numerical IK.

The chain runs pelvis -> waist yaw -> torso -> shoulder pitch, roll, yaw -> elbow -> wrist roll, and the
fingertip is `HAND_TIP_OFFSET` in the wrist_roll_link frame (the end of the hand box). Five joints give
five task numbers: `reach` puts the fingertip at a point (3) and keeps the hand as near as it can to a
preferred direction; `point` puts the fingertip on the ray from the shoulder to a target at a given
radius and turns the hand's x axis (2 more) toward the target. Both are damped least squares with joint
limits, solved once per call (a few ms), not at 500 Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot.control.kinematics import rot, rpy_matrix
from robot.g1 import constants as C
from robot.g1.description import HAND_TIP_OFFSET, Body, build

ARM_JOINTS = ("shoulder_pitch_joint", "shoulder_roll_joint", "shoulder_yaw_joint", "elbow_joint",
              "wrist_roll_joint")


@dataclass
class IKResult:
    """Joint angles (5, the arm's slots in order), fingertip position in the pelvis frame, and errors."""

    q: np.ndarray
    tip: np.ndarray
    position_error: float
    """m between the fingertip and where it was asked to be."""
    angle_error: float
    """rad between the hand's x axis and the direction asked for (0 when none was asked)."""


class ArmChain:
    """One arm with the waist: forward kinematics, Jacobian, IK (all in the pelvis frame)."""

    def __init__(self, side: str, body: Body | None = None) -> None:
        body = body or build()
        joints = {j.name: j for j in body.joints}
        self.side = side
        names = ["waist_yaw_joint"] + [f"{side}_{n}" for n in ARM_JOINTS]
        self.origins = [np.array(joints[n].xyz, dtype=float) for n in names]
        self.fixed = [rpy_matrix(*joints[n].rpy) for n in names]
        self.axes = [C.JOINT_BY_NAME[n].axis for n in names]
        self.slots = np.array([C.MOTOR_INDEX[n] for n in names[1:]])
        self.lower = C.Q_LOWER[self.slots].copy()
        self.upper = C.Q_UPPER[self.slots].copy()
        self.tip_offset = np.array(HAND_TIP_OFFSET, dtype=float)
        links = {link.name: link for link in body.links}
        self.masses = np.array([links[joints[n].child].mass for n in names[1:]])
        self.coms = [np.array(links[joints[n].child].com, dtype=float) for n in names[1:]]
        # The hand's own preferred pose: elbow a little bent, as G1's default (it keeps the IK away
        # from the straight-elbow singularity and the shoulder-yaw ambiguity).
        self.rest = C.DEFAULT_Q[self.slots].copy()

    def _walk(self, q: np.ndarray, waist: float) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray,
                                                           np.ndarray]:
        """Joint positions and world axes (pelvis frame), fingertip position and wrist rotation."""
        p = np.zeros(3)
        R = np.eye(3)
        positions, axes = [], []
        angles = [waist, *q]
        for i in range(6):
            p = p + R @ self.origins[i]
            R = R @ self.fixed[i]
            a = "xyz".index(self.axes[i])
            positions.append(p.copy())
            axes.append(R[:, a].copy())
            R = R @ rot(self.axes[i], float(angles[i]))
        return positions, axes, p + R @ self.tip_offset, R

    def com(self, q: np.ndarray, waist: float = 0.0) -> np.ndarray:
        """Centre of mass of the arm's five links in the pelvis frame (their mass is `masses.sum()`)."""
        p = np.zeros(3)
        R = np.eye(3)
        angles = [waist, *q]
        acc = np.zeros(3)
        for i in range(6):
            p = p + R @ self.origins[i]
            R = R @ self.fixed[i] @ rot(self.axes[i], float(angles[i]))
            if i > 0:
                acc += self.masses[i - 1] * (p + R @ self.coms[i - 1])
        return acc / self.masses.sum()

    def fk(self, q: np.ndarray, waist: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Fingertip position and wrist_roll_link rotation in the pelvis frame."""
        _, _, tip, R = self._walk(q, waist)
        return tip, R

    def shoulder(self, waist: float = 0.0) -> np.ndarray:
        """The shoulder pitch joint's position in the pelvis frame (where pointing rays start)."""
        return self._walk(self.rest, waist)[0][1]

    def _jacobian(self, q: np.ndarray, waist: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        positions, axes, tip, R = self._walk(q, waist)
        Jp = np.empty((3, 5))
        Jw = np.empty((3, 5))
        for i in range(5):
            a = axes[i + 1]
            Jp[:, i] = np.cross(a, tip - positions[i + 1])
            Jw[:, i] = a
        return Jp, Jw, tip, R

    def solve(self, target: np.ndarray | None, q0: np.ndarray | None = None, waist: float = 0.0,
              direction: np.ndarray | None = None, look_at: np.ndarray | None = None,
              position_weight: float = 1.0, direction_weight: float = 0.3, rest_weight: float = 0.02,
              iterations: int = 60) -> IKResult:
        """Levenberg-Marquardt on the residuals: fingertip - target (m), hand x axis - direction (or the
        unit ray from the fingertip to `look_at`), and a weak pull toward the rest pose that picks one
        of the arm's many solutions. Clipped to the joint limits every iteration; 5x5 solves, about
        0.1 ms an iteration here.
        """
        q = np.array(self.rest if q0 is None else q0, dtype=float)
        d_fixed = None if direction is None else np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        lam = 1e-2
        cost_prev = math.inf
        for _ in range(iterations):
            Jp, Jw, tip, R = self._jacobian(q, waist)
            rows, jac = [], []
            if target is not None:
                rows.append(position_weight * (tip - target))
                jac.append(position_weight * Jp)
            a = R[:, 0]
            Ja = np.cross(Jw.T, a).T  # d(a)/dq_i = w_i x a
            if d_fixed is not None:
                rows.append(direction_weight * (a - d_fixed))
                jac.append(direction_weight * Ja)
            elif look_at is not None:
                v = look_at - tip
                n = float(np.linalg.norm(v))
                u = v / n
                Ju = -(np.eye(3) - np.outer(u, u)) @ Jp / n
                rows.append(direction_weight * (a - u))
                jac.append(direction_weight * (Ja - Ju))
            rows.append(rest_weight * (q - self.rest))
            jac.append(rest_weight * np.eye(5))
            r = np.concatenate(rows)
            J = np.concatenate(jac)
            cost = float(r @ r)
            lam = lam * 0.5 if cost < cost_prev else lam * 4.0
            cost_prev = min(cost, cost_prev)
            dq = -np.linalg.solve(J.T @ J + lam * np.eye(5), J.T @ r)
            q = np.clip(q + np.clip(dq, -0.4, 0.4), self.lower, self.upper)
            if float(dq @ dq) < 1e-12:
                break
        tip, R = self.fk(q, waist)
        perr = 0.0 if target is None else float(np.linalg.norm(np.asarray(target) - tip))
        if d_fixed is not None:
            ang = math.acos(float(np.clip(R[:, 0] @ d_fixed, -1.0, 1.0)))
        elif look_at is not None:
            ang = pointing_error(tip, R[:, 0], look_at)
        else:
            ang = 0.0
        return IKResult(q, tip, perr, ang)

    def point(self, target: np.ndarray, waist: float = 0.0, radius: float = 0.34,
              q0: np.ndarray | None = None) -> IKResult:
        """Point at `target` (pelvis frame): the hand's x axis on the ray from the fingertip to the target,
        the fingertip softly held `radius` m from the shoulder toward it (an outstretched arm).

        Started from the rest pose and from an arm raised forward; the better answer wins.
        """
        target = np.asarray(target, dtype=float)
        s = self.shoulder(waist)
        ray = (target - s) / np.linalg.norm(target - s)
        raised = self.rest.copy()
        raised[0] = -1.2  # shoulder pitch: arm forward
        best = None
        for start in (q0, self.rest, raised):
            if start is None:
                continue
            res = self.solve(s + radius * ray, start, waist, look_at=target, position_weight=1.0,
                             direction_weight=1.0)
            if best is None or res.angle_error < best.angle_error:
                best = res
        return best  # type: ignore[return-value]

    def track(self, target: np.ndarray, q: np.ndarray, waist: float = 0.0, radius: float = 0.34,
              iterations: int = 3) -> IKResult:
        """`point`'s problem, a few iterations from `q` only: for following a target that moves a little
        between calls (the body's sway as it steps), at 50 Hz."""
        target = np.asarray(target, dtype=float)
        s = self.shoulder(waist)
        ray = (target - s) / np.linalg.norm(target - s)
        return self.solve(s + radius * ray, q, waist, look_at=target, position_weight=1.0, direction_weight=1.0,
                          iterations=iterations)

    def reach(self, target: np.ndarray, waist: float = 0.0, q0: np.ndarray | None = None,
              direction: np.ndarray | None = None) -> IKResult:
        """Fingertip at `target` (pelvis frame), hand along `direction` where the arm allows.

        The position comes first: where the direction's pull lands the solver in a poorer local
        minimum (measured up to 7 cm off, close in front of the shoulder), the direction is dropped.
        """
        target = np.asarray(target, dtype=float)
        raised = self.rest.copy()
        raised[0] = -0.8
        starts = [s for s in (q0, self.rest, raised) if s is not None]
        best = None
        for d in ((direction, None) if direction is not None else (None,)):
            for start in starts:
                res = self.solve(target, start, waist, direction=d, direction_weight=0.05, rest_weight=0.004)
                if best is None or res.position_error < best.position_error - 1e-4:
                    best = res
            if best.position_error < 0.005:
                break
        return best  # type: ignore[return-value]


def pointing_error(tip: np.ndarray, hand_axis: np.ndarray, target: np.ndarray) -> float:
    """Angle (rad) between a hand's x axis and the ray from its fingertip to a target (any one frame)."""
    to = np.asarray(target, dtype=float) - np.asarray(tip, dtype=float)
    return math.acos(float(np.clip(np.dot(hand_axis, to) / (np.linalg.norm(hand_axis) * np.linalg.norm(to)),
                                   -1.0, 1.0)))


__all__ = ["ARM_JOINTS", "ArmChain", "IKResult", "pointing_error"]
