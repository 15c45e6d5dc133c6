"""The learned walker (issue 8): persistence, refusals, the controller, and tiny DAgger and PPO runs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the learned walker needs torch (extra 'learn')")

from policies.learned import DEFAULT_WALKER, make_controller  # noqa: E402
from policies.learned.walker_policy import (  # noqa: E402
    CONFIG_NAME,
    WEIGHTS_NAME,
    LearnedWalkerController,
    WalkerPolicy,
    WalkerPolicyConfig,
    WalkerPolicyError,
)
from policies.train import walker as tw  # noqa: E402
from robot.control.base import LocoCommand  # noqa: E402
from robot.g1 import constants as C  # noqa: E402
from robot.sdk.loco import FsmId, LocoClient, SimRobot  # noqa: E402
from robot.sim.world import World, WorldConfig  # noqa: E402


def _policy(seed: int = 0, **kw: object) -> WalkerPolicy:
    torch.manual_seed(seed)
    p = WalkerPolicy(WalkerPolicyConfig(hidden=[32, 32], **kw))  # type: ignore[arg-type]
    p.set_normalizer(np.linspace(-1, 1, p.config.obs_dim), np.linspace(0.5, 2, p.config.obs_dim))
    return p.eval()


# --- persistence and refusals ----------------------------------------------------------------------------
def test_save_and_load_round_trip_bit_for_bit(tmp_path):
    p = _policy()
    p.save_pretrained(tmp_path / "w")
    q = WalkerPolicy.from_pretrained(tmp_path / "w")
    a, b = p.state_dict(), q.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert q.config == p.config
    x = torch.randn(5, p.config.obs_dim)
    assert torch.equal(p(x), q(x))
    assert sorted(f.name for f in (tmp_path / "w").iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]  # no temp files left


def test_wrong_observation_size_is_refused(tmp_path):
    _policy(obs_dim=47).save_pretrained(tmp_path / "w47")
    with pytest.raises(WalkerPolicyError, match="trained on 47 observations; this caller feeds 50"):
        WalkerPolicy.from_pretrained(tmp_path / "w47", obs_dim=50)
    # A config that claims 50 over weights built for 47: the first layer's shape gives it away.
    cfg = json.loads((tmp_path / "w47" / CONFIG_NAME).read_text())
    cfg["obs_dim"] = 50
    (tmp_path / "w47" / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(WalkerPolicyError, match=r"wrong shapes .*net\.0\.weight \(32, 47\) \(config builds \(32, 50\)\)"):
        WalkerPolicy.from_pretrained(tmp_path / "w47")


def test_bad_folders_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no walker policy folder"):
        WalkerPolicy.from_pretrained(tmp_path / "nowhere")
    _policy().save_pretrained(tmp_path / "w")
    (tmp_path / "w" / WEIGHTS_NAME).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(WalkerPolicyError, match="not a readable safetensors file"):
        WalkerPolicy.from_pretrained(tmp_path / "w")
    _policy().save_pretrained(tmp_path / "v")
    (tmp_path / "v" / CONFIG_NAME).write_text("{not json")
    with pytest.raises(WalkerPolicyError, match="not valid JSON"):
        WalkerPolicy.from_pretrained(tmp_path / "v")
    (tmp_path / "v" / CONFIG_NAME).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(WalkerPolicyError, match="not a walker policy config"):
        WalkerPolicy.from_pretrained(tmp_path / "v")
    with pytest.raises(ValueError, match="no policy"):
        from robot.control.plugins import check_controller, register_controller

        register_controller("learned", lambda path: make_controller(f"learned:{path}"))
        check_controller(f"learned:{tmp_path / 'nowhere'}")


# --- the controller ---------------------------------------------------------------------------------------
def test_controller_runs_the_network_at_50hz_with_the_trained_gains():
    p = _policy(leg_kp=[600.0] * 12, leg_kd=[20.0] * 12)
    ctl = LearnedWalkerController(p)
    world = World(WorldConfig(seed=0))
    try:
        from robot.runs import odometry
        from robot.sdk.bridge import LowLevelBridge

        bridge = LowLevelBridge(world)
        state = bridge.read()
        ctl.reset(state, odometry(world))
        cmd = LocoCommand(vx=0.5)
        targets = []
        for _ in range(30):
            out = ctl.step(state, odometry(world), cmd)
            targets.append(out.q[C.LEG_SLOTS].copy())
        assert np.allclose(out.kp[C.LEG_SLOTS], 600.0) and np.allclose(out.kd[C.LEG_SLOTS], 20.0)
        changes = [i for i in range(1, 30) if not np.array_equal(targets[i], targets[i - 1])]
        assert changes == [10, 20]  # a new action every 10 ticks (50 Hz), held in between
        # The command is ramped at max_accel (1 m/s^2): 0 on the first observation, then 0.02 a step.
        assert ctl.ramped[0] == pytest.approx(2 * 0.02)
        assert ctl.obs.shape == (50,)
    finally:
        world.close()


def test_velocity_loop_trims_the_command_the_policy_sees():
    """Odometry that stands still under a forward command: once a gait period the trim grows by
    velocity_gain x the error, up to its limit, and the policy sees command + trim."""
    from robot.control.base import Odometry

    with pytest.raises(WalkerPolicyError, match="velocity_gain"):
        WalkerPolicyConfig(velocity_gain=2.0)
    with pytest.raises(WalkerPolicyError, match="max_velocity_trim"):
        WalkerPolicyConfig(max_velocity_trim=[0.1, -0.1, 0.0])
    p = _policy(velocity_gain=0.2, max_velocity_trim=[0.1, 0.0, 0.0], gait_period=0.2)
    ctl = LearnedWalkerController(p)
    world = World(WorldConfig(seed=0))
    try:
        from robot.sdk.bridge import LowLevelBridge

        state = LowLevelBridge(world).read()
        still = Odometry()
        ctl.reset(state, still)
        cmd = LocoCommand(vx=0.3)
        trims = []
        for _ in range(10 * 40):  # 40 policy steps, 4 gait periods of 10 steps
            ctl.step(state, still, cmd)
            trims.append(ctl.trim.copy())
        first = next(i for i, t in enumerate(trims) if t[0] != 0.0)
        assert first == 10 * 10  # after the first full gait period
        # The mean ramped command over that period (0.02 a step from 0) times the gain.
        assert trims[first][0] == pytest.approx(0.2 * np.mean([0.02 * k for k in range(1, 11)]))
        assert trims[-1][0] == pytest.approx(0.1) and trims[-1][1] == 0.0 and trims[-1][2] == 0.0
        from robot.control.observation import OBS_SLICES

        seen = ctl.obs[OBS_SLICES["command"]][0] / ctl.obs_cfg.cmd_scale[0]
        assert seen == pytest.approx(0.3 + 0.1, abs=1e-6)  # the policy sees the trimmed command
    finally:
        world.close()


def test_learned_controller_drops_to_damp_on_a_fall():
    # An untrained network cannot walk: the robot falls, and the same detector as the walker's damps it.
    robot = SimRobot(World(WorldConfig(seed=3)), controller=LearnedWalkerController(_policy(seed=1)))
    try:
        client = LocoClient(robot)
        assert client.StandUp() == 0
        robot.sleep(0.5)
        assert client.Start() == 0
        t0 = robot.time
        while robot.time < t0 + 6.0 and not robot.fallen:
            robot.step()
        assert robot.fallen
        robot.sleep(0.5)
        assert robot.fsm == FsmId.DAMP
        assert robot.fall_time is not None and robot.fall_time - t0 < 6.0
    finally:
        robot.close()


@pytest.mark.skipif(not (DEFAULT_WALKER / WEIGHTS_NAME).is_file(), reason="the shipped walker is not in assets")
def test_shipped_learned_walker_walks_forward():
    robot = SimRobot(World(WorldConfig(seed=5)), controller=make_controller("learned"))
    try:
        client = LocoClient(robot)
        client.StandUp()
        robot.sleep(0.5)
        client.Start()
        robot.sleep(1.0)
        x0 = robot.odometry().position[0]
        client.Move(0.4, 0.0, 0.0, continous_move=True)
        robot.sleep(6.0)
        assert not robot.fallen
        assert robot.odometry().position[0] - x0 > 1.2  # 0.4 m/s for 6 s with a 0.4 s ramp: ~2.3 m
    finally:
        robot.close()


# --- training --------------------------------------------------------------------------------------------------
def _tiny(tmp_path, **kw: object) -> tw.Args:
    base = dict(run_dir=str(tmp_path / "run"), rounds=1, first_round_steps=120, steps_per_round=60,
                epochs=1.0, max_grad_steps=5, batch_size=32, hidden="16,16", num_envs=1, eval_episodes=0,
                progress=False, minutes=10.0, ppo_updates=2, ppo_horizon=12, ppo_epochs=1, ppo_minibatches=2,
                critic_warmup=1)
    base.update(kw)
    return tw.Args(**base)  # type: ignore[arg-type]


def test_teacher_labels_keep_the_robot_walking(tmp_path):
    args = _tiny(tmp_path)
    make = tw.make_env(tw.env_kwargs(tw.new_policy(args, "").config, args), 0, teacher=True)
    env = make()
    try:
        obs, info = env.reset(seed=0)
        a = info["teacher_action"]
        assert a.shape == (12,) and np.isfinite(a).all()
        assert obs.shape == (50,)
        # The labels are what the walker would send, in action units: driving with them keeps the robot
        # up through 4 s of random commands, and it moves.
        x0 = env.unwrapped.odometry().position[:2].copy()
        for _ in range(200):
            obs, _, term, _, info = env.step(info["teacher_action"])
            assert not term
        assert np.linalg.norm(env.unwrapped.odometry().position[:2] - x0) > 0.1
    finally:
        env.close()


def test_dagger_tiny_run_checkpoints_and_resumes_with_the_same_optimiser_state(tmp_path):
    args = _tiny(tmp_path)
    ckpt = tw.main(args)
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state["round"] == 2 and state["samples"] > 120
    from safetensors.torch import load_file

    saved = load_file(str(ckpt / "optimizer.safetensors"))
    policy, opt, named, state2, obs, act = tw.dagger_state(dataclasses.replace(args, resume=True), ckpt)
    assert state2 == state and len(obs[0]) == state["samples"]
    restored = tw._optimizer_tensors(opt, named)
    assert saved.keys() == restored.keys() and len(saved) == 3 * len(named)
    for k in saved:
        assert torch.equal(saved[k], restored[k]), k
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        tw.main(args)
    ckpt = tw.main(dataclasses.replace(args, resume=True, rounds=2))
    state3 = json.loads((ckpt / "trainer_state.json").read_text())
    assert state3["round"] == 3 and state3["samples"] > state["samples"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "curve.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    WalkerPolicy.from_pretrained(ckpt / "policy", obs_dim=50)


def test_ppo_tiny_run_from_a_distilled_policy_checkpoints_and_resumes(tmp_path):
    init = tmp_path / "init"
    tw.new_policy(_tiny(tmp_path), "humanoid train walker --method dagger").save_pretrained(init)
    args = _tiny(tmp_path, method="ppo", init=str(init))
    ckpt = tw.main(args)
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state == {"update": 2, "seconds": state["seconds"], "steps": 24}
    p = WalkerPolicy.from_pretrained(ckpt / "policy")
    assert "dagger" in p.config.trained_by and "ppo" in p.config.trained_by
    ckpt = tw.main(dataclasses.replace(args, resume=True, ppo_updates=3))
    assert json.loads((ckpt / "trainer_state.json").read_text())["update"] == 3
