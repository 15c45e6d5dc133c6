"""Leg kinematics of the G1 from its one description: forward kinematics, Jacobian, inverse kinematics.

G1's hip axes do not intersect (the yaw axis sits 2.5 cm ahead of the roll axis, and the roll and yaw
axes are pitched by 0.1749 rad), so the leg has no exact closed-form inverse. The inverse kinematics is
damped Newton on the exact chain, warm-started from the previous solution: at 500 Hz the target moves
less than a millimetre a step and one iteration keeps the sole within 0.1 mm (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot.g1 import constants as C
from robot.g1.description import Body, build

AXES = {"x": np.array([1.0, 0.0, 0.0]), "y": np.array([0.0, 1.0, 0.0]), "z": np.array([0.0, 0.0, 1.0])}


def rot(axis: str, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    if axis == "x":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == "y":
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rpy_matrix(r: float, p: float, y: float) -> np.ndarray:
    """URDF's fixed-axis roll-pitch-yaw: R = Rz(y) Ry(p) Rx(r)."""
    return rot("z", y) @ rot("y", p) @ rot("x", r)


def yaw_of(rotation: np.ndarray) -> float:
    return math.atan2(rotation[1, 0], rotation[0, 0])


def _mat(R: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in R.reshape(-1))


def _mul(A: tuple[float, ...], B: tuple[float, ...]) -> tuple[float, ...]:
    a0, a1, a2, a3, a4, a5, a6, a7, a8 = A
    b0, b1, b2, b3, b4, b5, b6, b7, b8 = B
    return (a0 * b0 + a1 * b3 + a2 * b6, a0 * b1 + a1 * b4 + a2 * b7, a0 * b2 + a1 * b5 + a2 * b8,
            a3 * b0 + a4 * b3 + a5 * b6, a3 * b1 + a4 * b4 + a5 * b7, a3 * b2 + a4 * b5 + a5 * b8,
            a6 * b0 + a7 * b3 + a8 * b6, a6 * b1 + a7 * b4 + a8 * b7, a6 * b2 + a7 * b5 + a8 * b8)


def _rot_axis(R: tuple[float, ...], axis: int, q: float) -> tuple[float, ...]:
    """R @ rot(axis, q) for a principal axis, in scalar arithmetic."""
    c, s = math.cos(q), math.sin(q)
    r0, r1, r2, r3, r4, r5, r6, r7, r8 = R
    if axis == 0:
        return (r0, r1 * c + r2 * s, -r1 * s + r2 * c, r3, r4 * c + r5 * s, -r4 * s + r5 * c,
                r6, r7 * c + r8 * s, -r7 * s + r8 * c)
    if axis == 1:
        return (r0 * c - r2 * s, r1, r0 * s + r2 * c, r3 * c - r5 * s, r4, r3 * s + r5 * c,
                r6 * c - r8 * s, r7, r6 * s + r8 * c)
    return (r0 * c + r1 * s, -r0 * s + r1 * c, r2, r3 * c + r4 * s, -r3 * s + r4 * c, r5,
            r6 * c + r7 * s, -r6 * s + r7 * c, r8)


def _apply(R: tuple[float, ...], v: tuple[float, float, float]) -> tuple[float, float, float]:
    return (R[0] * v[0] + R[1] * v[1] + R[2] * v[2], R[3] * v[0] + R[4] * v[1] + R[5] * v[2],
            R[6] * v[0] + R[7] * v[1] + R[8] * v[2])


_EYE = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
_DAMPING = 1e-5 * np.eye(6)


