"""`humanoid`: the one command-line tool (demo, chat, plan, bench, eval, train).

Errors a user can make (an unknown option, a bad value, an unusable file or folder) end in one line on
stderr and exit code 2, never a traceback. This module is the only place in `robot/` allowed to reach up
into `policies/` or `envs/` (and so torch or transformers), and only lazily, inside the command that needs
them: `humanoid bench sim` must start without torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from robot.argtypes import Parser, non_negative_int, positive_float, positive_int

PROG = "humanoid"


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Formatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help where there is a meaningful default."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # Identity, not equality: a default of 0 (a first seed) is meaningful, and 0 == False.
        if ("%(default)" in text or "(default:" in text or action.default is None or action.default is False
                or action.default is argparse.SUPPRESS or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


_formatter = _Formatter


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; every option has a help line."""
    parser = Parser(prog=PROG, description="openhumanoid: a simulated G1-class humanoid you can talk to.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    _add_show_commands(sub)
    _add_planner_commands(sub)
    _add_task_eval(EVAL_COMMANDS)

    from robot.bench import load_benches

    bench = sub.add_parser("bench", help="measure speed and quality; prints a table (--json: JSON last line)",
                           description="Benchmarks. Each prints a table of measured numbers and, with "
                                       "--json, one JSON object on the last line of stdout.",
                           formatter_class=_formatter)
    bsub = bench.add_subparsers(dest="bench", metavar="BENCH", parser_class=Parser)
    bsub.required = True
    for b in load_benches().values():
        bp = bsub.add_parser(b.name, help=b.help, description=b.help[0].upper() + b.help[1:] + ".",
                             formatter_class=_formatter)
        b.add_arguments(bp)
        bp.add_argument("--json", action="store_true",
                        help="also print the results as one JSON object on the last line of stdout")
        bp.set_defaults(func=_cmd_bench, bench_run=b.run)
    return parser


# --- commands ----------------------------------------------------------------------------------------
def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        result = args.bench_run(args)
    except NotImplementedError as err:
        raise CliError(str(err)) from None
    except ValueError as err:
        raise CliError(str(err)) from None
    from robot.bench import format_table

    print(format_table(result))
    if args.json:
        print(json.dumps(result))
    return 0


# --- demo and chat: the agent on the stage (policies/agent/demo.py, imported when they run) ----------------
def _add_show_commands(sub: argparse._SubParsersAction) -> None:
    from robot.demo import DEFAULT_INSTRUCTION

    demo = sub.add_parser(
        "demo", help="the robot carries out one instruction, filmed into a run folder",
        description="Build a scene, let the planner and the skills carry out INSTRUCTION, and write "
                    "runs/demo-YYYYmmdd-HHMMSS/: video.mp4 (third-person view, head-camera inset, a caption of "
                    "the instruction and the skill running), trace.jsonl, scene.json and config.json. Prints "
                    "the plan as it is made, a progress bar in simulated seconds (stderr), and last a line with "
                    "success or failure and the run folder. Success means every call the robot says it did held in "
                    "the simulator's ground truth. Exit code 0 on success, 1 on failure, 2 on a usage error.",
        formatter_class=_formatter)
    demo.add_argument("instruction", nargs="?", default=DEFAULT_INSTRUCTION,
                      help=f"what to do, in English or Spanish (default: {DEFAULT_INSTRUCTION!r})")
    _add_stage_options(demo)
    demo.add_argument("--stand", action="store_true",
                      help="the standing demo instead: no planner, the robot holds its stance for --seconds")
    demo.add_argument("--seconds", type=positive_float, default=None,
                      help="with --stand: simulated seconds to stand (5 if not given)")
    demo.set_defaults(func=_cmd_demo)

    chat = sub.add_parser(
        "chat", help="type commands to the robot one after another, in one persistent scene",
        description="A prompt: type commands in English or Spanish, one a line; the robot carries each out in "
                    "the same scene and answers in one line (what it did, or why it refused). exit, quit or the "
                    "end of input (Ctrl-D) ends the chat and closes runs/chat-YYYYmmdd-HHMMSS/video.mp4, the "
                    "video of the whole conversation, beside trace.jsonl, scene.json and config.json. Reads "
                    "from a script or pipe as well as from a terminal.",
        formatter_class=_formatter)
    _add_stage_options(chat)
    chat.set_defaults(func=_cmd_chat)


def _add_stage_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scene", default="demo", metavar="SEED_OR_FILE",
                   help="demo (assets/scenes/demo.json: a red cube 1.7 m ahead, four more objects, a table), "
                        "an integer seed for a random scene, a scene.json file, or a run folder (the scene it ran in)")
    p.add_argument("--planner", default="default", metavar="PLANNER",
                   help="default (assets/models/openhumanoid-planner-tiny; the keyword planner, with a note, where "
                        "it is not there), keyword (the rule baseline, no model), or a local model folder "
                        "(Qwen2.5-VL, Qwen3-VL, SmolVLM)")
    p.add_argument("--controller", default="walker", metavar="CONTROLLER",
                   help="System 1: walker (the model-based DCM walker), learned[:PATH] (a walker policy from "
                        "humanoid train walker; bare: the shipped one) or unitree-policy:PATH (Unitree's "
                        "released TorchScript walking policy)")
    p.add_argument("--gui", action="store_true",
                   help="open PyBullet's window and pace the simulation at real time (needs a display)")
    p.add_argument("--fps", type=positive_float, default=20.0, help="video frames per simulated second")
    p.add_argument("--no-video", action="store_true", help="skip video.mp4 (faster)")
    p.add_argument("--max-steps", type=positive_int, default=12, help="most skill calls for one instruction")
    p.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads for a model planner")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="folder to create the run folder in")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _check_display(args: argparse.Namespace) -> None:
    if args.gui and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and sys.platform.startswith("linux"):
        raise CliError("--gui needs a display and there is none here (DISPLAY is not set); run without --gui "
                       "and watch video.mp4")


