"""`humanoid demo` and `humanoid chat`: an instruction (or a conversation) carried out on the stage, filmed.

robot/cli.py parses the options and calls `run_demo` / `run_chat` lazily. Errors a user can make
(an empty instruction, an unreadable scene, a model folder that does not load, a bad controller) raise
ValueError with one line *before* a run folder is made, so a mistake leaves nothing behind.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from policies.agent.stage import Stage, StageConfig, Turn, load_planner_or_keyword
from policies.planner.base import check_instruction
from robot.demo import DEFAULT_INSTRUCTION, load_scene

EXIT_WORDS = ("exit", "quit", "salir", "adios", "adiós")


@dataclass(frozen=True)
class DemoConfig:
    """Everything `humanoid demo` and `humanoid chat` resolve from their options (saved as config.json)."""

    instruction: str = DEFAULT_INSTRUCTION
    """What to do, in English or Spanish (chat: unused)."""
    scene: str = "demo"
    """"demo" (assets/scenes/demo.json), an integer seed for a random scene, or a scene.json path."""
    planner: str = "default"
    """default (the shipped model; the keyword planner where it is missing), keyword, or a model folder."""
    controller: str = "walker"
    """System 1: walker, or unitree-policy:PATH."""
    runs_dir: Path = Path("runs")
    """Folder the run folder goes into."""
    threads: int = 1
    """torch CPU threads for a model planner."""
    stage: StageConfig = StageConfig()


@dataclass
class DemoResult:
    run_dir: Path
    turns: list[Turn]
    wall_s: float

    @property
    def success(self) -> bool:
        return bool(self.turns) and all(t.success for t in self.turns)


def _controller(spec: str) -> Any:
    """The walking controller a `--controller` spec names; ValueError (one line) if it cannot be made."""
    if spec in ("walker", "default"):
        return None  # SimRobot's default: the model-based walker
    from robot.control.plugins import make_controller

    try:
        return make_controller(spec)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - a missing file or extra, a file that is not a fitting policy
        raise ValueError(f"controller {spec!r}: {err}") from None


def _prepare(cfg: DemoConfig, note: TextIO) -> tuple[Any, Any, Any]:
    """Scene, planner and controller, each checked, before anything is written."""
    spec = load_scene(cfg.scene)
    controller = _controller(cfg.controller)  # before the planner: a mistake here fails in a second
    planner = load_planner_or_keyword(cfg.planner, cfg.threads, note=lambda s: print(s, file=note, flush=True))
    return spec, planner, controller


def _open_run(kind: str, cfg: DemoConfig, spec: Any, planner: Any) -> Path:
    from robot.runs import make_run_dir, write_config

    run_dir = make_run_dir(kind, cfg.runs_dir)
    spec.save(run_dir / "scene.json")
    write_config(run_dir, {"subcommand": kind, **{k: getattr(cfg, k) for k in
                                                  ("instruction", "scene", "planner", "controller", "runs_dir",
                                                   "threads", "stage")},
                           "planner_name": getattr(planner, "name", str(cfg.planner))})
    return run_dir


def run_demo(cfg: DemoConfig, out: TextIO = sys.stdout) -> DemoResult:
    """Build the scene, carry out `cfg.instruction`, write the run folder."""
    if not cfg.instruction.strip():
        raise ValueError("the instruction is empty; say what the robot should do, e.g. "
                         f"humanoid demo \"{DEFAULT_INSTRUCTION}\"")
    check_instruction(cfg.instruction)
    t0 = time.perf_counter()
    spec, planner, controller = _prepare(cfg, out)
    run_dir = _open_run("demo", cfg, spec, planner)
    print(f"instruction: {cfg.instruction}  (planner: {getattr(planner, 'name', cfg.planner)})", file=out, flush=True)
    with Stage(spec, planner, run_dir, cfg.stage, controller, out) as stage:
        turn = stage.run(cfg.instruction.strip())
    return DemoResult(run_dir, [turn], time.perf_counter() - t0)


def _lines(inp: TextIO, out: TextIO, prompt: str) -> Iterable[str]:
    """The person's lines: `input()` with a prompt at a terminal, plain lines from a script or pipe."""
    interactive = inp.isatty() and out.isatty()
    while True:
        if interactive:
            try:
                line = input(prompt)
            except EOFError:
                print(file=out)
                return
        else:
            line = inp.readline()
            if not line:
                return
        yield line


def run_chat(cfg: DemoConfig, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> DemoResult:
    """One persistent scene; each line typed is carried out and answered in one line. `exit`, `quit` or
    the end of input ends it and closes the video of the whole conversation."""
    t0 = time.perf_counter()
    spec, planner, controller = _prepare(cfg, out)
    run_dir = _open_run("chat", cfg, spec, planner)
    names = ", ".join(o.description.split(" ", 1)[1] if o.on is None else f"{o.colour} {o.shape} on a table"
                      for o in spec.objects)
    print(f"openhumanoid chat ({getattr(planner, 'name', cfg.planner)} planner). In the scene: {names}.\n"
          "Type a command in English or Spanish (e.g. \"walk to the red cube\", \"saluda\"); exit or quit ends "
          "it.", file=out, flush=True)
    turns: list[Turn] = []
    with Stage(spec, planner, run_dir, cfg.stage, controller, out) as stage:
        for raw in _lines(inp, out, "you> "):
            line = raw.strip()
            if not line:
                continue
            if line.lower().strip(".!") in EXIT_WORDS:
                break
            if not inp.isatty():
                print(f"you> {line}", file=out, flush=True)  # a script's lines, echoed so the log reads
            turn = stage.run(line)
            turns.append(turn)
            print(f"robot> {turn.answer()}", file=out, flush=True)
            if stage.robot.fallen:
                print("robot> I fell. Getting up ...", file=out, flush=True)
                if not stage.get_up():
                    print("robot> I cannot get up by myself; ending the chat.", file=out, flush=True)
                    break
                print("robot> I am up again.", file=out, flush=True)
    return DemoResult(run_dir, turns, time.perf_counter() - t0)


__all__ = ["DEFAULT_INSTRUCTION", "DemoConfig", "DemoResult", "run_chat", "run_demo"]
