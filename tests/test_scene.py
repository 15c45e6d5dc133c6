"""Scenes: JSON round trips, errors that name the field, real bodies, and colours the camera tells apart."""

from __future__ import annotations

import json

import numpy as np
import pybullet as pb
import pytest

from robot.sim.camera import HeadCamera
from robot.sim.scene import COLOURS, ObjectSpec, SceneSpec, TableSpec, make_world, object_pose, random_scene


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_random_scene_round_trips_through_json(seed: int) -> None:
    spec = random_scene(seed, n_tables=(1, 1), walls=True)
    assert SceneSpec.from_json(spec.to_json()) == spec
    assert random_scene(seed, n_tables=(1, 1), walls=True) == spec  # seeded
    assert random_scene(seed + 100) != spec


def test_saved_scene_rebuilds_the_same_bodies(tmp_path) -> None:
    spec = random_scene(3, n_tables=(1, 1))
    path = tmp_path / "scene.json"
    spec.save(path)
    again = SceneSpec.load(path)
    poses = []
    for s in (spec, again):
        with make_world(s) as world:
            poses.append({name: object_pose(world, name)[0] for name in world.bodies})
    assert poses[0].keys() == poses[1].keys()
    for k in poses[0]:
        np.testing.assert_array_equal(poses[0][k], poses[1][k])


@pytest.mark.parametrize("patch, field", [
    ({"objects": [{"name": "a", "shape": "cube", "colour": "pink", "position": [1, 0]}]}, "objects[0].colour"),
    ({"objects": [{"name": "a", "shape": "pyramid", "colour": "red", "position": [1, 0]}]}, "objects[0].shape"),
    ({"objects": [{"name": "a", "shape": "cube", "colour": "red"}]}, "objects[0].position"),
    ({"objects": [{"name": "a", "shape": "cube", "colour": "red", "position": [1, 0], "size": -1}]},
     "objects[0].size"),
    ({"objects": [{"name": "a", "shape": "cube", "colour": "red", "position": [1, 0], "on": "desk"}]},
     "objects[0].on"),
    ({"tables": [{"name": "t", "position": [1, 0], "size": [0.5, 0.5, 9]}]}, "tables[0].size"),
    ({"robot": {"x": "near"}}, "robot.x"),
    ({"colour": "red"}, "unknown field"),
])
def test_bad_scene_file_names_the_field(patch: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        SceneSpec.from_json(json.dumps(patch))


def test_hand_written_scene_rests_objects_on_floor_and_table() -> None:
    text = json.dumps({"tables": [{"name": "t", "position": [1.2, 0.0], "size": [0.5, 0.8, 0.6]}],
                       "objects": [{"name": "box", "shape": "cube", "colour": "red", "position": [1.2, 0.1],
                                    "size": 0.1, "on": "t"},
                                   {"name": "ball", "shape": "ball", "colour": "blue", "position": [1, 1]}]})
    spec = SceneSpec.from_json(text)
    assert spec.object("box").position[2] == pytest.approx(0.65)
    assert spec.object("ball").position[2] == pytest.approx(0.05)
    with make_world(spec) as world:
        for _ in range(250):  # half a second: nothing falls through or drifts
            pb.stepSimulation(physicsClientId=world.client)
        assert object_pose(world, "box")[0][2] == pytest.approx(0.65, abs=0.005)
        assert object_pose(world, "ball")[0][2] == pytest.approx(0.05, abs=0.005)
        mass, friction = (pb.getDynamicsInfo(world.bodies["box"], -1, physicsClientId=world.client)[i] for i in (0, 1))
        assert mass == pytest.approx(0.5) and friction > 0.3


def test_colours_render_distinctly_in_the_head_camera() -> None:
    """Each colour's mean pixel is nearer its own palette entry's hue than any other's."""
    objs = tuple(ObjectSpec(f"o_{c}", ("cube", "ball", "cylinder")[i % 3], c, 0.12, 0.5, (1.4, -0.9 + 0.26 * i, 0.06))
                 for i, c in enumerate(COLOURS))
    with make_world(SceneSpec(0, objs, (TableSpec("t", (2.2, 0.0)),))) as world:
        frame = HeadCamera(world).capture()
        means = {}
        white_top = 0.0
        for o in objs:
            mask = frame.segmentation == world.bodies[o.name]
            assert mask.sum() > 100, f"{o.colour} is barely in view"
            means[o.colour] = frame.rgb[mask].astype(float).mean(axis=0)
            if o.colour == "white":
                white_top = float(np.percentile(frame.rgb[mask].mean(axis=1), 90))
    floor = frame.rgb[frame.segmentation == world.ground].astype(float).mean(axis=0)
    names = list(COLOURS)
    for c, m in means.items():
        # Compare chromaticity plus brightness, so shading does not decide.
        def dist(ref: np.ndarray) -> float:
            return float(np.linalg.norm(m / 255.0 - ref * (m.max() / 255.0) / max(ref.max(), 1e-6))
                         + abs(m.mean() / 255.0 - ref.mean() * 0.75))
        best = min(names, key=lambda n: dist(np.array(COLOURS[n])))
        assert best == c, f"{c} renders as {m.round()}, nearer {best}"
    # White against the beige floor: its lit top is far brighter (measured 243 against 178) and grey.
    assert white_top > floor.mean() + 40
