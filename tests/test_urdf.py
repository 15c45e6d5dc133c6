"""The body: the committed URDF is current, complete and matches the G1 reference facts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pybullet as pb
import pytest

from robot.g1 import constants as C
from robot.g1.description import URDF_PATH, build, to_urdf
from robot.sim.world import World, WorldConfig


@pytest.fixture(scope="module")
def urdf() -> ET.Element:
    return ET.parse(URDF_PATH).getroot()


def test_committed_urdf_is_current() -> None:
    assert URDF_PATH.read_text() == to_urdf(build()), "run `python -m robot.g1.description` and commit"


def test_every_link_has_a_physical_inertial(urdf: ET.Element) -> None:
    # PyBullet gives a link without <inertial> 1 kg, and silently zeroes a tensor that breaks the
    # triangle inequality (notes.md): both would make the body wrong without an error.
    for link in urdf.iter("link"):
        inertial = link.find("inertial")
        assert inertial is not None, f"{link.get('name')} has no <inertial>"
        assert float(inertial.find("mass").get("value")) > 0.0
        i = inertial.find("inertia")
        ixx, iyy, izz = (float(i.get(k)) for k in ("ixx", "iyy", "izz"))
        assert min(ixx, iyy, izz) > 0.0, link.get("name")
        assert ixx + iyy >= izz and iyy + izz >= ixx and ixx + izz >= iyy, link.get("name")


def test_urdf_joints_match_the_reference(urdf: ET.Element) -> None:
    axes = {"x": "1 0 0", "y": "0 1 0", "z": "0 0 1"}
    joints = {j.get("name"): j for j in urdf.iter("joint") if j.get("type") != "fixed"}
    assert set(joints) == {j.name for j in C.JOINTS}
    for spec in C.JOINTS:
        j = joints[spec.name]
        assert j.get("type") == "revolute"
        assert j.find("axis").get("xyz") == axes[spec.axis], spec.name
        lim = j.find("limit")
        for attr in ("lower", "upper", "effort", "velocity"):
            assert float(lim.get(attr)) == pytest.approx(getattr(spec, attr), rel=1e-5), (spec.name, attr)


def test_pybullet_loads_23_named_joints_with_reference_limits() -> None:
    with World(WorldConfig()) as world:
        r = world.robot
        assert len(r.pb_joints) == 23
        movable = [i for i in range(pb.getNumJoints(r.id, physicsClientId=world.client))
                   if pb.getJointInfo(r.id, i, physicsClientId=world.client)[2] != pb.JOINT_FIXED]
        assert len(movable) == 23
        for spec in C.JOINTS:
            info = pb.getJointInfo(r.id, r.joint_index[spec.name], physicsClientId=world.client)
            assert info[1].decode() == spec.name
            assert info[2] == pb.JOINT_REVOLUTE
            assert info[8] == pytest.approx(spec.lower, abs=1e-5)
            assert info[9] == pytest.approx(spec.upper, abs=1e-5)
            assert info[10] == pytest.approx(spec.effort, rel=1e-5)
            assert info[11] == pytest.approx(spec.velocity, rel=1e-5)


def test_total_mass_within_5_percent_of_g1() -> None:
    with World(WorldConfig()) as world:
        mass = world.robot.total_mass()
    assert abs(mass - C.TOTAL_MASS_REF) / C.TOTAL_MASS_REF < 0.05, mass


def _self_contacts(world: World) -> set[tuple[str, str]]:
    r = world.robot
    names = {i: n for n, i in r.link_index.items()}
    pb.performCollisionDetection(physicsClientId=world.client)
    return {tuple(sorted((names[c[3]], names[c[4]])))
            for c in pb.getContactPoints(r.id, r.id, physicsClientId=world.client)}


def test_the_legs_collide_with_each_other_and_nothing_else_of_the_robot_does() -> None:
    with World(WorldConfig()) as world:
        r, c = world.robot, world.client
        assert _self_contacts(world) == set()  # the default pose touches nothing of itself
        # Hips rolled inward: the thighs cross.
        pb.resetJointState(r.id, r.joint_index["left_hip_roll_joint"], -0.5, physicsClientId=c)
        pb.resetJointState(r.id, r.joint_index["right_hip_roll_joint"], 0.5, physicsClientId=c)
        crossed = _self_contacts(world)
        assert crossed and all(a.startswith("left_") != b.startswith("left_") for a, b in crossed), crossed
        assert all(any(k in n for k in ("hip", "knee", "ankle")) for pair in crossed for n in pair), crossed
        for joint in ("left_hip_roll_joint", "right_hip_roll_joint"):
            pb.resetJointState(r.id, r.joint_index[joint], 0.0, physicsClientId=c)
        # Forearms folded across each other in front of the body (with every self-collision on, the elbows
        # and wrists would touch: measured): arms are left out of self-collision.
        pb.resetJointState(r.id, r.joint_index["left_shoulder_roll_joint"], -0.6, physicsClientId=c)
        pb.resetJointState(r.id, r.joint_index["right_shoulder_roll_joint"], 0.6, physicsClientId=c)
        for side in ("left", "right"):
            pb.resetJointState(r.id, r.joint_index[f"{side}_elbow_joint"], 1.5, physicsClientId=c)
        assert _self_contacts(world) == set()
    with World(WorldConfig(leg_self_collision=False)) as world:
        r, c = world.robot, world.client
        pb.resetJointState(r.id, r.joint_index["left_hip_roll_joint"], -0.5, physicsClientId=c)
        pb.resetJointState(r.id, r.joint_index["right_hip_roll_joint"], 0.5, physicsClientId=c)
        assert _self_contacts(world) == set()


def test_both_soles_and_the_arms_still_touch_the_world() -> None:
    with World(WorldConfig()) as world:
        r, c = world.robot, world.client
        names = {i: n for n, i in r.link_index.items()}
        for _ in range(50):  # spawned a centimetre up: 0.1 s to settle onto the soles
            world.step()
        on_ground = {names[p[4]] for p in pb.getContactPoints(bodyA=world.ground, bodyB=r.id, physicsClientId=c)}
        assert {"left_ankle_roll_link", "right_ankle_roll_link"} <= on_ground, on_ground
        box = pb.createMultiBody(1.0, pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[0.3, 0.3, 0.3],
                                                              physicsClientId=c),
                                 basePosition=r.base_pos.tolist(), physicsClientId=c)
        pb.performCollisionDetection(physicsClientId=c)
        touching = {names[p[4]] for p in pb.getContactPoints(bodyA=box, bodyB=r.id, physicsClientId=c)}
        assert "torso_link" in touching and any("shoulder" in n or "elbow" in n for n in touching), touching
