"""The simulated world: PyBullet physics, the G1 body, cameras and videos."""

from robot.sim._pybullet import pb  # noqa: F401 - first: PyBullet imported without its banner
from robot.sim.camera import CameraConfig, FollowCamera, Frame, HeadCamera, Intrinsics
from robot.sim.scene import ObjectSpec, SceneSpec, TableSpec, WallSpec, build_scene, make_world, random_scene
from robot.sim.video import Recorder, VideoWriter, compose
from robot.sim.world import GRAVITY, Robot, World, WorldConfig

__all__ = ["GRAVITY", "CameraConfig", "FollowCamera", "Frame", "HeadCamera", "Intrinsics", "ObjectSpec", "Recorder",
           "Robot", "SceneSpec", "TableSpec", "VideoWriter", "WallSpec", "World", "WorldConfig", "build_scene",
           "compose", "make_world", "random_scene"]
