"""`humanoid` as a user runs it: subprocesses with tiny budgets, their outputs, files and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest

ROOT = Path(__file__).resolve().parents[1]


def humanoid(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("humanoid", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "robot.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _one_error_line(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("pybullet build time")]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def test_bench_sim_json() -> None:
    res = humanoid("bench", "sim", "--seconds", "1", "--camera-frames", "2", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("raw_steps_per_s", "stack_steps_per_s", "overhead_ratio", "realtime_factor", "camera_ms"):
        assert isinstance(out[key], float) and out[key] > 0 or key == "overhead_ratio", key
    ratio = out["raw_steps_per_s"] / out["stack_steps_per_s"] - 1
    assert out["overhead_ratio"] == pytest.approx(ratio, rel=1e-6)
    assert out["realtime_factor"] == pytest.approx(out["stack_steps_per_s"] * out["dt"], rel=1e-6)
    assert out["raw_sag_mm"] < 10.0  # the raw blocks time a robot that is still standing
    assert "raw_steps_per_s" in res.stdout.splitlines()[0]  # the table comes first


def test_bench_getup_json() -> None:
    # 50 N s toward +x lays it on its back; 60 N s did until the twenty-third session, when a forward push
    # from standing came to be carried faster (`recovery_carry_forward`), and now lays it on its side.
    res = humanoid("bench", "getup", "--directions", "1", "--impulses", "50", "--walk-after", "1", "--workers", "1",
                   "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["cases"] == out["falls"] == out["stood_up"] == out["walked_after"] == 1  # on its back
    assert out["success_rate"] == 1.0 and out["lying_back"] == 1 and out["failures"] == []
    assert 3.0 < out["seconds_to_stand_mean"] < 8.0  # measured 4.6 (at 60 N s before, and at 50 N s now)


def test_demo_writes_video_and_config(tmp_path: Path) -> None:
    res = humanoid("demo", "--stand", "--seconds", "0.3", "--fps", "10", "--runs-dir", str(tmp_path), "--quiet")
    assert res.returncode == 0, res.stderr
    runs = list(tmp_path.glob("demo-*"))
    assert len(runs) == 1
    run = runs[0]
    assert str(run) in res.stdout.strip().splitlines()[-1]
    assert "success" in res.stdout.strip().splitlines()[-1]
    config = json.loads((run / "config.json").read_text())
    assert config["seconds"] == 0.3 and config["world"]["dt"] == 0.002
    frames = [f for f in imageio.get_reader(run / "video.mp4")]  # list() would ask its len: inf
    assert len(frames) >= 3
    assert frames[0].shape == (360, 640, 3)


def test_unknown_flag_exits_2_with_one_line() -> None:
    res = humanoid("demo", "--no-such-flag")
    assert res.returncode == 2
    assert "--no-such-flag" in _one_error_line(res)


def test_bad_value_exits_2_with_one_line() -> None:
    res = humanoid("bench", "sim", "--seconds", "abc")
    assert res.returncode == 2
    assert "--seconds" in _one_error_line(res)


@pytest.mark.parametrize("args", [
    ["bench", "walk", "--episodes", "0"],  # used to run on and print NaN tracking errors
    ["bench", "walk", "--seconds", "-5"],
    ["eval", "planner", "--scenes", "0"],  # used to fail deep inside with "need at least one array"
    ["eval", "tasks", "--episodes", "2.5"],
    ["bench", "sim", "--seconds", "nan"],
    ["bench", "getup", "--impulses", "30,0"],
    ["bench", "getup", "--directions", "0"],
])
def test_out_of_range_values_exit_2_with_one_line(args: list[str]) -> None:
    res = humanoid(*args)
    assert res.returncode == 2
    assert args[-2] in _one_error_line(res)


@pytest.mark.parametrize("args", [["eval", "tasks", "--first-seed", "-1"], ["bench", "walk", "--first-seed", "-5"],
                                  ["bench", "skills", "--first-seed", "-5"], ["plan", "wave", "--scene", "-3"]])
def test_negative_seeds_are_refused_by_name(args: list[str]) -> None:
    """These ran on and failed inside numpy ("expected non-negative integer", bench walk's in its progress bar)."""
    res = humanoid(*args)
    assert res.returncode == 2
    line = _one_error_line(res)
    assert args[-2] in line and "0 or more" in line, line


def test_errors_carry_the_whole_subcommand_and_quote(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text('{"tasks": [{"id": "x"}]}')
    res = humanoid("eval", "tasks", "--task-file", str(tasks), "--quiet")
    assert res.returncode == 2
    assert _one_error_line(res).startswith("humanoid eval tasks: error:")
    assert _one_error_line(res).endswith("missing or malformed field 'call'")  # its closing quote was cut off
    res = humanoid("eval", "tasks", "--no-such-flag")
    assert res.returncode == 2
    assert _one_error_line(res).startswith("humanoid eval tasks: error: unrecognized arguments: --no-such-flag")


def test_stderr_has_only_what_the_command_says() -> None:
    """PyBullet's C module writes "pybullet build time: ..." on import; every command printed it first."""
    res = humanoid("--help")
    assert res.returncode == 0 and res.stderr == ""
    res = humanoid("bench", "sim", "--seconds", "0")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.parametrize("args,words", [(["demo", "--stand", "--scene", "3"], "--scene would be ignored"),
                                        (["demo", "wave", "--stand"], "an instruction would be ignored"),
                                        (["demo", "wave", "--seconds", "3"], "--seconds is for --stand")])
def test_demo_refuses_options_it_would_ignore(args: list[str], words: str, tmp_path: Path) -> None:
    """`demo --stand --scene broken.json` exited 0, standing in an empty world."""
    res = humanoid(*args, "--runs-dir", str(tmp_path))
    assert res.returncode == 2 and words in _one_error_line(res)
    assert not any(tmp_path.iterdir())


def test_scene_can_be_a_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "demo-20260101-000000"
    run.mkdir()
    (run / "scene.json").write_text((ROOT / "assets/scenes/demo.json").read_text())
    res = humanoid("plan", "wave", "--scene", str(run), "--planner", "keyword", "--json")
    assert res.returncode == 0 and json.loads(res.stdout.strip().splitlines()[-1])["calls"][0]["skill"] == "wave"
    res = humanoid("plan", "wave", "--scene", str(tmp_path), "--planner", "keyword")
    assert res.returncode == 2 and "without a scene.json" in _one_error_line(res)


def test_options_are_not_abbreviated() -> None:
    # `--episodes` once silently meant bench skills' `--episodes-out` (a file named "-1" was the result).
    res = humanoid("bench", "skills", "--episodes", "-1")
    assert res.returncode == 2
    assert "--episodes" in _one_error_line(res)


@pytest.mark.parametrize("what,flag,value", [("planner", "--minutes", "-1"), ("planner", "--image-width", "100"),
                                              ("planner", "--stance-camera", "1.5"), ("planner", "--data-workers", "-2"),
                                              ("walker", "--gamma", "2")])
def test_train_refuses_out_of_range_values_before_any_work(what: str, flag: str, value: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = humanoid("train", what, flag, value, "--run-dir", str(run))
    assert res.returncode == 2
    # One line, as every other command's (the trainers' own parsers printed their 30-line usage first).
    assert f"argument {flag}" in _one_error_line(res)
    assert not run.exists()


@pytest.mark.parametrize("args,words", [(["--seed", "10"], "held-out scenes from 900,000"),
                                        (["--seed", "8", "--train-scenes", "100001"], "into the held-out"),
                                        (["--val-scenes", "10001"], "selection split")])
def test_train_planner_refuses_scenes_that_reach_the_held_out_ones(args: list[str], words: str,
                                                                  tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    run = tmp_path / "run"
    res = humanoid("train", "planner", *args, "--run-dir", str(run))
    err = [x for x in res.stderr.strip().splitlines() if not x.startswith("pybullet build time")]
    assert res.returncode == 2 and len(err) == 1 and words in err[0], res.stderr
    assert not run.exists()


def test_runs_dir_that_is_a_file_exits_2_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = humanoid("demo", "--stand", "--seconds", "0.1", "--runs-dir", str(blocker), "--quiet", "--no-video")
    assert res.returncode == 2
    assert str(blocker) in _one_error_line(res)


@pytest.mark.parametrize("sub", ["plan", "eval", "train"])
def test_planner_commands_without_arguments_say_what_is_missing(sub: str) -> None:
    res = humanoid(sub)
    assert res.returncode == 2
    assert "required" in _one_error_line(res)


@pytest.mark.parametrize("args", [[], ["demo"], ["chat"], ["plan"], ["bench"], ["bench", "sim"],
                                  ["bench", "walk"], ["bench", "getup"], ["eval"], ["train"]])
def test_every_subcommand_has_help(args: list[str]) -> None:
    res = humanoid(*args, "--help")
    assert res.returncode == 0
    assert "usage: humanoid" in res.stdout


def test_every_option_is_explained() -> None:
    import argparse

    from robot.cli import build_parser

    def walk(parser: argparse.ArgumentParser, name: str) -> int:
        count = 0
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    count += walk(sub, f"{name} {sub_name}")
            elif action.option_strings:
                assert action.help and len(action.help) > 8, f"{name} {action.option_strings[0]}"
                count += 1
        return count

    assert walk(build_parser(), "humanoid") > 10


def test_robot_imports_no_torch() -> None:
    code = ("import sys, robot.cli, robot.bench, robot.demo, robot.sim.camera, robot.sim.video, "
            "robot.control.stand\n"
            "robot.cli.build_parser()\n"
            "bad = [m for m in ('torch', 'transformers', 'envs', 'policies') if m in sys.modules]\n"
            "assert not bad, bad")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr


def test_number_types_accept_and_refuse() -> None:
    import argparse

    from robot.argtypes import number, positive_int, unit_float

    assert positive_int("3") == 3
    assert unit_float("0") == 0.0 and unit_float("1") == 1.0
    assert number(float, 1.0, low_open=True)("1.5") == 1.5
    assert number(float)("-12.5") == -12.5  # no bounds: any finite number
    for parse, text in [(positive_int, "0"), (positive_int, "1.5"), (unit_float, "1.01"), (unit_float, "inf"),
                        (number(float, 1.0, low_open=True), "1"), (positive_int, "x"), (number(float), "nan")]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
