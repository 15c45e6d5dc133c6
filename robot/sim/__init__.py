"""The simulated world: PyBullet physics, the G1 body, cameras and videos."""

from robot.sim.camera import CameraConfig, FollowCamera, Frame, HeadCamera, Intrinsics
from robot.sim.video import Recorder, VideoWriter, compose
from robot.sim.world import GRAVITY, Robot, World, WorldConfig

__all__ = ["GRAVITY", "CameraConfig", "FollowCamera", "Frame", "HeadCamera", "Intrinsics", "Recorder", "Robot",
           "VideoWriter", "World", "WorldConfig", "compose"]
