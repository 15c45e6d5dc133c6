"""Perception: objects named by a description in a head-camera frame, and pixels as world points.

The detector is the simulator's segmentation mask (see robot/perception/detect.py).
"""

from robot.perception.detect import (
    Catalogue,
    Detection,
    Label,
    Query,
    colour_of_pixels,
    detect,
    find,
    grid_to_pixel,
    grid_to_world,
    parse_description,
    pixel_to_grid,
    pixel_to_world,
    resolve,
)

__all__ = ["Catalogue", "Detection", "Label", "Query", "colour_of_pixels", "detect", "find", "grid_to_pixel",
           "grid_to_world", "parse_description", "pixel_to_grid", "pixel_to_world", "resolve"]
