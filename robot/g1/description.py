"""One Python description of the G1-class body, rendered to URDF.

Joint origins, axes, link masses and centres of mass follow Unitree's published 23-DoF G1 description
(../shared/reference/g1.md). Collision shapes are primitives (flat box soles, capsules, boxes) and visuals
are the same low-poly primitives, so the head camera stays cheap. Inertia tensors are those of solid
boxes around each link's geometry, plus the motor's reflected rotor inertia (armature, 0.01 kg m^2 as in
Unitree's training configs): PyBullet has no armature, so it lives in the link.

Regenerate the committed file with ``python -m robot.g1.description``; a test checks it is current.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from robot.g1.constants import JOINT_BY_NAME

URDF_PATH = Path(__file__).resolve().parents[2] / "assets" / "robots" / "g1" / "g1_23dof.urdf"
ARMATURE = 0.01  # kg m^2, reflected rotor inertia folded into the child link about the joint axis


@dataclass(frozen=True)
class Shape:
    kind: str  # "box" (size), "capsule" / "cylinder" (radius, length, along z), "sphere" (radius)
    xyz: tuple[float, float, float]
    size: tuple[float, ...]
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    collide: bool = True


@dataclass(frozen=True)
class Link:
    name: str
    mass: float
    com: tuple[float, float, float]
    box: tuple[float, float, float]  # extent of the solid box whose inertia stands in for the link's
    shapes: tuple[Shape, ...]
    color: str = "grey"
    extra_inertia: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Joint:
    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Body:
    links: list[Link] = field(default_factory=list)
    joints: list[Joint] = field(default_factory=list)


COLORS = {
    "grey": "0.55 0.57 0.6 1",
    "dark": "0.18 0.19 0.21 1",
    "light": "0.85 0.86 0.88 1",
}
AXIS = {"x": "1 0 0", "y": "0 1 0", "z": "0 0 1"}


def _arm_extra(joint: str) -> tuple[float, float, float]:
    # Added on all three axes: added to the joint axis alone it can break the triangle inequality of a
    # light link's tensor, and PyBullet then silently zeroes the whole inertia (measured on the ankles).
    return (ARMATURE, ARMATURE, ARMATURE)


def build() -> Body:
    """The whole body: pelvis, two 6-DoF legs, waist yaw with torso and head, two 5-DoF arms."""
    body = Body()
    body.links.append(Link(
        "pelvis", 3.813, (0.0, 0.0, -0.07605), (0.12, 0.20, 0.12),
        (Shape("box", (0.0, 0.0, -0.07), (0.12, 0.20, 0.12)),), "dark"))
    for side, s in (("left", 1.0), ("right", -1.0)):
        _add_leg(body, side, s)
    # Waist yaw carries the torso; the head (1.04 kg) is folded into the torso link as a second shape,
    # so no massless or fixed sensor links exist (PyBullet would give each 1 kg).
    body.joints.append(Joint("waist_yaw_joint", "pelvis", "torso_link", (-0.0039635, 0.0, 0.054)))
    body.links.append(Link(
        "torso_link", 6.78 + 1.04, (0.003, 0.0, 0.20), (0.14, 0.22, 0.40),
        (Shape("box", (0.0, 0.0, 0.17), (0.13, 0.20, 0.30)),
         Shape("box", (0.02, 0.0, 0.41), (0.10, 0.09, 0.11), collide=True),
         Shape("box", (0.075, 0.018, 0.43), (0.025, 0.09, 0.025), collide=False)),
        "light", _arm_extra("waist_yaw_joint")))
    for side, s in (("left", 1.0), ("right", -1.0)):
        _add_arm(body, side, s)
    return body


def _add_leg(body: Body, side: str, s: float) -> None:
    p = side
    j = body.joints.append
    link = body.links.append
    j(Joint(f"{p}_hip_pitch_joint", "pelvis", f"{p}_hip_pitch_link", (0.0, s * 0.064452, -0.1027)))
    link(Link(f"{p}_hip_pitch_link", 1.35, (0.002741, s * 0.047791, -0.02606), (0.08, 0.08, 0.08),
              (Shape("cylinder", (0.0, s * 0.05, -0.02), (0.045, 0.06), (1.5708, 0.0, 0.0), collide=False),),
              "dark", _arm_extra(f"{p}_hip_pitch_joint")))
    j(Joint(f"{p}_hip_roll_joint", f"{p}_hip_pitch_link", f"{p}_hip_roll_link",
            (0.0, s * 0.052, -0.030465), (0.0, -0.1749, 0.0)))
    link(Link(f"{p}_hip_roll_link", 1.52, (0.029812, s * -0.001045, -0.087934), (0.10, 0.08, 0.14),
              (Shape("cylinder", (0.02, 0.0, -0.07), (0.045, 0.10), collide=False),),
              "grey", _arm_extra(f"{p}_hip_roll_joint")))
    j(Joint(f"{p}_hip_yaw_joint", f"{p}_hip_roll_link", f"{p}_hip_yaw_link", (0.025001, 0.0, -0.12412)))
    link(Link(f"{p}_hip_yaw_link", 1.702, (-0.057709, s * -0.010981, -0.15078), (0.08, 0.08, 0.20),
              (Shape("capsule", (-0.04, 0.0, -0.10), (0.05, 0.12), (0.0, -0.42, 0.0)),),
              "grey", _arm_extra(f"{p}_hip_yaw_joint")))
    j(Joint(f"{p}_knee_joint", f"{p}_hip_yaw_link", f"{p}_knee_link",
            (-0.078273, s * 0.0021489, -0.17734), (0.0, 0.1749, 0.0)))
    link(Link(f"{p}_knee_link", 1.932, (0.005457, s * 0.003964, -0.12074), (0.08, 0.08, 0.30),
              (Shape("capsule", (0.0, 0.0, -0.15), (0.045, 0.20)),),
              "light", _arm_extra(f"{p}_knee_joint")))
    j(Joint(f"{p}_ankle_pitch_joint", f"{p}_knee_link", f"{p}_ankle_pitch_link",
            (0.0, s * -9.4445e-05, -0.30001)))
    link(Link(f"{p}_ankle_pitch_link", 0.074, (-0.007269, 0.0, 0.011137), (0.03, 0.03, 0.03),
              (Shape("sphere", (0.0, 0.0, 0.0), (0.02,), collide=False),),
              "dark", _arm_extra(f"{p}_ankle_pitch_joint")))
    j(Joint(f"{p}_ankle_roll_joint", f"{p}_ankle_pitch_link", f"{p}_ankle_roll_link", (0.0, 0.0, -0.017558)))
    # Flat box sole: 0.22 m x 0.075 m, its bottom 0.035 m below the ankle roll axis. Unitree's training
    # model touches the ground only at four 5 mm spheres spanning x -0.055 .. 0.125 m, y +/-0.035 m; a sole
    # cut to that area made Unitree's policy walk 0.451 m/s instead of 0.440 m/s (docs/robot.md), but the
    # model-based walker's two-metre walk then fell, so the sole keeps its size.
    link(Link(f"{p}_ankle_roll_link", 0.608, (0.026505, 0.0, -0.016425), (0.22, 0.075, 0.035),
              (Shape("box", (0.035, 0.0, -0.025), (0.22, 0.075, 0.02)),),
              "dark", _arm_extra(f"{p}_ankle_roll_joint")))


def _add_arm(body: Body, side: str, s: float) -> None:
    p = side
    j = body.joints.append
    link = body.links.append
    j(Joint(f"{p}_shoulder_pitch_joint", "torso_link", f"{p}_shoulder_pitch_link",
            (0.0039563, s * 0.10022, 0.24778), (s * 0.27931, 5.4949e-05, 0.0)))
    link(Link(f"{p}_shoulder_pitch_link", 0.718, (0.0, s * 0.035892, -0.011628), (0.06, 0.06, 0.06),
              (Shape("cylinder", (0.0, s * 0.03, 0.0), (0.035, 0.05), (1.5708, 0.0, 0.0), collide=False),),
              "grey", _arm_extra(f"{p}_shoulder_pitch_joint")))
    j(Joint(f"{p}_shoulder_roll_joint", f"{p}_shoulder_pitch_link", f"{p}_shoulder_roll_link",
            (0.0, s * 0.038, -0.013831), (s * -0.27925, 0.0, 0.0)))
    link(Link(f"{p}_shoulder_roll_link", 0.643, (-0.000227, s * 0.00727, -0.063243), (0.06, 0.06, 0.10),
              (Shape("capsule", (0.0, 0.0, -0.05), (0.035, 0.06), collide=False),),
              "light", _arm_extra(f"{p}_shoulder_roll_joint")))
    j(Joint(f"{p}_shoulder_yaw_joint", f"{p}_shoulder_roll_link", f"{p}_shoulder_yaw_link",
            (0.0, s * 0.00624, -0.1032)))
    link(Link(f"{p}_shoulder_yaw_link", 0.734, (0.010773, s * -0.002949, -0.072009), (0.06, 0.06, 0.10),
              (Shape("capsule", (0.0, 0.0, -0.05), (0.032, 0.05)),),
              "light", _arm_extra(f"{p}_shoulder_yaw_joint")))
    j(Joint(f"{p}_elbow_joint", f"{p}_shoulder_yaw_link", f"{p}_elbow_link", (0.015783, 0.0, -0.080518)))
    link(Link(f"{p}_elbow_link", 0.600, (0.064956, s * 0.004454, -0.010062), (0.10, 0.05, 0.05),
              (Shape("capsule", (0.05, 0.0, -0.005), (0.028, 0.07), (0.0, 1.5708, 0.0)),),
              "grey", _arm_extra(f"{p}_elbow_joint")))
    j(Joint(f"{p}_wrist_roll_joint", f"{p}_elbow_link", f"{p}_wrist_roll_link",
            (0.100, s * 0.00188791, -0.010)))
    # Wrist and the rubber hand, about 0.125 m to the palm.
    link(Link(f"{p}_wrist_roll_link", 0.357, (0.06, 0.0, 0.0), (0.14, 0.05, 0.05),
              (Shape("capsule", (0.04, 0.0, 0.0), (0.025, 0.05), (0.0, 1.5708, 0.0)),
               Shape("box", (0.11, 0.0, 0.0), (0.06, 0.025, 0.05))),
              "dark", _arm_extra(f"{p}_wrist_roll_joint")))


HAND_TIP_OFFSET = (0.14, 0.0, 0.0)
"""Fingertip point in the wrist_roll_link frame (end of the hand box): what `touch` brings to a target."""


def _box_inertia(m: float, size: tuple[float, float, float]) -> tuple[float, float, float]:
    x, y, z = size
    return (m * (y * y + z * z) / 12.0, m * (x * x + z * z) / 12.0, m * (x * x + y * y) / 12.0)


def _f(v: tuple[float, ...]) -> str:
    return " ".join(f"{x:.6g}" for x in v)


def _geometry(shape: Shape) -> str:
    if shape.kind == "box":
        return f'<box size="{_f(shape.size)}"/>'
    if shape.kind == "sphere":
        return f'<sphere radius="{shape.size[0]:.6g}"/>'
    return f'<{shape.kind} radius="{shape.size[0]:.6g}" length="{shape.size[1]:.6g}"/>'


def to_urdf(body: Body) -> str:
    """Render the body as a URDF string (deterministic, so the committed file can be checked)."""
    out = ['<?xml version="1.0"?>',
           "<!-- Generated by `python -m robot.g1.description`; edit the Python description, not this file. -->",
           '<robot name="g1_23dof">']
    for c, rgba in COLORS.items():
        out.append(f'  <material name="{c}"><color rgba="{rgba}"/></material>')
    for link in body.links:
        ixx, iyy, izz = _box_inertia(link.mass, link.box)
        ex = link.extra_inertia
        out.append(f'  <link name="{link.name}">')
        out.append(f'    <inertial><origin xyz="{_f(link.com)}" rpy="0 0 0"/><mass value="{link.mass:.6g}"/>'
                   f'<inertia ixx="{ixx + ex[0]:.6g}" ixy="0" ixz="0" iyy="{iyy + ex[1]:.6g}" iyz="0" '
                   f'izz="{izz + ex[2]:.6g}"/></inertial>')
        for sh in link.shapes:
            origin = f'<origin xyz="{_f(sh.xyz)}" rpy="{_f(sh.rpy)}"/>'
            out.append(f'    <visual>{origin}<geometry>{_geometry(sh)}</geometry>'
                       f'<material name="{link.color}"/></visual>')
            if sh.collide:
                out.append(f"    <collision>{origin}<geometry>{_geometry(sh)}</geometry></collision>")
        out.append("  </link>")
    for jt in body.joints:
        spec = JOINT_BY_NAME[jt.name]
        out.append(f'  <joint name="{jt.name}" type="revolute">')
        out.append(f'    <origin xyz="{_f(jt.xyz)}" rpy="{_f(jt.rpy)}"/>')
        out.append(f'    <parent link="{jt.parent}"/><child link="{jt.child}"/><axis xyz="{AXIS[spec.axis]}"/>')
        out.append(f'    <limit lower="{spec.lower:.6g}" upper="{spec.upper:.6g}" effort="{spec.effort:.6g}" '
                   f'velocity="{spec.velocity:.6g}"/>')
        out.append("  </joint>")
    out.append("</robot>")
    return "\n".join(out) + "\n"


def total_mass(body: Body | None = None) -> float:
    return sum(link.mass for link in (body or build()).links)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the G1 URDF from its Python description.")
    parser.add_argument("--out", type=Path, default=URDF_PATH, help="where to write the URDF")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_urdf(build()))
    print(f"wrote {args.out} ({total_mass():.2f} kg)")


if __name__ == "__main__":
    main()
