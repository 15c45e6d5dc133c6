"""Shared helpers: a standing robot through the low-level bridge."""

from __future__ import annotations

import numpy as np
import pytest

from robot.control.base import LocoCommand
from robot.control.stand import StandController
from robot.runs import odometry
from robot.sdk.bridge import LowLevelBridge
from robot.sdk.lowlevel import LowState
from robot.sim.world import World, WorldConfig


class Stander:
    """A world, its bridge and the standing controller, stepped together."""

    def __init__(self, seed: int = 0) -> None:
        self.world = World(WorldConfig(seed=seed))
        self.bridge = LowLevelBridge(self.world)
        self.ctrl = StandController()
        self.command = LocoCommand(walking=False)
        self.state = self.bridge.read()
        self.ctrl.reset(self.state, odometry(self.world))

    def run(self, seconds: float) -> list[LowState]:
        states = []
        for _ in range(round(seconds / self.world.dt)):
            self.bridge.write(self.ctrl.step(self.state, odometry(self.world), self.command))
            self.bridge.step()
            self.state = self.bridge.read()
            states.append(self.state)
        return states

    @property
    def pelvis(self) -> np.ndarray:
        return self.world.robot.base_pos.copy()

    def close(self) -> None:
        self.world.close()


@pytest.fixture
def stander():
    s = Stander()
    yield s
    s.close()
