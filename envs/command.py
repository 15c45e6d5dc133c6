"""`openhumanoid/Command-v0`: language-conditioned tasks, one skill call per step."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rendering import FollowCameraRender
from envs.tasks import SPLITS, Episode, Judge, Suite
from robot.g1 import constants as C
from robot.sim.camera import CameraConfig
from robot.sim.scene import SceneSpec
from robot.skills.registry import SkillCall

CHARSET = frozenset(string.printable + "áéíóúüñÁÉÍÓÚÜÑ¿¡")
"""Characters of instructions and actions: printable ASCII and Spanish letters (the planner is bilingual)."""
MAX_INSTRUCTION = 512
MAX_ACTION = 1024
PROPRIO_SIZE = 2 * len(C.ACTIVE_SLOTS) + 10
PROPRIO_CLIP = 100.0
"""Joint velocities and the accelerometer spike past any fixed bound in a fall; clipped like Walk-v0's."""


def _proprioception(state: Any) -> np.ndarray:
    imu = state.imu_state
    out = np.concatenate([state.q[C.ACTIVE_SLOTS], state.dq[C.ACTIVE_SLOTS], imu.quaternion, imu.gyroscope,
                          imu.accelerometer]).astype(np.float32)
    return np.clip(out, -PROPRIO_CLIP, PROPRIO_CLIP)


