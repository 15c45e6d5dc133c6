"""The demo's defaults, and the standing demo (`humanoid demo --stand`).

`humanoid demo` (and `make demo`) runs the language demo in policies/agent/demo.py; its default
instruction and scene are here, in the robot's layer, so the command line can show them in `--help`
without importing the planner. The standing demo is the robot alone: a world, the standing controller
through the low-level bridge, and a video with the head-camera inset; it needs neither torch nor a planner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robot.control.base import LocoCommand
from robot.control.stand import StandConfig, StandController
from robot.runs import make_run_dir, odometry, write_config
from robot.sdk.bridge import LowLevelBridge
from robot.sim.scene import SceneSpec, random_scene
from robot.sim.video import Recorder
from robot.sim.world import World, WorldConfig

DEFAULT_INSTRUCTION = "walk to the red cube and wave"
"""What `make demo` runs; the demo scene has one red cube, 1.7 m ahead and a little to the left."""
DEMO_SCENE = Path(__file__).resolve().parents[1] / "assets" / "scenes" / "demo.json"
"""The default scene (`--scene demo`): hand-written, so a newcomer can copy and edit it."""


def load_scene(text: str) -> SceneSpec:
    """A `--scene` value: "demo" (DEMO_SCENE), an integer seed (a random scene) or a scene.json path.

    Raises:
        ValueError: one line naming the file and, for a wrong file, the field at fault.
    """
    if text == "demo":
        return SceneSpec.load(DEMO_SCENE)
    if text.lstrip("-").isdigit():
        if int(text) < 0:
            raise ValueError(f"--scene {text}: a scene seed is 0 or more")
        return random_scene(int(text))
    if Path(text).is_dir():  # a run folder: the scene it ran in
        if not (Path(text) / "scene.json").is_file():
            raise ValueError(f"--scene {text}: a folder without a scene.json (give a run folder or a scene file)")
        return SceneSpec.load(Path(text) / "scene.json")
    return SceneSpec.load(text)


@dataclass(frozen=True)
class StandDemoConfig:
    """What the standing demo runs and writes."""

    seconds: float = 5.0
    """Simulated seconds to stand."""
    fps: float = 20.0
    """Video frames per simulated second (the head-camera inset refreshes at 10 Hz)."""
    video: bool = True
    """Write video.mp4 (rendering is most of the demo's time)."""
    runs_dir: Path = Path("runs")
    """Folder the run folder goes into."""
    world: WorldConfig = field(default_factory=WorldConfig)
    stand: StandConfig = field(default_factory=StandConfig)


@dataclass
class StandDemoResult:
    run_dir: Path
    video: Path | None
    seconds: float
    drift_m: float
    """Horizontal pelvis drift from spawn, m."""
    fell: bool
    wall_s: float


def run_stand_demo(cfg: StandDemoConfig, progress: bool = True) -> StandDemoResult:
    """Stand for `cfg.seconds`, writing config.json and video.mp4 into a new run folder."""
    from tqdm import tqdm

    run_dir = make_run_dir("demo", cfg.runs_dir)
    write_config(run_dir, {"subcommand": "demo", "demo": "stand", **{k: getattr(cfg, k) for k in
                                                                      ("seconds", "fps", "video", "runs_dir")},
                           "world": cfg.world, "stand": cfg.stand})
    t_wall = time.perf_counter()
    world = World(cfg.world)
    try:
        bridge = LowLevelBridge(world)
        ctrl = StandController(cfg.stand)
        command = LocoCommand(walking=False)
        state = bridge.read()
        ctrl.reset(state, odometry(world))
        start = world.robot.base_pos.copy()
        recorder = Recorder(world, run_dir / "video.mp4", fps=cfg.fps) if cfg.video else None
        steps = round(cfg.seconds / world.dt)
        report_every = max(1, round(0.1 / world.dt))
        fell = False
        # disable=None: no bar where stderr is not a terminal (a log file would fill with redraws), as the
        # planner demo's.
        with tqdm(total=round(cfg.seconds, 3), unit="sim s", disable=None if progress else True,
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} sim s [{elapsed}<{remaining}]") as bar:
            if recorder is not None:
                recorder.caption = "standing (demo: stand)"
                recorder.record()
            for i in range(1, steps + 1):
                bridge.write(ctrl.step(state, odometry(world), command))
                bridge.step()
                state = bridge.read()
                if recorder is not None:
                    recorder.record()
                if cfg.world.gui:
                    _pace(t_wall, world.time)
                if i % report_every == 0 or i == steps:
                    bar.n = round(world.time, 3)
                    bar.refresh()
                fell = fell or world.robot.base_pos[2] < 0.5
        drift = float(np.linalg.norm((world.robot.base_pos - start)[:2]))
        if recorder is not None:
            recorder.close()
    finally:
        world.close()
    return StandDemoResult(run_dir, run_dir / "video.mp4" if cfg.video else None, cfg.seconds, drift, fell,
                           time.perf_counter() - t_wall)


def _pace(t0: float, sim_time: float) -> None:
    """Hold a GUI run to real time (only a window asks for it)."""
    ahead = sim_time - (time.perf_counter() - t0)
    if ahead > 0.002:
        time.sleep(ahead)
