"""`humanoid train walker`: a learned walker, distilled from the model-based walker, refined with PPO.

Training a humanoid walker from scratch takes hundreds of millions of steps; two CPU cores give about a
hundred thousand a minute at best. So the model-based walker (robot/control/walker.py) teaches:

- `--method dagger` (Ross et al., 2011, "A Reduction of Imitation Learning and Structured Prediction to
  No-Regret Online Learning"): round 0 lets the teacher walk Walk-v0 and records (observation, teacher
  action) pairs (behaviour cloning); every later round lets the student drive a growing share of the
  episodes (1 - beta_decay^round) while the teacher, running beside it on the same states, labels
  every observation; the student is refit on all the data so far. Episodes carry random commands held
  2-5 s and random pushes, as Unitree trains.
- `--method ppo --init PATH` (Schulman et al., 2017) refines a policy on Walk-v0's rewards. A short PPO of
  our own (GAE, clipped surrogate, value clipping off, a critic warm-up so that an untrained critic does
  not wreck a distilled actor) rather than Stable-Baselines3: the policy must stay our `WalkerPolicy`
  (normaliser inside, `save_pretrained` folder, strict loading), and SB3's policies would need a
  translation layer both ways for about the same number of lines as the algorithm itself.

The teacher runs at the student's rate. At 50 Hz, with the targets held 20 ms, our 125 Hz walker's gains
oscillate (it falls in 5 of 5 episodes); `TEACHER` is the walker retuned for 50 Hz (stiffer damping),
measured stable. Its joint targets and gravity feed-forward torque are folded into one PD target per
joint, exact while no torque limit binds: tau_ff + kp (q - q_m) - kd dq_m = kp (q + tau_ff / kp - q_m) -
kd dq_m.

Both methods roll out on `gymnasium.vector.AsyncVectorEnv` workers, show progress bars, log to
TensorBoard (`RUN_DIR/tb`) and to `RUN_DIR/curve.jsonl`, write a checkpoint every `checkpoint_every`
rounds or updates (policy folder, optimiser state in safetensors, trainer state in JSON, and for DAgger
the aggregated data), each replaced atomically, and `--resume` continues from the last one exactly:
rounds and updates are seeded by their index, so a resumed run makes the same data a whole one would.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from robot.control.base import LocoCommand
from robot.control.walker import Walker, WalkerConfig
from robot.g1 import constants as C

TEACHER = WalkerConfig(
    decimation=10, step_time=0.34, dcm_gain=2.0, dcm_measured_weight=0.1, tilt_gain=-0.33, tilt_rate_gain=0.034,
    tau_position=0.5, tau_velocity=0.5, stop_snap=0.03, stop_snap_steps=1_000_000, idle_bias_decay=0.0,
    walk_push_gap=0.0, change_accel=1.0, plan_envelope=(math.inf, math.inf, math.inf, math.inf),
    recovery_carry_backward=False, recovery_carry_forward=1.0, walk_out_step_time=0.0, recovery_decel=0.5,
    kp_leg=(645.0, 645.0, 405.0, 810.0, 520.0, 345.0), kd_leg=(23.0, 23.0, 14.5, 29.0, 14.5, 11.5))
"""The model-based walker retuned to update at 50 Hz, one update per policy step (a random search over
gains, step time and feedback, 8 random-command episodes of 20 s each: 0 falls, vx error 0.080 m/s, where
the 125 Hz tuning at 50 Hz falls in every episode). The damping is 2.9x the 125 Hz walker's: with targets
held 20 ms, less rings. The reference time constants, the stop snap, the velocity trim's decay and
envelope (none), the ramp between commands (1 m/s^2), the walking push recovery and its quick step out
(off) and the standing one (forward and sideways pushes carried, slowing at 0.5 m/s^2) are pinned at the
values it was searched and the shipped walker distilled with; the 125 Hz walker's defaults have
since moved."""

COMMAND_RANGES = {"vx": (-0.5, 0.8), "vy": (-0.3, 0.3), "vyaw": (-0.8, 0.8)}
"""Commands drawn in training: the LocoClient's limits, trimmed where the teacher itself degrades
(forward 0.8 m/s errs 0.11, turning 1.0 rad/s falls)."""


@dataclass(frozen=True)
class Args:
    """Arguments of `humanoid train walker`."""

    method: str = "dagger"
    """dagger (distil the model-based walker) or ppo (refine a policy on Walk-v0's rewards)."""
    run_dir: str = "runs/train-walker"
    """Folder for checkpoints, data and TensorBoard logs."""
    resume: bool = False
    """Continue the run in --run-dir from its last checkpoint (else the folder must hold none)."""
    init: str = ""
    """PPO: the policy folder to start from (a distilled walker); empty starts from random weights."""
    out: str = ""
    """Also export the final policy here (a policy folder with a model card); empty skips it."""
    minutes: float = 30.0
    """Wall-clock budget; the run stops after the round or update that passes it."""
    rounds: int = 8
    """DAgger rounds after round 0 (the teacher's behaviour cloning)."""
    first_round_steps: int = 40000
    """Policy steps (all workers together) in round 0."""
    steps_per_round: int = 20000
    """Policy steps in each later round."""
    beta_decay: float = 0.9
    """In round r the teacher acts at each step with probability beta_decay ** r, the student otherwise
    (DAgger's mixture policy; per step, so the states stay near the teacher's and its labels consistent:
    with whole student-driven episodes the teacher's internal plan, which the student cannot see, drifted
    from the body and the next fit got worse)."""
    action_noise: float = 0.02
    """Gaussian noise (action units; 0.02 is 0.005 rad) added to the teacher's actions when it drives, so
    the data shows recoveries from small errors (DART, Laskey et al., 2017)."""
    label_clip: float = 4.0
    """Teacher labels are clipped to +/- this (action units: 1 rad of PD target offset)."""
    huber_delta: float = 0.5
    """The fit's loss is squared below this error (action units) and linear above."""
    drop_before_fall_s: float = 0.5
    """Samples from this long before a fall are not kept."""
    epochs: float = 30.0
    """Passes over the aggregated data per round (at most `max_grad_steps`)."""
    max_grad_steps: int = 4000
    """Cap on optimiser steps per round."""
    batch_size: int = 1024
    """Samples per optimiser step."""
    lr: float = 1e-3
    """Adam learning rate (DAgger)."""
    hidden: str = "256,256"
    """Hidden layer sizes of the MLP."""
    num_envs: int = 2
    """Worker processes (one per core)."""
    push_interval_s: float = 4.0
    """A random push every this many seconds (0: none)."""
    max_push_vel: float = 0.15
    """Push size: the pelvis gets up to this velocity change per axis, m/s (0.15 is 4.8 N s)."""
    ppo_updates: int = 200
    """PPO: most updates (each `ppo_horizon` steps per worker)."""
    ppo_horizon: int = 256
    """PPO: steps per worker per update."""
    ppo_epochs: int = 5
    """PPO: passes over each batch."""
    ppo_minibatches: int = 4
    """PPO: minibatches per pass."""
    ppo_lr: float = 1e-4
    """PPO: Adam learning rate of the critic."""
    ppo_actor_lr: float = 2e-6
    """PPO: Adam learning rate of the actor. Tiny, because its exploration noise is: with a standard
    deviation of 0.03 the KL of a 1e-4 step was 1-2 (target 0.02) and the walker fell in every episode."""
    gamma: float = 0.99
    """PPO: discount."""
    gae_lambda: float = 0.95
    """PPO: GAE lambda."""
    clip: float = 0.2
    """PPO: ratio clip."""
    ppo_log_std: float = -3.5
    """PPO: log standard deviation of the exploration noise at the start (action units; -3.5 is 0.03, or
    0.008 rad: at the distilled walker's stiff gains the policy's own -1.5 fell in 3 of 3 episodes)."""
    ppo_segment: int = 8
    """PPO: updates that share their workers (8 x 256 steps is 41 s, two 20 s episodes per worker);
    workers restart, seeded, at each segment, and PPO checkpoints fall on segment ends."""
    target_kl: float = 0.02
    """PPO: an update stops its passes once the approximate KL divergence passes 1.5x this."""
    critic_warmup: int = 10
    """PPO: updates that train only the critic before the actor moves."""
    checkpoint_every: int = 1
    """Rounds (DAgger) or segments (PPO) between checkpoints."""
    eval_episodes: int = 6
    """Student-only episodes (20 s) at the end of each DAgger round, for the curve; 0 skips them."""
    seed: int = 0
    """Seed of the workers, the commands and the initial weights."""
    threads: int = 1
    """torch CPU threads of the learner."""
    progress: bool = True
    """Show progress bars."""


# --- the environment the walker is trained in --------------------------------------------------------------
def env_kwargs(policy_cfg: Any, args: Args) -> dict[str, Any]:
    """Walk-v0 for a policy config: its gains, clock and observation; commands set by `RandomCommands`."""
    return {**policy_cfg.env_kwargs(), "heading_command": False, "resampling_time": 1e9,
            "push_interval_s": args.push_interval_s or None, "max_push_vel": args.max_push_vel,
            "reset_joint_scale": (0.9, 1.1)}


class RandomCommands(gym.Wrapper):
    """Holds a random command for 2-5 s, then draws another: a fifth each of forward/backward only,
    sideways only, turning only, standing (stepping in place), and a mix of all three (as `bench walk`)."""

    def __init__(self, env: gym.Env, seed: int) -> None:
        super().__init__(env)
        self._rng = np.random.default_rng(seed)
        self._left = 0

    def _draw(self) -> None:
        rng, r = self._rng, COMMAND_RANGES
        kind = int(rng.integers(5))
        vx = float(rng.uniform(*r["vx"])) if kind in (0, 4) else 0.0
        vy = float(rng.uniform(*r["vy"])) if kind in (1, 4) else 0.0
        vyaw = float(rng.uniform(*r["vyaw"])) if kind in (2, 4) else 0.0
        self.env.unwrapped.set_command(vx, vy, vyaw)  # type: ignore[attr-defined]
        self._left = int(rng.integers(100, 251))  # 2-5 s of 20 ms steps

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._draw()
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        out = self.env.step(action)
        self._left -= 1
        if self._left <= 0:
            self._draw()
        return out


class TeacherLabels(gym.Wrapper):
    """Runs the model-based walker beside the policy on the same states; `info["teacher_action"]` is
    what it would do now, in the policy's action space. Continuous stepping (walking=True), first swing
    fixed by a zero command at reset, so its gait follows the observation's clock exactly."""

    def __init__(self, env: gym.Env, teacher: WalkerConfig = TEACHER) -> None:
        super().__init__(env)
        u = env.unwrapped
        self._teacher_cfg = teacher
        self._default = C.DEFAULT_Q[C.LEG_SLOTS].copy()
        self._scale = float(u.action_scale)  # type: ignore[attr-defined]
        kp = u._cmd.kp[C.LEG_SLOTS]  # type: ignore[attr-defined]
        if not np.allclose(kp, teacher.kp_leg * 2) or not np.allclose(u._cmd.kd[C.LEG_SLOTS], teacher.kd_leg * 2):  # type: ignore[attr-defined]
            raise ValueError("the environment's leg gains must be the teacher's (build it with the teacher's)")
        self._kp = kp.copy()
        self.teacher: Walker | None = None

    def _label(self) -> np.ndarray:
        u = self.env.unwrapped
        c = u.commands  # type: ignore[attr-defined]
        cmd = self.teacher.update(u.low_state, u.odometry(),  # type: ignore[union-attr,attr-defined]
                                  LocoCommand(vx=float(c[0]), vy=float(c[1]), vyaw=float(c[2]), walking=True))
        legs = C.LEG_SLOTS
        q = cmd.q[legs] + (cmd.tau[legs] + cmd.kd[legs] * cmd.dq[legs]) / self._kp
        return ((q - self._default) / self._scale).astype(np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        u = self.env.unwrapped
        self.teacher = Walker(self._teacher_cfg)
        self.teacher.reset(u.low_state, u.odometry())  # type: ignore[attr-defined]
        info["teacher_action"] = self._label()
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["teacher_action"] = self._label()
        return obs, reward, terminated, truncated, info


def make_env(kwargs: dict[str, Any], seed: int, teacher: bool) -> Any:
    """A worker's environment factory (module level, so AsyncVectorEnv can pickle it)."""

    def build() -> gym.Env:
        import envs  # noqa: F401 - registers the ids

        env = gym.make("openhumanoid/Walk-v0", disable_env_checker=True, **kwargs)
        env = RandomCommands(env, seed)
        if teacher:
            env = TeacherLabels(env)
        return env

    return build


def vector_env(kwargs: dict[str, Any], seed: int, n: int, teacher: bool) -> gym.vector.VectorEnv:
    fns = [make_env(kwargs, seed * 1000 + i, teacher) for i in range(n)]
    if n == 1:
        return gym.vector.SyncVectorEnv(fns)
    return gym.vector.AsyncVectorEnv(fns, context="fork")


# --- checkpoints --------------------------------------------------------------------------------------------
def _optimizer_tensors(opt: Any, named: list[tuple[str, Any]]) -> dict[str, Any]:
    """Adam's state by parameter name (safetensors, not a pickle)."""
    import torch

    out = {}
    for name, p in named:
        st = opt.state.get(p)
        if st:
            out[f"{name}::exp_avg"] = st["exp_avg"].contiguous().clone()
            out[f"{name}::exp_avg_sq"] = st["exp_avg_sq"].contiguous().clone()
            out[f"{name}::step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1).clone()
    return out


def _load_optimizer(opt: Any, named: list[tuple[str, Any]], tensors: dict[str, Any]) -> None:
    import torch

    for name, p in named:
        if f"{name}::exp_avg" in tensors:
            opt.state[p] = {"exp_avg": tensors[f"{name}::exp_avg"].clone(),
                            "exp_avg_sq": tensors[f"{name}::exp_avg_sq"].clone(),
                            "step": torch.tensor(float(tensors[f"{name}::step"][0]))}


def save_checkpoint(run: Path, write: Any) -> Path:
    """`write(folder)` fills a fresh folder, which then replaces `run/checkpoint` in two renames, so a
    kill at any moment leaves either the old checkpoint or the new one (`checkpoint.old` in between)."""
    final, tmp, old = run / "checkpoint", run / "checkpoint.tmp", run / "checkpoint.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_dir(run: Path) -> Path | None:
    """The last complete checkpoint of a run (after a kill between the renames, the old one)."""
    for name in ("checkpoint", "checkpoint.old"):
        if (run / name / "trainer_state.json").is_file():
            return run / name
    return None


def _prepare_run(args: Args) -> tuple[Path, Path | None]:
    run = Path(args.run_dir)
    ckpt = checkpoint_dir(run)
    if ckpt is not None and not args.resume:
        raise ValueError(f"{run} already holds a checkpoint: pass --resume to continue it, or another --run-dir")
    if args.resume and ckpt is None:
        raise ValueError(f"--resume: no checkpoint in {run}")
    run.mkdir(parents=True, exist_ok=True)
    (run / "args.json").write_text(json.dumps(dataclasses.asdict(args), indent=2) + "\n")
    return run, ckpt


def _log(run: Path, writer: Any, row: dict[str, Any], step: int) -> None:
    with open(run / "curve.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    for k, v in row.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and k != "round":
            writer.add_scalar(k, v, step)
    writer.flush()


class _Episodes:
    """Per-worker episode bookkeeping over a vector env in next-step autoreset mode."""

    def __init__(self, n: int) -> None:
        self.ret = np.zeros(n)
        self.len = np.zeros(n, dtype=int)
        self.err = [[] for _ in range(n)]
        self.done_prev = np.zeros(n, dtype=bool)
        self.finished: list[dict[str, Any]] = []

    def update(self, reward: np.ndarray, term: np.ndarray, trunc: np.ndarray, info: dict[str, Any]) -> None:
        live = ~self.done_prev  # a step right after an episode's end only resets that worker
        self.ret[live] += reward[live]
        self.len[live] += 1
        if "velocity" in info:
            for i in np.flatnonzero(live & info.get("_velocity", live)):
                if self.len[i] > 50:  # after 1 s of settling
                    self.err[i].append(np.abs(info["velocity"][i] - info["command"][i]))
        done = (term | trunc) & live
        for i in np.flatnonzero(done):
            e = np.mean(self.err[i], axis=0) if self.err[i] else np.full(3, np.nan)
            self.finished.append({"fell": bool(term[i]), "ret": float(self.ret[i]), "len": int(self.len[i]), "err": e})
            self.ret[i], self.len[i], self.err[i] = 0.0, 0, []
        self.done_prev = done


def _stats(eps: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    if not eps:
        return {}
    err = np.nanmean(np.array([e["err"] for e in eps]), axis=0) if any(np.isfinite(e["err"]).all() for e in eps) \
        else np.full(3, np.nan)
    n = len(eps)
    return {f"{prefix}/episodes": n, f"{prefix}/falls_per_episode": sum(e["fell"] for e in eps) / n,
            f"{prefix}/return_per_step": sum(e["ret"] for e in eps) / max(1, sum(e["len"] for e in eps)),
            f"{prefix}/mean_length_s": 0.02 * sum(e["len"] for e in eps) / n,
            f"{prefix}/err_vx": float(err[0]), f"{prefix}/err_vy": float(err[1]), f"{prefix}/err_yaw": float(err[2])}


# --- DAgger ---------------------------------------------------------------------------------------------------
def new_policy(args: Args, trained_by: str) -> Any:
    """A fresh student for the teacher's deployment: its gains, gait clock and command ramp."""
    import torch

    from policies.learned.walker_policy import WalkerPolicy, WalkerPolicyConfig

    torch.manual_seed(args.seed)
    return WalkerPolicy(WalkerPolicyConfig(
        hidden=[int(h) for h in args.hidden.split(",") if h.strip()], gait_period=2 * TEACHER.step_time,
        leg_kp=list(TEACHER.kp_leg * 2), leg_kd=list(TEACHER.kd_leg * 2), max_accel=TEACHER.max_accel,
        ignore_terms=["last_action"], trained_by=trained_by,
        # Deployment: a forward-velocity loop around the policy, in place of the teacher's own (measured
        # on the shipped policy, 16 episodes: vx error 0.057 -> 0.040 m/s, no falls; trimming vy and yaw
        # too, or a gain of 0.3-0.5 with wider limits, did worse or fell).
        velocity_gain=0.2, max_velocity_trim=[0.1, 0.0, 0.0]))


def dagger_state(args: Args, ckpt: Path | None) -> tuple[Any, Any, list, dict[str, Any], list, list]:
    """(policy, optimiser, its parameters by name, trainer state, observations, labels): fresh, or as
    the checkpoint left them."""
    import torch
    from safetensors.torch import load_file

    from policies.learned.walker_policy import WalkerPolicy

    if ckpt is not None:
        policy = WalkerPolicy.from_pretrained(ckpt / "policy")
        state = json.loads((ckpt / "trainer_state.json").read_text())
        data = np.load(ckpt / "data.npz")
        obs_all, act_all = [data["obs"]], [data["act"]]
    else:
        policy = new_policy(args, "humanoid train walker --method dagger")
        state = {"round": 0, "seconds": 0.0, "grad_steps": 0, "samples": 0}
        obs_all, act_all = [], []
    opt = torch.optim.Adam(policy.net.parameters(), lr=args.lr)
    named = list(policy.net.named_parameters())
    if ckpt is not None:
        _load_optimizer(opt, named, load_file(str(ckpt / "optimizer.safetensors")))
    return policy, opt, named, state, obs_all, act_all


def dagger(args: Args) -> Path:
    import torch
    from safetensors.torch import save_file
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    torch.set_num_threads(args.threads)
    run, ckpt = _prepare_run(args)
    policy, opt, named, state, obs_all, act_all = dagger_state(args, ckpt)
    kwargs = env_kwargs(policy.config, args)
    writer = SummaryWriter(str(run / "tb"))
    budget = args.minutes * 60.0
    spent = float(state["seconds"])
    total_rounds = args.rounds + 1
    bar = tqdm(total=total_rounds, initial=state["round"], desc="dagger", unit="round", disable=not args.progress)
    while state["round"] < total_rounds and spent < budget:
        t0 = time.time()
        r = int(state["round"])
        beta = args.beta_decay ** r
        steps = args.first_round_steps if r == 0 else args.steps_per_round
        obs_r, act_r, eps = _collect(policy, kwargs, args, seed=args.seed * 7919 + r, steps=steps, beta=beta,
                                     progress=args.progress, desc=f"round {r} rollouts (beta {beta:.2f})")
        obs_all.append(obs_r)
        act_all.append(act_r)
        X = np.concatenate(obs_all)
        Y = np.concatenate(act_all)
        obs_all, act_all = [X], [Y]
        if r == 0 and ckpt is None:
            policy.set_normalizer(X.mean(0), X.std(0))
        loss = _fit(policy, opt, X, Y, args, seed=args.seed * 104729 + r)
        n_grad = min(args.max_grad_steps, max(1, int(args.epochs * len(X) / args.batch_size)))
        evals = _evaluate(policy, kwargs, args, seed=10_000 + r) if args.eval_episodes else []
        spent += time.time() - t0
        state = {"round": r + 1, "seconds": spent, "grad_steps": int(state["grad_steps"]) + n_grad,
                 "samples": int(len(X))}
        row = {"round": r, "beta": beta, "wall_s": round(spent, 1), "samples": int(len(X)), "loss": loss,
               **_stats(eps, "rollout"), **_stats(evals, "eval")}
        _log(run, writer, row, r)
        policy.save_pretrained(run / "rounds" / f"round-{r:02d}")  # 0.3 MB each: any round can be benched
        if evals:
            score = (-row["eval/falls_per_episode"], row["eval/return_per_step"])
            best = json.loads((run / "best" / "score.json").read_text()) if (run / "best" / "score.json").exists() else None
            if best is None or tuple(score) > tuple(best["score"]):
                policy.save_pretrained(run / "best")
                (run / "best" / "score.json").write_text(json.dumps({"round": r, "score": list(score)}) + "\n")
        bar.update(1)
        bar.set_postfix_str(f"loss {loss:.4f} falls/ep {row.get('eval/falls_per_episode', float('nan')):.2f}")
        if (r + 1) % args.checkpoint_every == 0 or state["round"] >= total_rounds or spent >= budget:
            def write(folder: Path, X: np.ndarray = X, Y: np.ndarray = Y, state: dict = state) -> None:
                policy.save_pretrained(folder / "policy")
                save_file(_optimizer_tensors(opt, named), str(folder / "optimizer.safetensors"))
                np.savez(folder / "data.npz", obs=X, act=Y)
                (folder / "trainer_state.json").write_text(json.dumps(state) + "\n")

            save_checkpoint(run, write)
    bar.close()
    writer.close()
    if args.out:
        export(run, Path(args.out))
    return run / "checkpoint"


def _collect(policy: Any, kwargs: dict[str, Any], args: Args, seed: int, steps: int, beta: float,
             progress: bool, desc: str) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Roll out `steps` policy steps on fresh workers under DAgger's mixture policy: at every step the
    teacher acts with probability `beta`, else the student. Observations are recorded with the teacher's label, except
    those of the last `drop_before_fall_s` before a fall: there the teacher cannot recover either, and its
    labels (inverse kinematics for a body already going down) are large and useless."""
    import torch
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    n = args.num_envs
    envs = vector_env(kwargs, seed, n, teacher=True)
    obs_out, act_out, keep = [], [], []
    recent: list[list[int]] = [[] for _ in range(n)]  # indices into keep of each worker's episode
    drop = round(args.drop_before_fall_s / 0.02)
    book = _Episodes(n)
    try:
        obs, info = envs.reset(seed=[seed * 100 + i for i in range(n)])
        record = np.ones(n, dtype=bool)
        bar = tqdm(total=steps, desc=desc, leave=False, disable=not progress, unit="step")
        for _ in range(0, steps, n):
            label = np.clip(np.asarray(info["teacher_action"], dtype=np.float32), -args.label_clip, args.label_clip)
            for i in np.flatnonzero(record):
                recent[i].append(len(keep))
                keep.append(True)
                obs_out.append(obs[i])
                act_out.append(label[i])
            with torch.no_grad():
                student = policy(torch.from_numpy(np.asarray(obs, dtype=np.float32))).numpy()
            noisy = label + rng.normal(0.0, args.action_noise, label.shape).astype(np.float32)
            teacher_drives = rng.random(n) < beta
            action = np.where(teacher_drives[:, None], noisy, student)
            obs, reward, term, trunc, info = envs.step(action)
            book.update(reward, term, trunc, info)
            # The observation a fall returns is not worth a label; the next one is a reset.
            record = ~term
            for i in np.flatnonzero(term):
                for j in recent[i][-drop:]:
                    keep[j] = False
            for i in np.flatnonzero(book.done_prev):
                recent[i] = []
            bar.update(n)
        bar.close()
    finally:
        envs.close()
    k = np.asarray(keep)
    return np.asarray(obs_out, dtype=np.float32)[k], np.asarray(act_out, dtype=np.float32)[k], book.finished


def _evaluate(policy: Any, kwargs: dict[str, Any], args: Args, seed: int) -> list[dict[str, Any]]:
    """`eval_episodes` student-only episodes of up to 20 s (no teacher, no labels)."""
    import torch

    n = min(args.num_envs, args.eval_episodes)
    envs = vector_env(kwargs, seed, n, teacher=False)
    book = _Episodes(n)
    try:
        obs, _ = envs.reset(seed=[seed * 100 + i for i in range(n)])
        while len(book.finished) < args.eval_episodes:
            with torch.no_grad():
                action = policy(torch.from_numpy(np.asarray(obs, dtype=np.float32))).numpy()
            obs, reward, term, trunc, info = envs.step(action)
            book.update(reward, term, trunc, info)
    finally:
        envs.close()
    return book.finished[:args.eval_episodes]


def _fit(policy: Any, opt: Any, X: np.ndarray, Y: np.ndarray, args: Args, seed: int) -> float:
    """Huber loss on the teacher's actions (squared below `huber_delta`, so a rare wild label cannot
    dominate the fit); returns the last 100 steps' mean loss."""
    import torch

    g = np.random.default_rng(seed)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    steps = min(args.max_grad_steps, max(1, int(args.epochs * len(X) / args.batch_size)))
    losses = []
    policy.train()
    for _ in range(steps):
        idx = torch.from_numpy(g.integers(0, len(X), min(args.batch_size, len(X))))
        loss = torch.nn.functional.huber_loss(policy(Xt[idx]), Yt[idx], delta=args.huber_delta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    policy.eval()
    return float(np.mean(losses[-100:]))


# --- PPO --------------------------------------------------------------------------------------------------------
def ppo(args: Args) -> Path:
    import torch
    from safetensors.torch import load_file, save_file
    from torch import nn
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from policies.learned.walker_policy import WalkerPolicy

    torch.set_num_threads(args.threads)
    run, ckpt = _prepare_run(args)
    if ckpt is not None:
        actor = WalkerPolicy.from_pretrained(ckpt / "policy")
        state = json.loads((ckpt / "trainer_state.json").read_text())
    else:
        actor = WalkerPolicy.from_pretrained(args.init) if args.init else new_policy(args, "")
        state = {"update": 0, "seconds": 0.0, "steps": 0}
        with torch.no_grad():
            actor.log_std.fill_(args.ppo_log_std)
        done = actor.config.trained_by
        actor.config.trained_by = f"{done}; then humanoid train walker --method ppo" if done else \
            "humanoid train walker --method ppo"
    obs_dim = actor.config.obs_dim
    torch.manual_seed(args.seed + 1)
    critic = nn.Sequential(nn.Linear(obs_dim, 256), nn.ELU(), nn.Linear(256, 256), nn.ELU(), nn.Linear(256, 1))
    if ckpt is not None:
        critic.load_state_dict(load_file(str(ckpt / "critic.safetensors")))
    named = [(f"actor.{k}", v) for k, v in actor.named_parameters()] + \
        [(f"critic.{k}", v) for k, v in critic.named_parameters()]
    opt = torch.optim.Adam([{"params": list(actor.parameters()), "lr": args.ppo_actor_lr},
                            {"params": list(critic.parameters()), "lr": args.ppo_lr}])
    if ckpt is not None:
        _load_optimizer(opt, named, load_file(str(ckpt / "optimizer.safetensors")))
    kwargs = env_kwargs(actor.config, args)
    writer = SummaryWriter(str(run / "tb"))
    budget, spent = args.minutes * 60.0, float(state["seconds"])
    n, H = args.num_envs, args.ppo_horizon
    u = int(state["update"])
    bar = tqdm(total=args.ppo_updates, initial=u, desc="ppo", unit="update", disable=not args.progress)
    envs = None
    try:
        seg = max(1, args.ppo_segment)
        # The budget is checked at segment ends only, so a run stops where a resumed one starts.
        while u < args.ppo_updates and (spent < budget or u % seg != 0):
            t0 = time.time()
            if envs is None or u % seg == 0:
                # Fresh workers seeded by the segment's index: a resumed run makes the same rollouts.
                if envs is not None:
                    envs.close()
                k = u // seg
                envs = vector_env(kwargs, args.seed * 7919 + 100_000 + k, n, teacher=False)
                obs, _ = envs.reset(seed=[(args.seed * 7919 + k) * 100 + i for i in range(n)])
                book = _Episodes(n)
            book.finished = []
            gen = torch.Generator().manual_seed(args.seed * 104729 + u)
            O = np.zeros((H, n, obs_dim), np.float32)
            A = np.zeros((H, n, actor.config.act_dim), np.float32)
            LP, R, D, V, T = (np.zeros((H, n), np.float32) for _ in range(5))
            last_obs = None
            for t in range(H):
                o = torch.from_numpy(np.asarray(obs, dtype=np.float32))
                with torch.no_grad():
                    mean = actor(o)
                    std = actor.log_std.exp().expand_as(mean)
                    a = mean + std * torch.randn(mean.shape, generator=gen)
                    lp = torch.distributions.Normal(mean, std).log_prob(a).sum(-1)
                    v = critic((o - actor.obs_mean) / actor.obs_std).squeeze(-1)
                O[t], A[t], LP[t], V[t] = o.numpy(), a.numpy(), lp.numpy(), v.numpy()
                mask = book.done_prev.copy()  # this step only resets these workers: no sample
                obs, reward, term, trunc, info = envs.step(a.numpy())
                book.update(reward, term, trunc, info)
                R[t] = np.where(mask, 0.0, reward)
                D[t] = (term | trunc) & ~mask
                T[t] = ~mask
                # A time-limit end is not a failure: bootstrap it with the value of where it stopped.
                if np.any(trunc & ~term & ~mask):
                    with torch.no_grad():
                        vb = critic((torch.from_numpy(np.asarray(obs, dtype=np.float32)) - actor.obs_mean)
                                    / actor.obs_std).squeeze(-1).numpy()
                    R[t] += np.where(trunc & ~term & ~mask, args.gamma * vb, 0.0)
                last_obs = obs
            with torch.no_grad():
                v_last = critic((torch.from_numpy(np.asarray(last_obs, dtype=np.float32)) - actor.obs_mean)
                                / actor.obs_std).squeeze(-1).numpy()
            adv = np.zeros((H, n), np.float32)
            gae = np.zeros(n, np.float32)
            for t in reversed(range(H)):
                nv = v_last if t == H - 1 else V[t + 1]
                nonterm = 1.0 - D[t]
                delta = R[t] + args.gamma * nv * nonterm - V[t]
                gae = delta + args.gamma * args.gae_lambda * nonterm * gae
                gae = np.where(T[t] > 0, gae, 0.0)
                adv[t] = gae
            ret = adv + V
            keep = T.reshape(-1) > 0
            bo = torch.from_numpy(O.reshape(H * n, -1)[keep])
            ba = torch.from_numpy(A.reshape(H * n, -1)[keep])
            blp = torch.from_numpy(LP.reshape(-1)[keep])
            badv = torch.from_numpy(adv.reshape(-1)[keep])
            badv = (badv - badv.mean()) / (badv.std() + 1e-8)
            bret = torch.from_numpy(ret.reshape(-1)[keep])
            actor_on = u >= args.critic_warmup
            m = len(bo)
            mb = max(1, m // args.ppo_minibatches)
            kl = 0.0
            for _ in range(args.ppo_epochs):
                if kl > 1.5 * args.target_kl:
                    break  # the policy moved as far as one batch justifies (early stop on KL)
                perm = torch.randperm(m, generator=gen)
                for s in range(0, m, mb):
                    idx = perm[s:s + mb]
                    v = critic((bo[idx] - actor.obs_mean) / actor.obs_std).squeeze(-1)
                    loss = 0.5 * ((v - bret[idx]) ** 2).mean()
                    if actor_on:
                        mean = actor(bo[idx])
                        dist = torch.distributions.Normal(mean, actor.log_std.exp().expand_as(mean))
                        lp = dist.log_prob(ba[idx]).sum(-1)
                        ratio = (lp - blp[idx]).exp()
                        a_ = badv[idx]
                        pg = -torch.min(ratio * a_, ratio.clamp(1 - args.clip, 1 + args.clip) * a_).mean()
                        loss = loss + pg
                        kl = float((blp[idx] - lp).mean().detach())
                        if kl > 1.5 * args.target_kl:
                            break
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_([p for _, p in named], 1.0)
                    opt.step()
            spent += time.time() - t0
            u += 1
            state = {"update": u, "seconds": spent, "steps": int(state["steps"]) + H * n}
            row = {"update": u, "wall_s": round(spent, 1), "steps": state["steps"], "approx_kl": kl,
                   "actor_on": actor_on, "value_loss": float(0.5 * ((torch.from_numpy(V.reshape(-1)[keep])
                                                                      - bret) ** 2).mean()),
                   "mean_reward": float(R.reshape(-1)[keep].mean()), **_stats(book.finished, "rollout")}
            _log(run, writer, row, u)
            bar.update(1)
            if (u % seg == 0 and (u // seg) % args.checkpoint_every == 0) or u >= args.ppo_updates:
                def write(folder: Path, state: dict = state) -> None:
                    actor.save_pretrained(folder / "policy")
                    save_file({k: v.detach().contiguous().clone() for k, v in critic.state_dict().items()},
                              str(folder / "critic.safetensors"))
                    save_file(_optimizer_tensors(opt, named), str(folder / "optimizer.safetensors"))
                    (folder / "trainer_state.json").write_text(json.dumps(state) + "\n")

                save_checkpoint(run, write)
    finally:
        if envs is not None:
            envs.close()
        bar.close()
        writer.close()
    if args.out:
        export(run, Path(args.out))
    return run / "checkpoint"


# --- export -----------------------------------------------------------------------------------------------------
def export(run: Path, out: Path) -> Path:
    """Copy the run's policy to `out` with its training curve and a model card: the round that did best
    in its student-only evaluation (`RUN_DIR/best`, fewest falls, then most return) if there is one, else
    the last checkpoint's."""
    from policies.learned.walker_policy import WalkerPolicy

    ckpt = checkpoint_dir(run)
    if ckpt is None:
        raise ValueError(f"{run} holds no checkpoint to export")
    src = run / "best" if (run / "best" / "score.json").exists() else ckpt / "policy"
    policy = WalkerPolicy.from_pretrained(src)
    policy.save_pretrained(out)
    if (run / "curve.jsonl").exists():
        shutil.copy(run / "curve.jsonl", out / "curve.jsonl")
    from policies.train.walker_card import write_card

    note = None
    if src.name == "best":
        r = json.loads((src / "score.json").read_text())["round"]
        note = f"Exported: round {r}, the best of the run's student-only evaluations."
    write_card(out, note=note)
    return out


def main(args: Args) -> Path:
    if args.method not in ("dagger", "ppo"):
        raise ValueError(f"--method must be dagger or ppo, got {args.method!r}")
    if args.init and args.method != "ppo":
        raise ValueError("--init starts PPO from a policy; DAgger starts from its teacher")
    if args.init and not Path(args.init).is_dir():
        raise ValueError(f"--init: no policy folder at {args.init}")
    return dagger(args) if args.method == "dagger" else ppo(args)


def parse_args(argv: list[str] | None = None) -> Args:
    from policies.train.args import parse_dataclass_args

    from robot.argtypes import non_negative_float, non_negative_int, positive_float, positive_int, unit_float

    types = {**dict.fromkeys(("rounds", "first_round_steps", "steps_per_round", "max_grad_steps", "batch_size",
                              "num_envs", "ppo_updates", "ppo_horizon", "ppo_epochs", "ppo_minibatches",
                              "ppo_segment", "checkpoint_every", "eval_episodes", "threads"), positive_int),
             **dict.fromkeys(("minutes", "epochs", "lr", "ppo_lr", "label_clip", "huber_delta", "clip", "target_kl"),
                             positive_float),
             **dict.fromkeys(("critic_warmup", "seed"), non_negative_int),
             **dict.fromkeys(("action_noise", "drop_before_fall_s", "push_interval_s", "max_push_vel",
                              "ppo_actor_lr"), non_negative_float),
             **dict.fromkeys(("beta_decay", "gamma", "gae_lambda"), unit_float)}
    what = __doc__.split("\n\n")[0].removeprefix("`humanoid train walker`: ")  # the usage line names the command
    return parse_dataclass_args(Args, argv, "humanoid train walker", what[:1].upper() + what[1:],
                                choices={"method": ("dagger", "ppo")}, types=types)


if __name__ == "__main__":
    print(main(parse_args()))
