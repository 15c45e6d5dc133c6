"""The head camera: documented shapes, depth in metres, a known object in the mask, pixel <-> world."""

from __future__ import annotations

import math

import numpy as np
import pybullet as pb
import pytest

from robot.g1 import constants as C
from robot.sim.camera import CameraConfig, FollowCamera, HeadCamera, render
from robot.sim.world import World, WorldConfig

BOX_CENTRE = (1.0, 0.35, 0.1)
BOX_HALF = 0.1


@pytest.fixture(scope="module")
def scene():
    world = World(WorldConfig())
    c = world.client
    col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[BOX_HALF] * 3, physicsClientId=c)
    vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[BOX_HALF] * 3, rgbaColor=[0.9, 0.1, 0.1, 1],
                               physicsClientId=c)
    box = pb.createMultiBody(0.0, col, vis, BOX_CENTRE, physicsClientId=c)
    frame = HeadCamera(world).capture()
    yield world, box, frame
    world.close()


def test_frame_shapes_and_types(scene) -> None:
    _, _, f = scene
    assert f.rgb.shape == (240, 320, 3) and f.rgb.dtype == np.uint8
    assert f.depth.shape == (240, 320) and f.depth.dtype == np.float32
    assert f.segmentation.shape == (240, 320) and f.segmentation.dtype == np.int32
    k = f.intrinsics
    assert (k.width, k.height) == (320, 240)
    # D435 colour: 69 deg across; square pixels.
    assert 2 * math.degrees(math.atan(k.cx / k.fx)) == pytest.approx(69.0, abs=0.5)
    assert k.fx == pytest.approx(k.fy)
    assert f.rotation.shape == (3, 3)
    np.testing.assert_allclose(f.rotation.T @ f.rotation, np.eye(3), atol=1e-9)
    assert f.rgb.std() > 5  # not a blank frame


def test_camera_sits_on_the_torso_pitched_down(scene) -> None:
    world, _, f = scene
    torso_pos, _ = world.robot.link_pose("torso_link")
    assert np.linalg.norm(f.position - torso_pos) == pytest.approx(np.linalg.norm(C.HEAD_CAMERA_POS), abs=1e-6)
    forward = f.rotation[:, 2]
    assert math.asin(-forward[2]) == pytest.approx(C.HEAD_CAMERA_PITCH, abs=0.02)  # robot stands upright
    assert forward[0] > 0.5  # looks ahead (+x)


def test_known_object_appears_in_the_mask(scene) -> None:
    _, box, f = scene
    pixels = f.segmentation == box
    assert pixels.sum() > 300
    # Every pixel of the box unprojects onto the box's surface.
    pts = f.points()[pixels]
    lo = np.array(BOX_CENTRE) - BOX_HALF - 0.01
    hi = np.array(BOX_CENTRE) + BOX_HALF + 0.01
    inside = np.all((pts >= lo) & (pts <= hi), axis=1)
    assert inside.mean() > 0.98
    # The box's centre projects inside its own silhouette.
    u, v, z = f.project(BOX_CENTRE)
    assert z > 0 and pixels[int(round(v)), int(round(u))]


def test_depth_is_metres_along_the_optical_axis(scene) -> None:
    _, box, f = scene
    # The ground is the plane z = 0: each ground pixel's depth must equal the ray-plane intersection.
    k = f.intrinsics
    for u, v in ((k.cx, k.cy), (40.0, 200.0), (280.0, 30.0)):
        assert f.segmentation[int(v), int(u)] not in (box, -1)
        ray = f.rotation @ np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])  # z = 1 in the camera
        expected = -f.position[2] / ray[2]
        assert f.depth[int(v), int(u)] == pytest.approx(expected, abs=0.01)
        np.testing.assert_allclose(f.unproject(u, v)[2], 0.0, atol=0.01)


def test_project_unproject_round_trip(scene) -> None:
    _, _, f = scene
    p = np.array([1.3, -0.2, 0.05])
    u, v, z = f.project(p)
    np.testing.assert_allclose(f.unproject(u, v, depth=z), p, atol=1e-9)


def test_resolution_is_configurable_and_follow_camera_renders(scene) -> None:
    world, _, _ = scene
    f = HeadCamera(world, CameraConfig(224, 224)).capture()
    assert f.rgb.shape == (224, 224, 3)
    img = FollowCamera(world).capture()
    assert img.shape == (360, 640, 3) and img.dtype == np.uint8 and img.std() > 5


def test_analytic_ground_matches_the_rendered_ground(scene) -> None:
    """The ground is drawn analytically for speed; it must agree with what the renderer would draw."""
    world, box, f = scene
    cfg = CameraConfig()
    _, depth_r, mask_r = render(world.client, cfg, f.position, f.rotation, ground=None)
    _, depth_a, mask_a = render(world.client, cfg, f.position, f.rotation, ground=world.ground)
    assert (mask_r == mask_a).mean() > 0.995
    on_ground = (mask_r == world.ground) & (mask_a == world.ground)
    assert on_ground.mean() > 0.5
    # The renderer interpolates depth a little off the exact plane far away (measured 1.2 cm at 3.3 m).
    np.testing.assert_allclose(depth_a[on_ground], depth_r[on_ground], rtol=0.005, atol=0.005)
    assert (mask_a == box).sum() == (mask_r == box).sum()