def _stage_config(args: argparse.Namespace, instruction: str = "") -> object:
    try:
        from policies.agent.demo import DemoConfig
        from policies.agent.stage import StageConfig
    except ImportError as err:
        raise CliError(f"{args.command} needs the planner's extra ({err.name} is missing): "
                       "pip install -e '.[vlm]'") from None
    stage = StageConfig(fps=args.fps, video=not args.no_video, gui=args.gui, progress=not args.quiet,
                        max_steps=args.max_steps)
    return DemoConfig(instruction=instruction, scene=args.scene, planner=args.planner, controller=args.controller,
                      runs_dir=args.runs_dir, threads=args.threads, stage=stage)


def _run_show(fn: str, cfg: object) -> object:
    import policies.agent.demo as demo

    try:
        return getattr(demo, fn)(cfg)
    except ImportError as err:
        raise CliError(f"the planner needs its extra ({err.name} is missing): pip install -e '.[vlm]'") from None
    except ValueError as err:
        raise CliError(str(err)) from None
    except RuntimeError as err:
        if "PyBullet's window" in str(err):
            raise CliError(str(err)) from None
        raise


def _cmd_demo(args: argparse.Namespace) -> int:
    from robot.demo import DEFAULT_INSTRUCTION

    _check_display(args)
    if args.stand:
        # The standing demo is the robot alone, in an empty world: what only the planner demo reads is refused,
        # not silently dropped.
        stage = argparse.ArgumentParser(add_help=False)
        _add_stage_options(stage)
        defaults = vars(stage.parse_args([]))
        ignored = ["an instruction"] if args.instruction != DEFAULT_INSTRUCTION else []
        ignored += [f"--{k.replace('_', '-')}" for k in ("scene", "planner", "controller", "max_steps", "threads")
                    if getattr(args, k) != defaults[k]]
        if ignored:
            raise CliError(f"--stand is the robot standing alone: {' and '.join(ignored)} would be ignored")
        return _cmd_stand(args)
    if args.seconds is not None:
        raise CliError("--seconds is for --stand; an instruction runs until its plan is done")
    res = _run_show("run_demo", _stage_config(args, args.instruction))
    turn = res.turns[0]  # type: ignore[attr-defined]
    word = "success" if turn.success else "failure"
    print(f"{word}: {turn.answer()} ({turn.sim_s:.1f} sim s, {res.wall_s:.0f} s wall); "  # type: ignore[attr-defined]
          f"run folder: {res.run_dir}")  # type: ignore[attr-defined]
    return 0 if turn.success else 1


