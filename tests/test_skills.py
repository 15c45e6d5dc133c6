"""Skills: each reaches its done-condition in the simulator's ground truth; bad calls and absent targets.

Hand-made scenes (robust to changes in random_scene); a few sessions each run several skills to keep the
file within about four minutes on two shared cores. Tolerances are the skills issue's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robot.sim.predicates import (
    Before,
    WaveWatcher,
    distance_to,
    bearing_to,
    fallen,
    hand_distance,
    moved_distance,
    object_position,
    pointing_error_deg,
    robot_pose,
    skill_done,
)
from robot.sim.scene import ObjectSpec, SceneSpec, TableSpec
from robot.skills.registry import SKILL_NAMES, SKILLS, SkillCall, json_schema, plan_from_json
from robot.skills.session import SkillSession


def _on_table(table: TableSpec, local: tuple[float, float], size: float) -> tuple[float, float, float]:
    c, s = math.cos(table.yaw), math.sin(table.yaw)
    x, y = table.position
    return (x + c * local[0] - s * local[1], y + s * local[0] + c * local[1], table.size[2] + size / 2)


TABLE = TableSpec("table", (1.05, 0.6), (0.45, 0.8, 0.78), 0.52)
SCENE = SceneSpec(3, (
    ObjectSpec("red_cube", "cube", "red", 0.2, 1.0, (1.5, -0.2, 0.1)),
    ObjectSpec("blue_ball", "ball", "blue", 0.12, 0.4, (1.2, -0.8, 0.06)),
    ObjectSpec("green_cylinder", "cylinder", "green", 0.12, 0.5, (2.3, 0.3, 0.06)),
    ObjectSpec("yellow_cube", "cube", "yellow", 0.09, 0.4, _on_table(TABLE, (-0.145, -0.1), 0.09), on="table"),
), (TABLE,))


# --- the registry (no simulation) ----------------------------------------------------------------------
def test_vocabulary_matches_the_architecture() -> None:
    assert set(SKILL_NAMES) == {"walk_to", "walk", "turn", "face", "look_at", "point_at", "wave", "touch", "push",
                                "squat", "stand", "stop", "done", "refuse"}
    schema = json_schema()
    assert len(schema["items"]["oneOf"]) == len(SKILLS)
    assert not SKILLS["done"].moves and not SKILLS["refuse"].moves


def test_paths_keep_their_distance_and_squeeze_only_where_they_must() -> None:
    """A wall of obstacles across the way with one gap: 0.80 m between edges, the path keeps 0.32 m from
    them (`ROBOT_RADIUS`); 0.56 m, too narrow for that, it squeezes through at 0.26 m
    (`SQUEEZE_RADIUS`: the body is 0.45 m wide) rather than give up; 0.40 m stays no path."""
    from robot.skills.nav import ROBOT_RADIUS, SQUEEZE_RADIUS, Obstacles, plan

    def wall(gap: float) -> Obstacles:
        obs = Obstacles()
        r = 0.05
        ys = [y for y in np.arange(-3.0, 3.01, 0.08) if abs(y) >= gap / 2 + r]  # posts along x = 1
        obs.items["wall"] = (np.array([[1.0, y] for y in ys]), r)
        return obs

    def closest(obs: Obstacles, way: list[np.ndarray], start: np.ndarray) -> float:
        pts = np.concatenate([np.linspace(a, b, 50) for a, b in zip([start] + way[:-1], way)])
        return min(obs.clearance(q) for q in pts)

    start, goal = np.array([0.0, 0.3]), np.array([2.0, -0.3])
    wide, narrow, shut = wall(0.80), wall(0.56), wall(0.40)
    assert closest(wide, plan(wide, start, goal), start) >= ROBOT_RADIUS - 0.03
    way = plan(narrow, start, goal)
    assert way is not None and SQUEEZE_RADIUS - 0.03 <= closest(narrow, way, start) < ROBOT_RADIUS
    assert plan(shut, start, goal) is None


def test_skill_calls_round_trip_and_fill_defaults() -> None:
    text = '[{"skill": "walk_to", "target": {"object": "red cube", "point_2d": [512, 700]}}, ' \
           '{"skill": "walk", "distance": 1}, {"skill": "done", "say": "ok"}]'
    plan = plan_from_json(text)
    assert plan[1].args == {"distance": 1.0, "direction": "forward"}
    assert plan[0].target.point_2d == (512, 700)
    for call in plan:
        assert SkillCall.from_json(call.to_json()) == call


@pytest.mark.parametrize("text, words", [
    ('{"skill": "fly"}', "unknown skill 'fly'"),
    ('{"skill": "turn", "degrees": 270}', "turn.degrees must be within -180..180"),
    ('{"skill": "turn"}', "turn needs argument 'degrees'"),
    ('{"skill": "walk", "distance": 1, "speed": 2}', "walk has no argument"),
    ('{"skill": "wave", "hand": "middle"}', "wave.hand must be one of"),
    ('{"skill": "touch", "target": {"object": ""}}', "touch.target.object must be a non-empty"),
    ('{"skill": "push", "target": {"object": "red cube", "point_2d": [10, 2000]}, "distance": 0.5}',
     "push.target.point_2d must lie on the 0..1000 grid"),
    ('{"skill": "walk", "distance": "far"}', "walk.distance must be a finite number"),
    ('{"skill": "walk_to", "target": ', "not valid JSON"),
])
def test_bad_calls_name_the_problem(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[").replace(".", r"\.")):
        SkillCall.from_json(text)


# --- the skills in the simulator -----------------------------------------------------------------------
def _run(s: SkillSession, call: dict, target: str | None = None, waves: WaveWatcher | None = None):  # noqa: ANN202
    before = Before.take(s.world)
    result = s.run(call)
    done, numbers = skill_done(s.world, call["skill"], SkillCall.from_dict(call).args, before, target, waves)
    return result, done, numbers


def test_bad_argument_raises_and_nothing_moves() -> None:
    with SkillSession(SCENE) as s:
        x0 = robot_pose(s.world)
        t0 = s.robot.time
        with pytest.raises(ValueError, match="walk.direction"):
            s.run({"skill": "walk", "distance": 1.0, "direction": "up"})
        with pytest.raises(ValueError, match="unknown skill"):
            s.run('{"skill": "jump"}')
        assert s.robot.time == t0 and robot_pose(s.world) == x0


def test_missing_object_is_not_found_without_walking_off() -> None:
    with SkillSession(SCENE) as s:
        x0, y0, _ = robot_pose(s.world)
        result = s.run({"skill": "walk_to", "target": {"object": "purple ball"}})
        x, y, _ = robot_pose(s.world)
        assert result.reason == "not_found" and not result.ok
        assert math.hypot(x - x0, y - y0) < 0.3
        assert not fallen(s.world)


def test_walk_to_ends_half_a_metre_in_front_facing_it() -> None:
    with SkillSession(SCENE) as s:
        result, done, numbers = _run(s, {"skill": "walk_to", "target": {"object": "green cylinder"}}, "green_cylinder")
        assert result.ok, result
        assert abs(distance_to(s.world, "green_cylinder") - 0.5) <= 0.15
        assert abs(math.degrees(bearing_to(s.world, "green_cylinder"))) <= 15.0
        assert done, numbers


def test_touch_puts_a_hand_within_3cm_of_a_cube_on_a_table() -> None:
    with SkillSession(SCENE) as s:
        result, done, numbers = _run(s, {"skill": "touch", "target": {"object": "yellow cube"}}, "yellow_cube")
        assert hand_distance(s.world, "yellow_cube") <= 0.03, (result, numbers)
        assert result.ok and done


def test_a_hand_on_a_table_leaves_the_way_it_came() -> None:
    """The task suite's touch, seed 22, then the same touch again (as a retry would): the hand rests on the
    cube when the second begins. Released straight from there, the arm swung down through the table's edge
    and the robot, stepping in place beside it, was shoved sideways and fell 2 s into the retry (measured,
    and the ablation below); the arm now leaves through the poses it came in by. The retry backs off along
    the robot's heading, not along the ray to the cube (skewed ~25 degrees by the hand's side offset: every
    repeat fell, 4 of 4), and touches again."""
    from envs.tasks import Suite

    ep = Suite.load().sample("touch", 22, "train")
    call = ep.subgoals[0].call
    for keep_exit in (True, False):
        with SkillSession(ep.scene) as s:
            first = s.runner.run(call)
            assert first.ok and hand_distance(s.world, "purple_cube_0") <= 0.03, first
            assert s.runner.ctx.arm_exit, "touch keeps its way out"
            if not keep_exit:
                s.runner.ctx.arm_exit = []
            second = s.runner.run(call)
            if keep_exit:
                assert not fallen(s.world) and second.ok, second
                assert hand_distance(s.world, "purple_cube_0") <= 0.03
            else:
                assert fallen(s.world) and second.reason == "fell", second


def test_a_push_counts_from_where_it_first_saw_the_object_up_close() -> None:
    """The task suite's push, seed 17 (0.3 m; the cube first seen 2.8 m away): counted from that first
    sight, where depth put the cube 0.09 m off, the skill reported 0.31 m moved while the cube had moved
    0.22 m (the task failed); counted from the first look from close, before any push, the skill's figure
    and the truth agree (0.343 and 0.343 m, measured)."""
    from envs.tasks import Suite

    ep = Suite.load().sample("push", 17, "train")
    with SkillSession(ep.scene) as s:
        start = np.array(object_position(s.world, "purple_cube_0")[:2])
        away = start - np.array(robot_pose(s.world)[:2])
        result = s.runner.run(ep.subgoals[0].call)
        moved = moved_distance(s.world, "purple_cube_0", start, away)
        assert result.ok and not fallen(s.world), result
        assert abs(result.measured["moved_m"] - moved) <= 0.03, (result, moved)
        assert moved >= 0.24


def test_push_moves_a_cube_at_least_80_percent() -> None:
    with SkillSession(SCENE) as s:
        result, done, numbers = _run(s, {"skill": "push", "target": {"object": "red cube"}, "distance": 0.4},
                                     "red_cube")
        assert numbers["moved_m"] >= 0.32, (result, numbers)
        assert result.ok and done and not fallen(s.world)


def test_point_wave_face_look_and_turn_in_one_session() -> None:
    with SkillSession(SCENE) as s:
        result, done, _ = _run(s, {"skill": "point_at", "target": {"object": "blue ball"}}, "blue_ball")
        assert pointing_error_deg(s.world, "blue_ball") <= 10.0 and result.ok and done
        waves = WaveWatcher(s.world)
        result, done, numbers = _run(s, {"skill": "wave", "hand": "left"}, waves=waves)
        assert result.ok and done, numbers
        result, done, numbers = _run(s, {"skill": "face", "target": {"object": "red cube"}}, "red_cube")
        assert result.ok and done, numbers
        result, done, numbers = _run(s, {"skill": "look_at", "target": {"object": "green cylinder"}}, "green_cylinder")
        assert result.ok and done, numbers
        result, done, numbers = _run(s, {"skill": "turn", "degrees": -90})
        assert result.ok and done, numbers


def test_point_at_a_close_object_follows_the_body_sway() -> None:
    """After walking up to the red cube, the blue ball is 0.52 m away and on the floor: stepping in place
    sways the pelvis by up to 6 degrees and a few cm, which swings the aim at so close a target. The arm
    follows the sway (ArmChain.track at 50 Hz, the IMU's tilt) and the skill's own figure matches the
    simulator's. Measured: 2.8 degrees at the end against 6.6 when the arm holds its last solution; the
    skill reported 2.0."""
    from robot.sim.predicates import hand_pose
    from robot.skills.arm import measured_hand

    with SkillSession(SCENE) as s:
        assert s.run({"skill": "walk_to", "target": {"object": "red cube"}}).ok
        result, done, _ = _run(s, {"skill": "point_at", "target": {"object": "blue ball"}}, "blue_ball")
        truth = pointing_error_deg(s.world, "blue_ball", result.measured["hand"])
        assert result.ok and done and truth <= 4.5, (result, truth)
        assert abs(result.measured["pointing_error_deg"] - truth) <= 2.0, (result, truth)
        # The robot's estimate of its hand (joint angles, IMU tilt, odometry) is the simulator's, to the mm.
        for _ in range(5):
            tip, axis = measured_hand(s.runner.ctx, result.measured["hand"])
            true_tip, true_axis = hand_pose(s.world, result.measured["hand"])
            assert np.linalg.norm(tip - true_tip) < 0.003 and float(axis @ true_axis) > math.cos(math.radians(0.3))
            s.robot.sleep(0.1)


def test_walk_squat_stand_stop_in_one_session() -> None:
    with SkillSession(SCENE) as s:
        x0, y0, yaw0 = robot_pose(s.world)
        result, done, numbers = _run(s, {"skill": "walk", "distance": 0.5, "direction": "backward"})
        assert result.ok and done, numbers
        result, done, numbers = _run(s, {"skill": "squat"})
        assert result.ok and done, numbers
        result, done, numbers = _run(s, {"skill": "stand"})
        assert result.ok and done, numbers
        s.client.Move(0.25, 0.0, 0.0, True)
        s.robot.sleep(1.0)
        result, done, numbers = _run(s, {"skill": "stop"})
        assert result.ok and done, numbers
        x1 = s.world.robot.base_pos[:2].copy()
        s.robot.sleep(1.0)
        assert np.linalg.norm(s.world.robot.base_pos[:2] - x1) < 0.05  # and it stays stopped
        assert not fallen(s.world)


def test_stand_after_a_fall_gets_up_from_the_floor() -> None:
    with SkillSession(SCENE) as s:
        s.world.apply_impulse((-60.0, 0.0, 0.0), duration=0.1)  # backward, hard: it falls
        result = s.run({"skill": "walk", "distance": 0.5, "direction": "forward"})
        assert not result.ok and result.reason == "fell" and s.robot.fallen
        result, done, numbers = _run(s, {"skill": "stand"})
        assert result.ok and done, (result, numbers)
        assert not s.robot.fallen and s.robot.getup is not None and s.robot.getup.phase == "done"
        result, done, numbers = _run(s, {"skill": "walk", "distance": 0.5, "direction": "forward"})
        assert result.ok and done, numbers


def test_results_serialise() -> None:
    from robot.skills.base import SkillResult

    r = SkillResult(False, "not_found", {"distance_m": 1.5}, "walk_to", 3.0)
    assert json.loads(json.dumps(r.to_dict()))["reason"] == "not_found"
    assert moved_distance  # shared with bench and envs (import check)


def test_bench_skills_prints_success_keys_as_json() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "robot.cli", "bench", "skills", "--seeds", "1", "--skills", "wave",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["success_wave"] == 1.0 and result["seconds_wave"] > 0 and result["falls"] == 0


def test_stop_straight_after_start_is_a_stop() -> None:
    """From standing, the gait's first steps drift about 5 cm back while the pelvis sways 6 cm a step; the
    skill judged one pose against another a second later and reported `unreachable` (drift 0.076 m) for a
    robot that was coming to rest. The simulator agrees it stopped."""
    with SkillSession(SCENE) as s:
        result, done, numbers = _run(s, {"skill": "stop"})
        assert result.ok and done and result.measured["drift_1s_m"] < 0.05, (result, numbers)
