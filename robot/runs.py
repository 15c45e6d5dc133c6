"""Run folders (`runs/<subcommand>-<YYYYmmdd-HHMMSS>/`) and the small helpers every run loop shares."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from robot.control.base import Odometry
from robot.sdk.lowlevel import quat_to_rpy


def make_run_dir(subcommand: str, root: str | Path = "runs") -> Path:
    """Create `root/<subcommand>-<YYYYmmdd-HHMMSS>` (with -2, -3 ... if that second is taken)."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder for runs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        path = root / (f"{subcommand}-{stamp}" + ("" if k == 1 else f"-{k}"))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as err:  # a read-only or missing place: say it was the run folder that failed
            raise OSError(err.errno, f"cannot create the run folder ({err.strerror})", str(path)) from None
    raise FileExistsError(f"could not make a new run folder under {root}")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, tuples and numpy values as plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    """Write the resolved configuration, with the code version, as `config.json`."""
    out = dict(config)
    out.setdefault("git_commit", _git_commit())
    path = run_dir / "config.json"
    path.write_text(json.dumps(to_jsonable(out), indent=2, sort_keys=True) + "\n")
    return path


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip() or None


def odometry(world: Any) -> Odometry:
    """Exact odometry from the simulator (stands in for the state estimator; see Odometry)."""
    r = world.robot
    return Odometry(position=r.base_pos.copy(), velocity=r.base_lin_vel.copy(),
                    yaw=quat_to_rpy(*r.base_quat.tolist())[2], yaw_rate=float(r.base_ang_vel[2]))