def _cmd_chat(args: argparse.Namespace) -> int:
    _check_display(args)
    res = _run_show("run_chat", _stage_config(args))
    turns = res.turns  # type: ignore[attr-defined]
    refused = sum(t.outcome.status == "refuse" for t in turns)
    done = sum(t.success for t in turns)
    print(f"chat ended: {len(turns)} command{'s' * (len(turns) != 1)} ({done} done, {refused} refused, "
          f"{len(turns) - done - refused} not done); run folder: {res.run_dir}")  # type: ignore[attr-defined]
    return 0


def _cmd_stand(args: argparse.Namespace) -> int:
    from robot.demo import StandDemoConfig, run_stand_demo
    from robot.sim.world import WorldConfig

    seconds = 5.0 if args.seconds is None else args.seconds
    cfg = StandDemoConfig(seconds=seconds, fps=args.fps, video=not args.no_video, runs_dir=args.runs_dir,
                          world=WorldConfig(seed=0, gui=args.gui))
    res = run_stand_demo(cfg, progress=not args.quiet)
    status = "failure: the robot fell" if res.fell else "success: the robot stood"
    print(f"{status} for {res.seconds:g} s (pelvis drift {res.drift_m * 100:.1f} cm, {res.wall_s:.1f} s wall); "
          f"run folder: {res.run_dir}")
    return 1 if res.fell else 0


# --- the planner's commands (policies/planner/cli.py does the work, imported only when they run) ------------
EVAL_COMMANDS: argparse._SubParsersAction | None = None
"""`humanoid eval`'s subcommands: other evaluations add themselves here (eval planner is one)."""
TRAIN_COMMANDS: argparse._SubParsersAction | None = None


def _add_planner_commands(sub: argparse._SubParsersAction) -> None:
    global EVAL_COMMANDS, TRAIN_COMMANDS
    planner_help = "default (the shipped model), keyword (the rule baseline) or a model folder"
    plan = sub.add_parser("plan", help="print the plan the planner makes for an instruction, without running it",
                          description="Print the plan for the scene's first head-camera frame, without running "
                                      "it. With --json the last line is {\"calls\": [...], \"latency_ms\": ...}.",
                          formatter_class=_formatter)
    plan.add_argument("instruction", help="what to do, in English or Spanish")
    plan.add_argument("--scene", default="demo", metavar="SEED_OR_FILE",
                      help="demo (the demo's scene), a scene.json file, a run folder, or an integer seed for a "
                           "random scene")
    plan.add_argument("--planner", default="default", help=planner_help)
    plan.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    plan.add_argument("--json", action="store_true", help="print the plan as one JSON object on the last line")
    plan.set_defaults(func=_cmd_plan)

    ev = sub.add_parser("eval", help="evaluate the planner and the task suite (--json: JSON last line)",
                        description="Evaluations; each prints a table and, with --json, one JSON object last.",
                        formatter_class=_formatter)
    EVAL_COMMANDS = ev.add_subparsers(dest="what", metavar="WHAT", parser_class=Parser)
    EVAL_COMMANDS.required = True
    ep = EVAL_COMMANDS.add_parser("planner", help="a planner and the keyword baseline on held-out scenes and phrasings",
                                  description="Score a planner and the keyword baseline on a held-out split "
                                              "(scene seeds and phrasings never trained on): valid_rate, "
                                              "plan_accuracy (_en, _es), point_accuracy, refusal_accuracy, "
                                              "latency_ms_median.", formatter_class=_formatter)
    ep.add_argument("--planner", default="default", help=planner_help)
    ep.add_argument("--scenes", type=positive_int, default=100, help="held-out scenes to render")
    ep.add_argument("--per-scene", type=positive_int, default=6, help="instructions per scene")
    ep.add_argument("--split", choices=("test", "select"), default="test",
                    help="test: the split the model card reports; select: other held-out scenes (seeds from "
                         "910,000), to choose checkpoints and settings on without spending the test split")
    ep.add_argument("--camera", choices=("spawn", "stance"), default="spawn",
                    help="spawn: frames from the head camera at the spawn pose (what the model card reports); "
                         "stance: from where it sits while the robot balances after Start (about 6 cm lower, "
                         "tipped 0.8 degrees further down), the frames the agent plans on")
    ep.add_argument("--no-baseline", action="store_true", help="skip the keyword baseline")
    ep.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (latency is measured on these)")
    ep.add_argument("--cache", default=None, help="folder to keep the rendered split in between runs")
    ep.add_argument("--quiet", action="store_true", help="no progress bars")
    ep.add_argument("--json", action="store_true", help="also print the results as one JSON object on the last line")
    ep.set_defaults(func=_cmd_eval_planner)

    tr = sub.add_parser("train", help="train the planner or a walker policy", description="Training entry points.",
                        formatter_class=_formatter)
    TRAIN_COMMANDS = tr.add_subparsers(dest="what", metavar="WHAT", parser_class=Parser)
    TRAIN_COMMANDS.required = True
    tp = TRAIN_COMMANDS.add_parser("planner", add_help=False,
                                   help="regenerate the data and train the default planner (resumable; "
                                        "see humanoid train planner --help)")
    tp.set_defaults(func=_cmd_train_planner)  # its options (and --help) are parsed by the trainer itself
    tw = TRAIN_COMMANDS.add_parser("walker", add_help=False,
                                   help="distil the model-based walker into a neural policy (DAgger) or refine "
                                        "one with PPO (resumable; see humanoid train walker --help)")
    tw.set_defaults(func=_cmd_train_walker)


