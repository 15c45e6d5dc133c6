"""Gymnasium environments and the task suite (issue 5): the env checker on every id, seeding, NaN-free random
rollouts, vector envs, rewards as named terms, an oracle Command-v0 episode, the suite's splits and data file.

About a minute on two shared cores: Command-v0 episodes are whole skill calls, so only the cheapest (a
wave, about 3 s of simulated time) runs to its end here; `humanoid eval tasks` covers the rest.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.command import CommandEnv
from envs.tasks import NEW_LAYOUT_SEED0, SPLITS, Suite
from envs.walk import REWARD_SCALES, WalkEnv
from robot.control.observation import OBS_SLICES
from robot.g1 import constants as C

IDS = sorted(k for k in gym.registry if k.startswith("openhumanoid/"))


def test_both_ids_are_registered_with_string_entry_points_and_limits() -> None:
    assert IDS == [envs.COMMAND_ID, envs.WALK_ID]
    for env_id, steps in ((envs.WALK_ID, 1000), (envs.COMMAND_ID, 10)):
        spec = gym.spec(env_id)
        assert isinstance(spec.entry_point, str) and spec.max_episode_steps == steps


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped)
        # Walk-v0 keeps Unitree's unnormalised actions (target = default + 0.25 a), so that a policy
        # trained here runs under the unitree-policy controller unchanged; the checker advises [-1, 1].
        other = [str(w.message) for w in caught if "symmetric and normalized" not in str(w.message)]
        assert not other, other
    finally:
        env.close()


# --- Walk-v0 ------------------------------------------------------------------------------------------------
def _rollout(env: gym.Env, seed: int, steps: int = 40) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(7)  # the same actions for every seed
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step((0.3 * rng.standard_normal(12)).astype(np.float32))
        out.append(np.append(obs, reward))
        if terminated or truncated:
            break
    return np.concatenate(out)


def test_walk_same_seed_same_rollout_other_seed_different() -> None:
    env = gym.make(envs.WALK_ID)
    try:
        a = _rollout(env, 3)
        _rollout(env, 11)  # an episode in between must leave no trace
        b = _rollout(env, 3)
        c = _rollout(env, 4)
    finally:
        env.close()
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)


def test_walk_random_rollout_has_no_nan_and_reports_every_reward_term() -> None:
    env = gym.make(envs.WALK_ID)
    env.action_space.seed(0)
    try:
        env.reset(seed=0)
        resets = 0
        for _ in range(200):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert np.isfinite(obs).all() and math.isfinite(reward) and reward >= 0.0  # only_positive_rewards
            terms = {k: v for k, v in info.items() if k.startswith("reward/")}
            assert set(terms) == {f"reward/{k}" for k in REWARD_SCALES}
            assert all(math.isfinite(v) for v in terms.values())
            assert reward == pytest.approx(max(0.0, sum(terms.values())))
            if terminated or truncated:
                env.reset()
                resets += 1
        assert resets > 0  # random leg targets topple the robot: the terminations work
    finally:
        env.close()


def test_walk_reward_terms_follow_their_scales_by_hand() -> None:
    """Zero command, zero actions: the PD holds the default pose, which stands briefly and then topples
    (nothing balances it; measured: over at about 1.6 s). At 0.4 s it still stands."""
    env = WalkEnv(obs_noise=False, heading_command=False, command_ranges={
        "lin_vel_x": (0.0, 0.0), "lin_vel_y": (0.0, 0.0), "ang_vel_yaw": (0.0, 0.0)})
    try:
        obs, _ = env.reset(seed=0)
        np.testing.assert_allclose(obs[OBS_SLICES["command"]], 0.0)
        np.testing.assert_allclose(obs[OBS_SLICES["phase"]], [0.0, 1.0], atol=1e-7)  # the clock starts at 0
        for _ in range(20):
            obs, reward, terminated, _, info = env.step(np.zeros(12, np.float32))
        assert not terminated
        dt = 0.02
        assert info["reward/alive"] == pytest.approx(0.15 * dt)
        assert info["reward/tracking_lin_vel"] > 0.9 * 1.0 * dt  # exp(-v^2 / 0.25) with |v| < 0.16 m/s
        assert info["reward/tracking_ang_vel"] > 0.9 * 0.5 * dt
        assert info["reward/dof_pos_limits"] == 0.0 and info["reward/feet_swing_height"] == 0.0
        # At 0.4 s the left foot is at phase 0.5 and the right at 0.0 of its cycle: both should stand, and do.
        assert info["reward/contact"] == pytest.approx(2 * 0.18 * dt)
        np.testing.assert_allclose(obs[OBS_SLICES["phase"]], [0.0, -1.0], atol=1e-6)
        for _ in range(150):
            _, _, terminated, _, _ = env.step(np.zeros(12, np.float32))
            if terminated:
                break
        assert terminated and (env._pelvis_contact or abs(env._pitch) > 1.0 or abs(env._roll) > 0.8)
    finally:
        env.close()


def test_walk_action_is_a_leg_offset_around_the_default_pose() -> None:
    env = WalkEnv(obs_noise=False)
    try:
        env.reset(seed=0)
        a = np.linspace(-1.0, 1.0, 12).astype(np.float32)
        env.step(a)
        cmd = env._cmd  # noqa: SLF001 - the LowCmd the env wrote
        np.testing.assert_allclose(cmd.q[C.LEG_SLOTS], C.DEFAULT_Q[C.LEG_SLOTS] + 0.25 * a, rtol=1e-6)
        np.testing.assert_allclose(cmd.kp[C.LEG_SLOTS], C.LEG_KP_POLICY)
        np.testing.assert_allclose(cmd.q[C.UPPER_BODY_SLOTS], 0.0)  # held as Unitree's training model welds it
        with pytest.raises(ValueError, match="12 finite"):
            env.step(np.full(12, np.nan, np.float32))
    finally:
        env.close()


def test_walk_domain_randomisation_draws_friction_and_mass_per_reset() -> None:
    import pybullet as pb

    env = WalkEnv(friction_range=(0.2, 1.2), added_mass_range=(-1.0, 3.0), obs_noise=False)
    try:
        seen = set()
        for seed in (0, 1, 0):
            env.reset(seed=seed)
            w = env.world
            ground_mu = pb.getDynamicsInfo(w.ground, -1, physicsClientId=w.client)[1]
            # PyBullet multiplies the two coefficients: the ground's is set so the product is the draw.
            assert ground_mu * w.cfg.foot_friction == pytest.approx(env.friction)
            assert 0.2 <= env.friction <= 1.2 and -1.0 <= env.added_mass <= 3.0
            assert w.robot.total_mass() == pytest.approx(32.11 + env.added_mass, abs=0.05)
            seen.add((seed, round(env.friction, 9), round(env.added_mass, 9)))
        assert len(seen) == 2  # seed 0 twice gives the same draw, seed 1 another
    finally:
        env.close()
    with pytest.raises(ValueError, match="friction_range"):
        WalkEnv(friction_range=(1.0, 0.5))


def test_walk_async_vector_env_steps_both_workers() -> None:
    vec = gym.vector.AsyncVectorEnv([lambda: gym.make(envs.WALK_ID)] * 2)
    try:
        obs, _ = vec.reset(seed=[0, 1])
        assert obs.shape == (2, 47) and not np.array_equal(obs[0], obs[1])
        start = obs.copy()
        for _ in range(5):
            obs, reward, terminated, truncated, info = vec.step(np.zeros((2, 12), np.float32))
        assert reward.shape == (2,) and (obs != start).any(axis=1).all()
        assert info["reward/alive"].shape == (2,)
    finally:
        vec.close()


def test_walk_renders_through_the_follow_camera() -> None:
    env = gym.make(envs.WALK_ID, render_mode="rgb_array")
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (360, 640, 3) and frame.dtype == np.uint8 and frame.std() > 5
    finally:
        env.close()


POLICY = Path(os.environ.get("OPENHUMANOID_UNITREE_POLICY", "")
              or Path(__file__).resolve().parents[1] / ".." / "shared" / "peers" / "unitree_rl_gym" / "g1_motion.pt")


@pytest.mark.skipif(not POLICY.is_file(), reason=f"Unitree's released G1 policy is not at {POLICY}")
def test_unitree_released_policy_walks_in_walk_v0() -> None:
    """The strongest check of the layout: Unitree's own network, fed the env's observation, walks.

    Measured: 0.43 m/s at a 0.5 m/s command over 10 s, mean yaw-rate error 0.11 rad/s.
    """
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = torch.jit.load(str(POLICY))
    env = WalkEnv(obs_noise=False, heading_command=False, command_ranges={
        "lin_vel_x": (0.5, 0.5), "lin_vel_y": (0.0, 0.0), "ang_vel_yaw": (0.0, 0.0)})
    try:
        obs, _ = env.reset(seed=0)
        x0 = float(env.world.robot.base_pos[0])
        for _ in range(200):  # 4 s
            with torch.inference_mode():
                action = policy(torch.from_numpy(obs).unsqueeze(0)).numpy()[0]
            obs, _, terminated, _, info = env.step(action)
            assert not terminated
        assert (env.world.robot.base_pos[0] - x0) / 4.0 > 0.3
        assert info["reward/contact"] > 0.0
    finally:
        env.close()


# --- Command-v0 ---------------------------------------------------------------------------------------------
def test_command_oracle_episode_succeeds_on_a_wave() -> None:
    env = gym.make(envs.COMMAND_ID)
    try:
        obs, info = env.reset(seed=0, options={"task": "wave"})
        assert obs in env.observation_space and "hand" in obs["instruction"]
        episode = env.unwrapped.episode
        obs, reward, terminated, truncated, info = env.step(episode.plan[0].to_json())
        assert (reward, terminated, truncated) == (1.0, True, False)
        assert info["success"] and info["subgoals_completed"] == 1 and not info["fell"]
        # The same seed gives the same episode and the same first frame.
        again, _ = env.reset(seed=0, options={"task": "wave"})
        assert env.unwrapped.episode.instruction == episode.instruction
    finally:
        env.close()


def test_command_reset_seed_is_the_eval_tasks_episode_of_that_seed() -> None:
    """`humanoid eval tasks` runs task T on seed N as `Suite.sample(T, N, split)`; the env's reset with that
    seed and task gives the same episode, so a failure there can be stepped through here."""
    env = CommandEnv(tasks="all")
    try:
        for seed, task, split in ((7, "point_at", "held_out_phrasings"), (12, "go_to+wave", "train")):
            env.reset(seed=seed, options={"task": task, "split": split})
            want = Suite.load().sample(task, seed, split)
            assert env.unwrapped.episode.to_dict() == want.to_dict()
        assert Suite.load().sample("go_to+wave", 13, "train").scene.to_dict() != want.scene.to_dict()
    finally:
        env.close()


def test_command_invalid_calls_move_nothing_and_say_why() -> None:
    env = CommandEnv(tasks="face")
    try:
        obs, _ = env.reset(seed=2)
        q0 = obs["proprioception"].copy()
        obs, reward, terminated, _, info = env.step('{"skill": "fly"}')
        assert reward == 0.0 and not terminated and "unknown skill 'fly'" in info["error"]
        assert np.allclose(obs["proprioception"][:23], q0[:23], atol=0.05)
        _, reward, terminated, _, info = env.step('{"skill": "refuse", "reason": "no"}')
        assert terminated and reward == 0.0 and not info["success"]
    finally:
        env.close()


def test_command_async_vector_env_steps_both_workers() -> None:
    # Text observations need shared_memory=False: gymnasium 1.x reads a Text slot of shared memory once,
    # when the vector env is made, so every later instruction would read back empty.
    vec = gym.vector.AsyncVectorEnv([lambda: gym.make(envs.COMMAND_ID, tasks="face")] * 2, shared_memory=False)
    try:
        obs, _ = vec.reset(seed=[0, 1])
        assert obs["rgb"].shape == (2, 240, 320, 3) and all(s.startswith(("Face", "Turn")) for s in obs["instruction"])
        obs, reward, terminated, _, info = vec.step(('{"skill": "nope"}', '{"skill": "done"}'))
        assert list(terminated) == [False, True] and "unknown skill" in info["error"][0]
    finally:
        vec.close()


# --- the task suite -----------------------------------------------------------------------------------------
SUITE = Suite.load()


def test_suite_has_the_single_skill_tasks_and_chains_of_two_to_five() -> None:
    assert {"go_to", "face", "point_at", "wave", "touch", "push"} <= set(SUITE.tasks)
    lengths = {len(c.steps) for c in SUITE.chains.values()}
    assert min(lengths) == 2 and max(lengths) == 5


@pytest.mark.parametrize("task_id", SUITE.ids)
def test_every_task_draws_the_same_episode_for_a_seed(task_id: str) -> None:
    a, b = SUITE.sample(task_id, 5), SUITE.sample(task_id, 5)
    assert a.to_dict() == b.to_dict()
    assert len(a.subgoals) == len(SUITE.steps(task_id)) and a.instruction.endswith(".")
    assert SUITE.sample(task_id, 6).to_dict() != a.to_dict()


def _targets(ep) -> set[tuple[str, str]]:  # noqa: ANN001
    names = {p["object"] for s in ep.subgoals for p in s.success if "object" in p}
    return {(o.colour, o.shape) for o in ep.scene.objects if o.name in names}


def test_splits_each_change_one_thing() -> None:
    held = SUITE.held_out_combos
    for task_id in ("go_to", "point_at+touch"):
        for seed in range(4):
            train = SUITE.sample(task_id, seed, "train")
            assert train.scene.seed < NEW_LAYOUT_SEED0 and not (_targets(train) & held)
            layouts = SUITE.sample(task_id, seed, "new_layouts")
            assert layouts.scene.seed >= NEW_LAYOUT_SEED0 and not (_targets(layouts) & held)
            combos = SUITE.sample(task_id, seed, "held_out_combos")
            assert combos.scene.seed < NEW_LAYOUT_SEED0 and _targets(combos) <= held
    # Held-out phrasings: no instruction of that split can be made from the training templates.
    train_texts = {SUITE.sample("go_to", s, "train").instruction for s in range(30)}
    test_texts = {SUITE.sample("go_to", s, "held_out_phrasings").instruction for s in range(30)}
    stems = {t.split(" the ")[0] for t in train_texts}
    assert not any(t.split(" the ")[0] in stems for t in test_texts)
    assert set(SPLITS) == {"train", "new_layouts", "held_out_combos", "held_out_phrasings"}


def test_a_user_task_file_adds_tasks_and_bad_ones_name_the_fault(tmp_path: Path) -> None:
    extra = {"tasks": [{"id": "look", "slots": {"object": "floor"}, "call": {"skill": "look_at", "target": {"object": "{object}"}},
                        "success": [{"predicate": "facing", "object": "{object}", "tolerance_deg": 20}],
                        "phrasings": ["look at the {object}"]}],
             "chains": [{"id": "look+wave", "steps": [{"task": "look", "slots": {"object": "A"}}, {"task": "wave"}]}]}
    path = tmp_path / "more.json"
    path.write_text(json.dumps(extra))
    suite = Suite.load(path)
    assert suite.kind("look") == "single" and suite.kind("look+wave") == "chain"
    ep = suite.sample("look+wave", 0)
    assert ep.plan[0].skill == "look_at" and ep.instruction.startswith("Look at the ")
    extra["tasks"][0]["success"][0]["predicate"] = "levitating"
    path.write_text(json.dumps(extra))
    with pytest.raises(ValueError, match=r"tasks\[0\]\.success: predicate 'levitating'"):
        Suite.load(path)
    extra["tasks"][0]["success"][0]["predicate"] = "facing"
    extra["tasks"][0]["call"] = {"skill": "fly"}
    path.write_text(json.dumps(extra))
    with pytest.raises(ValueError, match="unknown skill 'fly'"):
        Suite.load(path)


# --- the eval's scoring (no simulation) ---------------------------------------------------------------------
def test_eval_scores_by_hand() -> None:
    from policies.agent.eval_tasks import OraclePlanner, score
    from policies.planner.base import HistoryItem

    def rec(task: str, kind: str, n: int, done: int, fell: bool = False) -> dict:
        return {"task": task, "kind": kind, "subgoals": n, "completed": done, "success": done == n, "fell": fell,
                "wall_s": 2.0, "sim_s": 4.0}

    eps = [rec("wave", "single", 1, 1), rec("push", "single", 1, 0, fell=True),
           rec("a+b", "chain", 2, 2), rec("a+b+c", "chain", 3, 1), rec("a+b+c", "chain", 3, 0)]
    s = score(eps, ["wave", "push", "a+b", "a+b+c"])
    assert s["success_rate_single"] == 0.5 and s["success_rate_chain"] == pytest.approx(1 / 3)
    assert s["success@1"] == pytest.approx(2 / 3) and s["success@2"] == pytest.approx(1 / 3)
    assert s["success@3"] == 0.0 and s["success@4"] is None
    assert s["avg_chain_length"] == 1.0 and s["falls_per_episode"] == 0.2 and s["success_a+b"] == 1.0

    ep = SUITE.sample("face+point_at", 0)
    oracle = OraclePlanner(ep)
    assert oracle.plan("x") == ep.plan
    assert oracle.plan("x", None, [HistoryItem(ep.plan[0], True)]) == ep.plan[1:]
    assert oracle.plan("x", None, [HistoryItem(ep.plan[0], True), HistoryItem(ep.plan[1], True)])[0].skill == "done"


# --- the commands, as a user runs them -------------------------------------------------------------------
def _humanoid(*args: str) -> "subprocess.CompletedProcess[str]":
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "robot.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])


def test_cli_eval_tasks_and_bench_env_print_json_last(tmp_path: Path) -> None:
    res = _humanoid("eval", "tasks", "--tasks", "wave", "--episodes", "1", "--quiet", "--json",
                    "--runs-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["success_wave"] == 1.0 and out["episodes"] == 1 and out["falls_per_episode"] == 0.0
    assert len((Path(out["run_dir"]) / "episodes.jsonl").read_text().splitlines()) == 1
    res = _humanoid("eval", "tasks", "--tasks", "nope")
    assert res.returncode == 2 and "unknown task 'nope'" in res.stderr and "Traceback" not in res.stderr
    res = _humanoid("bench", "env", "--steps", "6", "--json")
    assert res.returncode == 0, res.stderr
    assert {"env_steps_per_s", "raw_steps_per_s", "overhead_ratio"} <= set(json.loads(res.stdout.splitlines()[-1]))