class CommandEnv(FollowCameraRender, gym.Env[dict, str]):
    """
    ## Description
    A G1 in a seeded room of coloured objects and a table is told what to do in words; each step the agent
    answers with one skill call of the vocabulary (ARCHITECTURE.md), which the environment runs to its end
    through robot/skills. Tasks come from the task suite (envs/tasks.py, envs/tasks.json): single skills
    (go to, face, point at, wave, touch, push) and chains of 2-5 of them, each judged by predicates on the
    simulator's ground truth, which the agent never sees.

    ## Action Space
    `Text(max_length=1024)`: one skill call as JSON, e.g. `{"skill": "walk_to", "target": {"object": "red cube"}}`
    (a `SkillCall` or a dict is accepted too). An invalid call moves nothing and reports why in
    `info["error"]`. `done` and `refuse` end the episode.

    ## Observation Space
    `Dict`:
    - `rgb`: `Box(0, 255, (240, 320, 3), uint8)`, the head camera (a D435 on the torso, 69 deg across).
    - `depth`: `Box(0, 10, (240, 320), float32)`, metres along the optical axis.
    - `proprioception`: `Box(-100, 100, (56,), float32)`: joint positions and velocities of the 23 joints
      (motor-slot order), the IMU quaternion (w, x, y, z), gyroscope and accelerometer, from the LowState.
    - `instruction`: `Text(max_length=512)`, English.

    ## Rewards
    1 on the step at which every subgoal of the task holds (the episode then terminates), else 0.
    `info["subgoals_completed"]` counts the subgoals done so far, in order (chains score partial progress).

    ## Starting State
    The scene of the drawn episode with the robot standing in balance at its start pose (StandUp, then
    Start: 1 simulated second). `reset(seed=N, options={"task": T, "split": S})` is the episode that
    `humanoid eval tasks` runs for task T on seed N; without a seed, each reset draws one from the env's
    generator. `options`: `task` (a task id), `split`
    (train, new_layouts, held_out_combos, held_out_phrasings), `scene` (a SceneSpec, its dict, or a
    scene.json path: the task is bound in it), or `episode` (an `envs.tasks.Episode`, used as is).

    ## Episode End
    Terminated on success, on `done` or `refuse`, or when the robot falls. Truncated after 10 skill calls
    (the registered `max_episode_steps`).

    ## Arguments
    - `render_mode`: None or "rgb_array" (the third-person follow camera, 640x360).
    - `split`: the default split of `reset` ("train").
    - `tasks`: task ids to draw from, or "single", "chain", "all" (default), comma-separated.
    - `task_file`: a JSON file of more tasks (the layout of envs/tasks.json).

    In `gymnasium.vector.AsyncVectorEnv` pass `shared_memory=False`: gymnasium 1.x reads a `Text`
    observation out of shared memory only once, when the vector env is made, so with shared memory every
    instruction would come back empty (tests/test_envs.py steps two workers this way).

    ## Version History
    - v0: first version (6 single-skill tasks, 9 chains, 4 splits).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, split: str = "train", tasks: str = "all",
                 task_file: str | Path | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
        self.render_mode = render_mode
        self.split = split
        self.suite = Suite.load(*([task_file] if task_file else []))
        self.task_ids = self.suite.select(tasks)
        cam = CameraConfig()
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (cam.height, cam.width, 3), np.uint8),
            "depth": spaces.Box(0.0, cam.far, (cam.height, cam.width), np.float32),
            "proprioception": spaces.Box(-PROPRIO_CLIP, PROPRIO_CLIP, (PROPRIO_SIZE,), np.float32),
            "instruction": spaces.Text(MAX_INSTRUCTION, min_length=1, charset=CHARSET),
        })
        self.action_space = spaces.Text(MAX_ACTION, min_length=1, charset=CHARSET)
        self.session: Any = None
        self.episode: Episode | None = None
        self.judge: Judge | None = None
        self._camera: Any = None

    # --- episodes -------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        from robot.skills.session import SkillSession

        options = dict(options or {})
        episode = options.get("episode")
        if episode is None:
            task = options.get("task") or self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
            split = options.get("split", self.split)
            scene = options.get("scene")
            if isinstance(scene, (str, Path)):
                scene = SceneSpec.load(scene)
            elif isinstance(scene, dict):
                scene = SceneSpec.from_dict(scene)
            # The episode of `humanoid eval tasks` with this seed (its episode i runs seed first_seed + i), so a
            # failure there is `reset(seed=i, options={"task": ..., "split": ...})` here; later resets draw.
            ep_seed = seed if seed is not None else int(self.np_random.integers(2**31))
            episode = self.suite.sample(task, ep_seed, split, scene)
        self._close_session()
        self.episode = episode
        self.session = SkillSession(episode.scene)
        self.judge = Judge(self.session.world, episode)
        self._start_camera(self.session.world)
        return self._observation(), self._info(error="")

    def step(self, action: str | SkillCall | dict) -> tuple[dict, float, bool, bool, dict[str, Any]]:
        if self.session is None or self.judge is None:
            raise RuntimeError("call reset() before step()")
        try:
            if isinstance(action, SkillCall):
                call = action.validate()
            elif isinstance(action, dict):
                call = SkillCall.from_dict(action)
            else:
                call = SkillCall.from_json(str(action))
        except ValueError as err:
            return self._observation(), 0.0, False, False, self._info(error=str(err)[:300])
        if call.skill in ("done", "refuse"):
            return self._observation(), 0.0, True, False, self._info(error="", skill=call.skill)
        result = self.session.run(call)
        done_before = self.judge.success
        self.judge.update()
        fell = bool(self.session.robot.fallen)
        reward = 1.0 if self.judge.success and not done_before else 0.0
        info = self._info(error="", skill=call.skill, ok=bool(result.ok), reason=str(result.reason),
                          sim_seconds=float(result.seconds))
        return self._observation(), reward, bool(self.judge.success or fell), False, info

    def _observation(self) -> dict[str, Any]:
        frame = self.session.runner.ctx.look()  # the skills' own look: what the agent sees, they remember
        return {"rgb": frame.rgb, "depth": np.clip(frame.depth, 0.0, self.observation_space["depth"].high),
                "proprioception": _proprioception(self.session.robot.bridge.read()),
                "instruction": self.episode.instruction}  # type: ignore[union-attr]

    def _info(self, error: str, skill: str = "", ok: bool = False, reason: str = "",
              sim_seconds: float = 0.0) -> dict[str, Any]:
        ep, judge = self.episode, self.judge
        assert ep is not None and judge is not None
        return {"task": ep.task_id, "kind": ep.kind, "split": ep.split, "subgoals": len(ep.subgoals),
                "subgoals_completed": judge.completed, "success": judge.success,
                "fell": bool(self.session.robot.fallen), "skill": skill, "ok": ok, "reason": reason,
                "sim_seconds": sim_seconds, "error": error}

    # --- rendering and closing -------------------------------------------------------------------------------
    def _close_session(self) -> None:
        if self.judge is not None:
            self.judge.close()
            self.judge = None
        if self.session is not None:
            self.session.close()
            self.session = None
        self._camera = None

    def close(self) -> None:
        self._close_session()


__all__ = ["CHARSET", "CommandEnv"]
