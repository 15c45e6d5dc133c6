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
    # Flat tuples, reshaped: numpy builds them faster than nested lists (same values).
    if axis == "x":
        return np.array((1.0, 0.0, 0.0, 0.0, c, -s, 0.0, s, c)).reshape(3, 3)
    if axis == "y":
        return np.array((c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c)).reshape(3, 3)
    return np.array((c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)).reshape(3, 3)


def rpy_matrix(r: float, p: float, y: float) -> np.ndarray:
    """URDF's fixed-axis roll-pitch-yaw: R = Rz(y) Ry(p) Rx(r)."""
    return rot("z", y) @ rot("y", p) @ rot("x", r)


def quat_matrix(q) -> np.ndarray:  # noqa: ANN001 - (w, x, y, z): an array or a tuple of floats
    """Rotation matrix of a unit quaternion (w, x, y, z), e.g. the IMU's."""
    w, x, y, z = q.tolist() if isinstance(q, np.ndarray) else q  # Python floats: ~5x cheaper than numpy's
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


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
# The most one Newton step turns any joint, rad. Near the straight-knee singularity, with a target out of
# reach, the lightly damped step grows to radians: a swing leg reaching for a recovery target 0.4 m away
# was sent to its hip limits (pitch 2.88, roll 2.97, yaw 2.76 rad) in one 8 ms update, its foot spinning
# 2.6 rad in the air, and the next solutions, warm-started there, stayed in that basin. Scaled down to
# this, the leg straightens toward the target instead. Ordinary steps are far smaller (a swing hip moves
# about 0.05 rad an update, the fastest recovery steps 0.2-0.4), so walking is unchanged by it.
_MAX_STEP = 0.5


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

    def __post_init__(self) -> None:
        # Up to the first joint's rotation the chain does not depend on q: its origin, axis and frame are
        # computed once, by the same arithmetic `_walk` would do (so the results are the same bits).
        o = _apply(_EYE, self.offsets[0])
        self._p0 = (0.0 + o[0], 0.0 + o[1], 0.0 + o[2])
        self._R0 = _mul(_EYE, self.fixed[0]) if self.fixed[0] is not None else _EYE
        a = self.axes[0]
        self._a0 = (self._R0[a], self._R0[3 + a], self._R0[6 + a])
        self._joints = tuple(zip(self.offsets, self.fixed, self.axes, self.coms))

    def _walk(self, q: np.ndarray, with_coms: bool = False):  # noqa: ANN202 - internal
        # `_apply`, `_mul` and `_rot_axis` written out in place: the same operations in the same order
        # (bit for bit), without ~20 Python calls per walk.
        qs = q.tolist() if isinstance(q, np.ndarray) else [float(v) for v in q]
        px, py, pz = self._p0
        r0, r1, r2, r3, r4, r5, r6, r7, r8 = self._R0
        positions, axes, coms = [self._p0], [self._a0], []
        for i, (offset, fixed, a, com) in enumerate(self._joints):
            if i:
                ox, oy, oz = offset
                px, py, pz = (px + (r0 * ox + r1 * oy + r2 * oz), py + (r3 * ox + r4 * oy + r5 * oz),
                              pz + (r6 * ox + r7 * oy + r8 * oz))
                if fixed is not None:
                    b0, b1, b2, b3, b4, b5, b6, b7, b8 = fixed
                    r0, r1, r2, r3, r4, r5, r6, r7, r8 = (
                        r0 * b0 + r1 * b3 + r2 * b6, r0 * b1 + r1 * b4 + r2 * b7, r0 * b2 + r1 * b5 + r2 * b8,
                        r3 * b0 + r4 * b3 + r5 * b6, r3 * b1 + r4 * b4 + r5 * b7, r3 * b2 + r4 * b5 + r5 * b8,
                        r6 * b0 + r7 * b3 + r8 * b6, r6 * b1 + r7 * b4 + r8 * b7, r6 * b2 + r7 * b5 + r8 * b8)
                positions.append((px, py, pz))
                axes.append((r0, r3, r6) if a == 0 else (r1, r4, r7) if a == 1 else (r2, r5, r8))
            qi = qs[i]
            c, s = math.cos(qi), math.sin(qi)
            if a == 0:
                r0, r1, r2, r3, r4, r5, r6, r7, r8 = (
                    r0, r1 * c + r2 * s, -r1 * s + r2 * c, r3, r4 * c + r5 * s, -r4 * s + r5 * c,
                    r6, r7 * c + r8 * s, -r7 * s + r8 * c)
            elif a == 1:
                r0, r1, r2, r3, r4, r5, r6, r7, r8 = (
                    r0 * c - r2 * s, r1, r0 * s + r2 * c, r3 * c - r5 * s, r4, r3 * s + r5 * c,
                    r6 * c - r8 * s, r7, r6 * s + r8 * c)
            else:
                r0, r1, r2, r3, r4, r5, r6, r7, r8 = (
                    r0 * c + r1 * s, -r0 * s + r1 * c, r2, r3 * c + r4 * s, -r3 * s + r4 * c, r5,
                    r6 * c + r7 * s, -r6 * s + r7 * c, r8)
            if with_coms:
                cx, cy, cz = com
                coms.append((px + (r0 * cx + r1 * cy + r2 * cz), py + (r3 * cx + r4 * cy + r5 * cz),
                             pz + (r6 * cx + r7 * cy + r8 * cz)))
        sx, sy, sz = self.sole
        sole = (px + (r0 * sx + r1 * sy + r2 * sz), py + (r3 * sx + r4 * sy + r5 * sz),
                pz + (r6 * sx + r7 * sy + r8 * sz))
        return positions, axes, sole, (r0, r1, r2, r3, r4, r5, r6, r7, r8), coms

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sole position and rotation in the pelvis frame for six joint angles."""
        _, _, p, R, _ = self._walk(q)
        return np.array(p), np.array(R).reshape(3, 3)

    def link_coms(self, q: np.ndarray) -> np.ndarray:
        """Centres of mass of the six child links in the pelvis frame, (6, 3)."""
        coms = self._walk(q, with_coms=True)[4]
        # One flat list: numpy builds it faster than the nested one, with the same values.
        return np.array([v for c in coms for v in c]).reshape(6, 3)

    def jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """6x6 geometric Jacobian of the sole (linear rows first), sole position and rotation."""
        positions, axes, sole, R, _ = self._walk(q)
        return _jacobian(positions, axes, sole), np.array(sole), np.array(R).reshape(3, 3)

    def ik(self, p_target: np.ndarray, R_target: np.ndarray, q0: np.ndarray, iterations: int = 1,
           return_jacobian: bool = False):  # noqa: ANN201 - angles, or (angles, Jacobian at q0's step)
        """Joint angles that put the sole at a pose in the pelvis frame.

        Damped Newton on the exact chain, warm-started from `q0` (the previous solution); clipped to
        the joint limits.
        """
        q = q0 if isinstance(q0, np.ndarray) and q0.dtype == np.float64 else np.array(q0, dtype=float)
        tx, ty, tz = _floats(p_target)
        J = None
        for _ in range(iterations):
            # jacobian() and rotation_error() spelled out on Python floats: the same operations, fewer
            # numpy calls (the matrix products stay numpy's).
            positions, axes, (sx, sy, sz), R, _ = self._walk(q)
            J = _jacobian(positions, axes, (sx, sy, sz))
            ex, ey, ez = _rotation_error(R_target, np.array(R).reshape(3, 3))
            err = np.array((tx - sx, ty - sy, tz - sz, ex, ey, ez))
            # Damped least squares keeps the step bounded near the straight-knee singularity.
            dq = J.T @ _solve(J @ J.T + _DAMPING, err)
            big = float(np.abs(dq).max())
            if big > _MAX_STEP:
                dq *= _MAX_STEP / big
            q = q + dq
        q = np.clip(q, self.lower, self.upper)
        return (q, J) if return_jacobian else q


def rotation_error(R_target: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Small-angle rotation vector taking R to R_target, in the parent frame."""
    return np.array(_rotation_error(R_target, R))