def _planner_call(fn: str, *a: object, **k: object) -> object:
    try:
        import policies.planner.cli as pc
    except ImportError as err:
        raise CliError(f"the planner needs its extra ({err.name} is missing): pip install -e '.[vlm]'") from None
    try:
        return getattr(pc, fn)(*a, **k)
    except ImportError as err:
        raise CliError(f"the planner needs its extra ({err.name} is missing): pip install -e '.[vlm]'") from None
    except ValueError as err:
        raise CliError(str(err)) from None


def _cmd_plan(args: argparse.Namespace) -> int:
    res = _planner_call("run_plan", args.instruction, args.scene, args.planner, args.threads)
    import policies.planner.cli as pc

    print(pc.plan_lines(res))
    if args.json:
        print(json.dumps({"calls": res["calls"], "latency_ms": res["latency_ms"]}, ensure_ascii=False))
    return 0


def _cmd_eval_planner(args: argparse.Namespace) -> int:
    res = _planner_call("run_eval", args.planner, args.scenes, args.per_scene, not args.no_baseline, args.threads,
                        not args.quiet, args.cache, args.split, args.camera)
    import policies.planner.cli as pc

    print(pc.eval_table(res))
    if args.json:
        print(json.dumps(res))
    return 0


def _cmd_train_planner(args: argparse.Namespace) -> int:
    path = _planner_call("run_train", list(args.rest))
    print(f"trained planner checkpoint: {path}")
    return 0


