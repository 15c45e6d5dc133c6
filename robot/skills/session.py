"""A scene with a standing robot ready for skills: world, SimRobot, LocoClient, detector and runner.

Tests, `humanoid bench skills` and the environments all start episodes this way, so a skill is always
judged on the same setup.
"""

from __future__ import annotations

from robot.perception.detect import Catalogue
from robot.sdk.loco import LocoClient, SimRobot
from robot.sim.scene import SceneSpec, make_world
from robot.sim.world import World, WorldConfig
from robot.skills.runner import SkillRunner


class SkillSession:
    """Build `spec`, stand the robot up (StandUp, then Start: 1 simulated second) and wrap it in a runner.

    Args:
        spec: the scene.
        config: world settings other than the spawn pose and seed (which come from the scene).
    """

    def __init__(self, spec: SceneSpec, config: WorldConfig = WorldConfig()) -> None:
        self.spec = spec
        self.world: World = make_world(spec, config)
        self.robot = SimRobot(self.world)
        self.client = LocoClient(self.robot)
        self.client.StandUp()
        self.robot.sleep(0.3)
        self.client.Start()
        self.robot.sleep(0.7)
        self.catalogue = Catalogue.from_scene(spec, self.world.bodies)
        self.runner = SkillRunner(self.robot, self.client, self.catalogue)

    def run(self, call):  # noqa: ANN001, ANN201 - SkillCall | dict | str -> SkillResult
        return self.runner.run(call)

    def close(self) -> None:
        self.robot.close()

    def __enter__(self) -> SkillSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SkillSession"]