def _rotation_error(R_target: np.ndarray, R: np.ndarray) -> tuple[float, float, float]:
    (e00, e01, e02), (e10, e11, e12), (e20, e21, e22) = (R_target @ R.T).tolist()
    return 0.5 * (e21 - e12), 0.5 * (e02 - e20), 0.5 * (e10 - e01)


def _jacobian(positions: list, axes: list, sole: tuple[float, float, float]) -> np.ndarray:
    """The 6x6 sole Jacobian from a chain walk: column i is (a_i x (sole - p_i), a_i)."""
    sx, sy, sz = sole
    r0, r1, r2 = [], [], []
    for (px, py, pz), (ax, ay, az) in zip(positions, axes):
        dx, dy, dz = sx - px, sy - py, sz - pz
        r0.append(ay * dz - az * dy)
        r1.append(az * dx - ax * dz)
        r2.append(ax * dy - ay * dx)
    ax, ay, az = zip(*axes)
    return np.array((*r0, *r1, *r2, *ax, *ay, *az)).reshape(6, 6)


try:
    from numpy.linalg import _umath_linalg

    _solve1 = _umath_linalg.solve1
except (ImportError, AttributeError):  # another numpy's layout: the public call
    _solve1 = None


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.linalg.solve(a, b)` for a float64 (n, n) matrix and (n,) vector, by the same LAPACK gufunc it
    calls (so the same bits) without its argument checks and error-state context, ~2/3 of its cost.

    A singular matrix (not possible with the IK's damping, but checked) fills the answer with NaN, with
    numpy's RuntimeWarning; then np.linalg.solve runs to raise LinAlgError as before.
    """
    if _solve1 is None:
        return np.linalg.solve(a, b)
    x = _solve1(a, b, signature="dd->d")
    if math.isnan(x @ x):
        return np.linalg.solve(a, b)
    return x


def _floats(v: np.ndarray) -> list[float]:
    return v.tolist() if isinstance(v, np.ndarray) else [float(x) for x in v]


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
