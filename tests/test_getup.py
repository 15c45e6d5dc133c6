"""Lie2StandUp (FSM 702): getting up from the floor through joint torques only, then walking on.

The falls are seeded pushes on the standing robot; the cases were measured with `humanoid bench getup`
(docs/walking.md): a push of 60 N s toward +x leaves it on its back. Which side a push toward -x leaves
it on turns on the walker's catching steps and changes with any change to them (twenty-first session:
30-38 N s gave side, side, back, front, side, back), so the cases from the front push until it lies there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot.control.getup import GetUpConfig, GetUpController, lying
from robot.control.kinematics import rot
from robot.g1 import constants as C
from robot.sdk.loco import FsmId, LocoClient, LocoError, SimRobot
from robot.sim.world import World, WorldConfig


def _fallen(impulse: float, angle: float = 0.0) -> tuple[SimRobot, LocoClient]:
    robot = SimRobot(World(WorldConfig(seed=0)))
    client = LocoClient(robot)
    client.StandUp()
    robot.sleep(0.5)
    client.Start()
    robot.sleep(1.0)
    robot.world.apply_impulse((impulse * math.cos(angle), impulse * math.sin(angle), 0.0), duration=0.1)
    robot.sleep(3.0)
    assert robot.fallen and robot.fsm == FsmId.DAMP
    return robot, client


def _fallen_on_back() -> tuple[SimRobot, LocoClient]:
    """The robot lying on its back, from the first of a few pushes toward +x that leaves it there (60 N s
    did until a forward push from standing came to be carried faster, twenty-third session)."""
    for impulse in (60.0, 50.0, 45.0, 55.0, 70.0):
        robot, client = _fallen(impulse)
        if lying(robot.bridge.read()) == "back":
            return robot, client
        robot.close()
    raise AssertionError("no push toward +x left the robot on its back")


def _fallen_on_front() -> tuple[SimRobot, LocoClient]:
    """The robot lying on its front, from the first of a few pushes toward -x that leaves it there."""
    for impulse in (35.0, 45.0, 40.0, 50.0, 30.0, 55.0):
        robot, client = _fallen(impulse, math.pi)
        if lying(robot.bridge.read()) == "front":
            return robot, client
        robot.close()
    raise AssertionError("no push toward -x left the robot on its front")


def _get_up(robot: SimRobot, limit: float) -> float:
    t0 = robot.time
    while robot.fsm == FsmId.LIE2STANDUP and robot.time - t0 < limit:
        robot.step()
    return robot.time - t0


def test_the_squat_table_balances_over_flat_feet_within_the_joint_limits() -> None:
    g = GetUpController()
    kin = g.kin
    assert g.heights[0] == pytest.approx(0.34) and g.heights[-1] > 0.75
    assert np.all(np.diff(g.leans) <= 1e-9)  # the higher the pelvis, the less it leans
    for h, lean, q in zip(g.heights, g.leans, g.table):
        assert np.all(q >= C.Q_LOWER - 1e-9) and np.all(q <= C.Q_UPPER + 1e-9)
        assert min(q[4], q[10]) >= -0.8 - 1e-9  # the ankles keep a margin to their 0.87 rad
        R = rot("y", lean)
        soles = [R @ leg.fk(q[leg.slots])[0] for leg in (kin.left, kin.right)]
        for sole in soles:
            assert sole[2] == pytest.approx(-h, abs=3e-3)  # the pelvis at its height over the floor
        assert (R @ kin.com(q))[0] == pytest.approx(soles[0][0], abs=2e-3)  # the CoM over the soles


def test_lie2standup_from_the_back_stands_and_walks_on() -> None:
    robot, client = _fallen_on_back()
    assert lying(robot.bridge.read()) == "back"
    assert client.StandUp() == LocoError.FALLEN  # StandUp needs it on its feet
    assert client.Lie2StandUp() == LocoError.OK
    assert client.GetFsmId() == (LocoError.OK, FsmId.LIE2STANDUP)
    assert client.Start() == LocoError.FALLEN  # still on the floor
    took = _get_up(robot, 15.0)
    assert robot.fsm == FsmId.STAND_UP and not robot.fallen, robot.getup.reason
    assert took < 6.0  # measured 4.6 s
    assert robot.world.robot.base_pos[2] > 0.74
    robot.sleep(0.5)
    x0 = client.GetOdom()
    assert client.Start() == LocoError.OK
    assert client.Move(0.3, 0.0, 0.0, continous_move=True) == LocoError.OK
    robot.sleep(3.0)
    x1 = client.GetOdom()
    assert not robot.fallen
    assert math.hypot(x1[0] - x0[0], x1[1] - x0[1]) > 0.3  # measured 0.40 m
    robot.close()


def test_lie2standup_from_the_front_rolls_over_first() -> None:
    robot, client = _fallen_on_front()
    assert client.Lie2StandUp() == LocoError.OK
    took = _get_up(robot, 20.0)
    g = robot.getup
    assert g.lay[0] == "front" and g.lay[-1] == "back" and g.rolls >= 1
    assert robot.fsm == FsmId.STAND_UP and not robot.fallen, g.reason
    assert took < 10.0  # measured 8.0 s
    robot.close()


def test_damp_interrupts_a_get_up_and_it_can_start_again() -> None:
    robot, client = _fallen(60.0)
    assert client.Lie2StandUp() == LocoError.OK
    robot.sleep(1.0)
    assert client.Damp() == LocoError.OK
    assert robot.fsm == FsmId.DAMP and robot.bridge.damping and robot.fallen
    robot.sleep(2.0)
    assert client.Lie2StandUp() == LocoError.OK
    _get_up(robot, 20.0)
    assert robot.fsm == FsmId.STAND_UP and not robot.fallen, robot.getup.reason
    robot.close()


def test_a_get_up_that_gives_up_goes_to_damp_and_says_why() -> None:
    robot, client = _fallen_on_front()  # it must roll, and it may not
    robot.getup = GetUpController(GetUpConfig(max_rolls=0))
    assert client.Lie2StandUp() == LocoError.OK
    _get_up(robot, 5.0)
    assert robot.fsm == FsmId.DAMP and robot.bridge.damping and robot.fallen
    assert robot.getup.phase == "failed" and "roll" in robot.getup.reason
    robot.close()


def test_lie2standup_on_the_feet_is_stand_up() -> None:
    robot = SimRobot(World(WorldConfig(seed=0)))
    client = LocoClient(robot)
    client.Damp()
    assert client.Lie2StandUp() == LocoError.OK
    assert robot.fsm == FsmId.STAND_UP and robot.getup is None
    assert client.SetFsmId(702) == LocoError.OK and robot.fsm == FsmId.STAND_UP
    robot.close()


def test_the_chat_stage_gets_the_robot_up_after_a_fall_and_goes_on(tmp_path) -> None:  # noqa: ANN001
    """What `humanoid chat` does after a turn that ended on the floor (policies/agent/demo.py)."""
    import json

    from policies.agent.stage import Stage, StageConfig
    from policies.planner.keyword import KeywordPlanner
    from robot.demo import load_scene

    with Stage(load_scene("demo"), KeywordPlanner(), tmp_path, StageConfig(video=False, progress=False)) as stage:
        stage.world.apply_impulse((-60.0, 0.0, 0.0), duration=0.1)
        stage.robot.sleep(3.0)
        assert stage.robot.fallen
        assert stage.get_up()
        assert stage.robot.fsm == FsmId.START and not stage.robot.fallen
        turn = stage.run("wave with your right hand")
        assert turn.success, turn.answer()
    events = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    (up,) = [e for e in events if e["event"] == "get_up"]
    assert up["ok"] and up["sim_s"] < 20.0  # measured 11.5 s: on its front, the first roll left it there


def test_crossed_legs_on_the_back_are_parted_before_the_tuck() -> None:
    """Lying on the back with both hips rolled in past the midline (a fall that left the legs crossed, knees and
    ankles pressed together), it lifts one leg and swings it out, looks again, and tucks once they are apart."""
    from robot.control.base import Odometry
    from robot.sdk.lowlevel import IMUState, LowState

    state = LowState()
    h = math.sqrt(0.5)  # pitched -90 deg: the pelvis's forward axis points up, on its back
    state.imu_state = IMUState.from_arrays((h, 0.0, -h, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 9.81),
                                           (0.0, -math.pi / 2, 0.0))
    assert lying(state) == "back"
    g = GetUpController()

    def run(seconds: float) -> str:
        for _ in range(round(seconds / 0.002)):
            g.step(state, Odometry())
        return g.phase

    state.q[1], state.q[7] = -0.10, 0.30  # left 0.1 rad in, right 0.3 rad in: crossed
    g.reset(state, Odometry())
    assert run(0.61) == "lift" and run(0.45) == "lift"
    assert g._cmd.q[0] < -1.0 and g._cmd.q[6] > -0.1  # the left leg lifted, the right flat
    assert run(0.05) == "part" and run(0.45) == "part"
    assert g._cmd.q[1] > 0.4 and g._cmd.q[7] < 0.0  # the lifted left leg swings out, the right rolls out too
    state.q[1], state.q[7] = 0.05, -0.05  # apart
    assert run(0.06 + 0.81) == "tuck" and g.tries == 1
    # Legs apart from the start (or rolled out, as the tuck spreads them): straight to the tuck.
    g.reset(state, Odometry())
    assert run(0.61) == "tuck"
