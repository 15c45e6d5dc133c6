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