@dataclass
class LegChain:
    """One leg: six joints from the pelvis to the sole, read from the robot description.

    The chain is walked in scalar Python arithmetic: for 3x3 matrices that is several times faster than
    numpy's per-call overhead, and this runs twice per leg every 2 ms.
    """

    side: str
    slots: np.ndarray  # motor slots of the six joints
    offsets: list[tuple[float, float, float]]  # joint origin in the parent link frame
    fixed: list[tuple[float, ...] | None]  # joint origin rotation (None where identity)
    axes: list[int]  # 0, 1, 2 for x, y, z
    masses: np.ndarray  # child link masses
    coms: list[tuple[float, float, float]]  # child link centres of mass in the child frame
    sole: tuple[float, float, float]  # sole centre (ground contact point) in the ankle-roll frame
    lower: np.ndarray
    upper: np.ndarray

    def _walk(self, q: np.ndarray, with_coms: bool = False):  # noqa: ANN202 - internal
        R = _EYE
        px = py = pz = 0.0
        positions, axes, coms = [], [], []
        for i in range(6):
            o = _apply(R, self.offsets[i])
            px, py, pz = px + o[0], py + o[1], pz + o[2]
            if self.fixed[i] is not None:
                R = _mul(R, self.fixed[i])
            a = self.axes[i]
            positions.append((px, py, pz))
            axes.append((R[a], R[3 + a], R[6 + a]))
            R = _rot_axis(R, a, float(q[i]))
            if with_coms:
                c = _apply(R, self.coms[i])
                coms.append((px + c[0], py + c[1], pz + c[2]))
        s = _apply(R, self.sole)
        return positions, axes, (px + s[0], py + s[1], pz + s[2]), R, coms

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sole position and rotation in the pelvis frame for six joint angles."""
        _, _, p, R, _ = self._walk(q)
        return np.array(p), np.array(R).reshape(3, 3)

    def link_coms(self, q: np.ndarray) -> np.ndarray:
        """Centres of mass of the six child links in the pelvis frame, (6, 3)."""
        return np.array(self._walk(q, with_coms=True)[4])

    def jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """6x6 geometric Jacobian of the sole (linear rows first), sole position and rotation."""
        positions, axes, (sx, sy, sz), R, _ = self._walk(q)
        J = np.empty((6, 6))
        for i in range(6):
            ax, ay, az = axes[i]
            dx, dy, dz = sx - positions[i][0], sy - positions[i][1], sz - positions[i][2]
            J[0, i] = ay * dz - az * dy
            J[1, i] = az * dx - ax * dz
            J[2, i] = ax * dy - ay * dx
            J[3, i] = ax
            J[4, i] = ay
            J[5, i] = az
        return J, np.array((sx, sy, sz)), np.array(R).reshape(3, 3)

    def ik(self, p_target: np.ndarray, R_target: np.ndarray, q0: np.ndarray, iterations: int = 1,
           return_jacobian: bool = False):  # noqa: ANN201 - angles, or (angles, Jacobian at q0's step)
        """Joint angles that put the sole at a pose in the pelvis frame.

        Damped Newton on the exact chain, warm-started from `q0` (the previous solution); clipped to
        the joint limits.
        """
        q = np.array(q0, dtype=float)
        J = None
        for _ in range(iterations):
            J, p, R = self.jacobian(q)
            err = np.concatenate([p_target - p, rotation_error(R_target, R)])
            # Damped least squares keeps the step bounded near the straight-knee singularity.
            q = q + J.T @ np.linalg.solve(J @ J.T + _DAMPING, err)
        q = np.clip(q, self.lower, self.upper)
        return (q, J) if return_jacobian else q


def rotation_error(R_target: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Small-angle rotation vector taking R to R_target, in the parent frame."""
    E = R_target @ R.T
    return 0.5 * np.array([E[2, 1] - E[1, 2], E[0, 2] - E[2, 0], E[1, 0] - E[0, 1]])


def _chain(body: Body, side: str) -> LegChain:
    joints = {j.name: j for j in body.joints}
    links = {link.name: link for link in body.links}
    names = [n for n in C.LEG_JOINT_NAMES if n.startswith(side)]
    offsets, fixed, axes, masses, coms = [], [], [], [], []
    for n in names:
        j = joints[n]
        offsets.append(tuple(float(v) for v in j.xyz))
        fixed.append(_mat(rpy_matrix(*j.rpy)) if any(j.rpy) else None)
        axes.append("xyz".index(C.JOINT_BY_NAME[n].axis))
        masses.append(links[j.child].mass)
        coms.append(tuple(float(v) for v in links[j.child].com))
    foot = links[f"{side}_ankle_roll_link"].shapes[0]
    sole = (foot.xyz[0], foot.xyz[1], foot.xyz[2] - foot.size[2] / 2.0)
    slots = np.array([C.MOTOR_INDEX[n] for n in names])
    return LegChain(side, slots, offsets, fixed, axes, np.array(masses), coms, sole,
                    C.Q_LOWER[slots], C.Q_UPPER[slots])


class G1Kinematics:
    """Both legs plus a lumped upper body: enough to place feet and estimate the centre of mass."""

    def __init__(self, body: Body | None = None) -> None:
        body = body or build()
        self.left = _chain(body, "left")
        self.right = _chain(body, "right")
        links = {link.name: link for link in body.links}
        leg_links = {j.child for j in body.joints if j.name in C.LEG_JOINT_NAMES}
        upper = [link for link in body.links if link.name not in leg_links]
        # Upper body (pelvis, torso, arms) lumped at its default-pose centre of mass: the arms move
        # little while walking and the waist is held, so its share of the CoM barely changes.
        self.total_mass = sum(link.mass for link in body.links)
        self.upper_mass = sum(link.mass for link in upper)
        self.upper_com = self._upper_com(body, links, leg_links)
        sole = links["left_ankle_roll_link"].shapes[0]
        self.foot_half_length = sole.size[0] / 2.0
        self.foot_half_width = sole.size[1] / 2.0

    @staticmethod
    def _upper_com(body: Body, links: dict, leg_links: set) -> np.ndarray:
        frames = {"pelvis": (np.zeros(3), np.eye(3))}
        acc = np.zeros(3)
        mass = 0.0
        pending = list(body.joints)
        while pending:
            j = pending.pop(0)
            if j.parent not in frames:
                pending.append(j)
                continue
            p, R = frames[j.parent]
            q = C.DEFAULT_Q[C.MOTOR_INDEX[j.name]]
            Rc = R @ rpy_matrix(*j.rpy) @ rot(C.JOINT_BY_NAME[j.name].axis, q)
            frames[j.child] = (p + R @ np.array(j.xyz), Rc)
        for name, (p, R) in frames.items():
            if name in leg_links:
                continue
            link = links[name]
            acc += link.mass * (p + R @ np.array(link.com))
            mass += link.mass
        return acc / mass

    def com(self, q: np.ndarray) -> np.ndarray:
        """Whole-body centre of mass in the pelvis frame for 35-slot joint angles."""
        acc = self.upper_mass * self.upper_com
        for leg in (self.left, self.right):
            acc = acc + leg.masses @ leg.link_coms(q[leg.slots])
        return acc / self.total_mass
