"""The agent on a simulated robot: a scene's world, the G1 standing and walking, the skill runner, the head
camera as the planner's eyes. What `humanoid demo` and `humanoid chat` drive."""

from __future__ import annotations

from typing import Any, Callable

from policies.agent.loop import Agent, AgentConfig, Outcome, Trace
from policies.planner.base import Planner


class SimSession:
    """One persistent scene with a robot in it; `run(instruction)` carries out one instruction.

    Args:
        spec: the scene (robot.sim.scene.SceneSpec).
        planner: any Planner.
        cfg: the agent's step and plan budgets.
        trace: where events go (a Trace writing the run folder's trace.jsonl).
        on_event: also called with every event.
        world_cfg: base world configuration (gui, solver settings); the scene sets seed and spawn pose.
        controller: System 1 for walking (FSM 500); None for the model-based walker.
    """

    def __init__(self, spec: Any, planner: Planner, cfg: AgentConfig = AgentConfig(), trace: Trace | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None, world_cfg: Any = None,
                 controller: Any = None) -> None:
        from robot.perception import Catalogue
        from robot.sdk.loco import LocoClient, SimRobot
        from robot.sim.scene import make_world
        from robot.sim.world import WorldConfig
        from robot.skills.runner import SkillRunner

        self.spec = spec
        self.world = make_world(spec, world_cfg or WorldConfig())
        self.robot = SimRobot(self.world, controller=controller)
        self.client = LocoClient(self.robot)
        self.client.StandUp()
        self.robot.sleep(0.3)
        self.client.Start()
        self.robot.sleep(0.7)
        self.runner = SkillRunner(self.robot, self.client, Catalogue.from_scene(spec, self.world.bodies))
        self.agent = Agent(planner, self.runner, look=self.runner.ctx.look, cfg=cfg, trace=trace, on_event=on_event)

    def run(self, instruction: str) -> Outcome:
        """Plan and carry out one instruction in this scene."""
        return self.agent.run(instruction)

    def close(self) -> None:
        self.world.close()

    def __enter__(self) -> SimSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SimSession"]