def _cmd_train_walker(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401

        from policies.train import walker as tw
    except ImportError as err:
        raise CliError(f"training a walker needs the learn extra ({err.name} is missing): "
                       "pip install -e '.[learn]'") from None
    targs = tw.parse_args(list(args.rest))
    try:
        path = tw.main(targs)
    except ValueError as err:
        raise CliError(str(err)) from None
    print(f"trained walker checkpoint: {path / 'policy'}")
    return 0


# --- eval tasks: the task suite through the agent (policies/agent/eval_tasks.py, imported when it runs) -----
def _add_task_eval(evals: argparse._SubParsersAction) -> None:
    et = evals.add_parser("tasks", help="the task suite (envs/tasks.json) through the agent loop",
                          description="Run the task suite's single-skill tasks and chains through the agent "
                                      "loop and score them on the simulator's ground truth: success per task, "
                                      "success@1..5 for chains, avg_chain_length, falls_per_episode, "
                                      "wall_s_per_episode. Episodes go round-robin over the tasks, seeds "
                                      "from --first-seed. Writes runs/eval-tasks-*/episodes.jsonl.",
                          formatter_class=_formatter)
    et.add_argument("--planner", default="oracle",
                    help="oracle (the ground-truth plan: measures skills and controller alone), keyword, "
                         "default or a model folder")
    et.add_argument("--episodes", type=positive_int, default=30, help="episodes in all, spread over the tasks")
    et.add_argument("--tasks", default="all", help="task ids, comma-separated, or single, chain, all")
    et.add_argument("--split", default="train",
                    help="train, new_layouts, held_out_combos or held_out_phrasings")
    et.add_argument("--first-seed", type=non_negative_int, default=0, help="seed of the first episode")
    et.add_argument("--workers", type=positive_int, default=1, help="processes (one simulation each)")
    et.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads for a model planner")
    et.add_argument("--task-file", action="append", default=[],
                    help="a JSON file of more tasks (envs/tasks.json's layout); repeatable")
    et.add_argument("--runs-dir", type=Path, default=Path("runs"), help="folder to create the run folder in")
    et.add_argument("--quiet", action="store_true", help="no progress bar")
    et.add_argument("--json", action="store_true", help="also print the results as one JSON object on the last line")
    et.set_defaults(func=_cmd_eval_tasks)


def _cmd_eval_tasks(args: argparse.Namespace) -> int:
    try:
        from policies.agent.eval_tasks import format_table, run_eval
    except ImportError as err:
        raise CliError(f"eval tasks needs {err.name}, which is missing: pip install -e '.[vlm]'") from None
    try:
        res = run_eval(args.planner, args.episodes, args.tasks, args.split, args.first_seed, args.workers,
                       args.threads, args.task_file, args.runs_dir, not args.quiet)
    except ImportError as err:
        raise CliError(f"the planner needs its extra ({err.name} is missing): pip install -e '.[vlm]'") from None
    except (ValueError, KeyError) as err:
        # A KeyError's str() is its message in quotes; stripping quotes off it cut the last one off a message
        # that ended in a quoted name.
        raise CliError(str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)) from None
    print(format_table(res))
    if args.json:
        print(json.dumps(res))
    return 0


def _register_plugins() -> None:
    """What robot/ uses from above it: `--controller KIND:PATH` plug-ins from policies/ and the Walk-v0
    environment for `bench env`, each imported only when a command uses it."""
    from robot.control.plugins import register_controller

    def learned(kind: str):  # noqa: ANN202 - a factory of factories
        def build(path: str):  # noqa: ANN202
            try:
                from policies.learned import make_controller
            except ImportError as err:
                raise CliError(f"--controller {kind}:PATH needs the learn extra "
                               f"(pip install -e '.[learn]'): {err}") from None
            return make_controller(f"{kind}:{path}")

        return build

    from policies.learned import DEFAULT_WALKER  # a light import: no torch until a controller is built

    register_controller("unitree-policy", learned("unitree-policy"))
    register_controller("learned", learned("learned"), default_path=str(DEFAULT_WALKER))

    import robot.bench_env

    def walk_env():  # noqa: ANN202 - (env class, decimation), imported only when bench env runs
        from envs.walk import DECIMATION, WalkEnv

        return WalkEnv, DECIMATION

    robot.bench_env.WALK_ENV = walk_env


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `humanoid` console script."""
    _register_plugins()
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    # The prefix argparse gives the same command's usage errors: "humanoid eval tasks", not "humanoid eval".
    sub = [w for w in (getattr(args, "bench", None), getattr(args, "what", None)) if w]
    prog = " ".join([PROG, args.command, *sub])
    if rest and getattr(args, "func", None) not in (_cmd_train_planner, _cmd_train_walker):
        print(f"{prog}: error: unrecognized arguments: {' '.join(rest)} (see {prog} --help)", file=sys.stderr)
        return 2
    args.rest = rest
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unreadable or unwritable files and folders
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        print(f"{prog}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
