"""The simulated world: PyBullet physics, the G1 body, cameras."""

from robot.sim.world import GRAVITY, Robot, World, WorldConfig

__all__ = ["GRAVITY", "Robot", "World", "WorldConfig"]
