"""Perception: descriptions to instances, point_2d and pixels to world points, colours as rendered.

Camera frames only (no walking): the whole file takes a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot.perception import (
    Catalogue,
    colour_of_pixels,
    detect,
    find,
    grid_to_pixel,
    grid_to_world,
    parse_description,
    pixel_to_grid,
    resolve,
)
from robot.sim.camera import HeadCamera
from robot.sim.scene import COLOURS, ObjectSpec, SceneSpec, TableSpec, make_world, object_pose

SCENE = SceneSpec(0, (
    ObjectSpec("red_cube", "cube", "red", 0.10, 0.5, (1.5, 0.3, 0.05)),
    ObjectSpec("blue_ball", "ball", "blue", 0.12, 0.4, (1.3, -0.5, 0.06)),
    ObjectSpec("small_green_cylinder", "cylinder", "green", 0.10, 0.4, (2.0, -0.1, 0.05)),
    ObjectSpec("big_green_cylinder", "cylinder", "green", 0.22, 1.2, (2.4, 0.6, 0.11)),
    ObjectSpec("blue_cube", "cube", "blue", 0.09, 0.4, (0.95, 0.55, 0.825), on="table"),
), (TableSpec("table", (1.05, 0.75), (0.45, 0.8, 0.78), 0.3),))


@pytest.fixture(scope="module")
def seen():
    world = make_world(SCENE)
    frame = HeadCamera(world).capture()
    yield world, frame, Catalogue.from_scene(SCENE, world.bodies)
    world.close()


@pytest.mark.parametrize("text, colour, shape, size", [
    ("red cube", "red", "cube", None),
    ("the blue ball", "blue", "ball", None),
    ("big green cylinder", "green", "cylinder", "big"),
    ("Small BLUE box, please", "blue", "cube", "small"),
    ("the table", None, "table", None),
    ("something", None, None, None),
])
def test_parse_description(text: str, colour: str | None, shape: str | None, size: str | None) -> None:
    q = parse_description(text)
    assert (q.colour, q.shape, q.size) == (colour, shape, size)


def test_descriptions_find_the_right_instance(seen) -> None:
    world, frame, cat = seen
    names = {d.label.name for d in detect(frame, cat)}
    assert {"red_cube", "blue_ball", "small_green_cylinder", "big_green_cylinder", "blue_cube", "table"} <= names
    assert find(frame, cat, "red cube")[0].label.name == "red_cube"
    assert find(frame, cat, "the blue ball")[0].label.name == "blue_ball"
    assert find(frame, cat, "big green cylinder")[0].label.name == "big_green_cylinder"
    assert find(frame, cat, "small green cylinder")[0].label.name == "small_green_cylinder"
    assert [d.label.name for d in find(frame, cat, "blue")] == ["blue_cube", "blue_ball"]  # nearest first
    assert find(frame, cat, "purple ball") == []
    assert find(frame, cat, "hello") == []


def test_point_2d_picks_the_instance_under_it(seen) -> None:
    _, frame, cat = seen
    far = next(d for d in detect(frame, cat) if d.label.name == "big_green_cylinder")
    # "green cylinder" alone means the nearest; the point says which one.
    assert resolve(frame, cat, "green cylinder").label.name == "small_green_cylinder"
    assert resolve(frame, cat, "green cylinder", far.point_2d(frame)).label.name == "big_green_cylinder"
    # A point on something that does not match the description is ignored.
    ball = next(d for d in detect(frame, cat) if d.label.name == "blue_ball")
    assert resolve(frame, cat, "red cube", ball.point_2d(frame)).label.name == "red_cube"


def test_estimated_centres_within_2cm(seen) -> None:
    world, frame, cat = seen
    for d in detect(frame, cat):
        if d.label.shape == "table":
            continue
        true = object_pose(world, d.label.name)[0]
        assert np.linalg.norm(d.position - true) < 0.02, d.label.name


def test_grid_and_pixels_to_world(seen) -> None:
    world, frame, cat = seen
    k = frame.intrinsics
    for u, v in ((0.0, 0.0), (k.cx, k.cy), (k.width - 1.0, k.height - 1.0), (100.0, 200.0)):
        g = pixel_to_grid(frame, u, v)
        uu, vv = grid_to_pixel(frame, g)
        assert abs(uu - u) <= k.width / 1000 + 0.5 and abs(vv - v) <= k.height / 1000 + 0.5
    # The floor point under a grid point lies on the floor, where the camera ray says.
    p = grid_to_world(frame, (500, 900))
    assert abs(p[2]) < 0.005
    u, v, _ = frame.project(p)
    assert abs(u - grid_to_pixel(frame, (500, 900))[0]) < 0.5
    # The top of the red cube, seen at its mask's topmost-centre pixels, is at its top height.
    d = next(d for d in detect(frame, cat) if d.label.name == "red_cube")
    top = grid_to_world(frame, d.point_2d(frame))
    assert np.linalg.norm(top[:2] - object_pose(world, "red_cube")[0][:2]) < 0.08


def test_rendered_colours_match_the_labels() -> None:
    objs = tuple(ObjectSpec(f"o_{c}", ("cube", "ball", "cylinder")[i % 3], c, 0.12, 0.5, (1.4, -0.9 + 0.26 * i, 0.06))
                 for i, c in enumerate(COLOURS))
    spec = SceneSpec(0, objs)
    with make_world(spec) as world:
        frame = HeadCamera(world).capture()
        for d in detect(frame, Catalogue.from_scene(spec, world.bodies)):
            assert colour_of_pixels(frame.rgb[frame.segmentation == d.body]) == d.label.colour
