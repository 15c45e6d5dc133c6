"""Leg kinematics: the chain walk written out in place is the helpers' walk, bit for bit, and the IK's
linear solve is numpy's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot.control import kinematics as K
from robot.g1 import constants as C


def _reference_walk(leg: K.LegChain, q: np.ndarray) -> tuple:
    """The chain walk with the 3x3 helpers, one call per operation (the form `_walk` spells out)."""
    R = K._EYE
    px = py = pz = 0.0
    positions, axes, coms = [], [], []
    for i in range(6):
        o = K._apply(R, leg.offsets[i])
        px, py, pz = px + o[0], py + o[1], pz + o[2]
        if leg.fixed[i] is not None:
            R = K._mul(R, leg.fixed[i])
        a = leg.axes[i]
        positions.append((px, py, pz))
        axes.append((R[a], R[3 + a], R[6 + a]))
        R = K._rot_axis(R, a, float(q[i]))
        c = K._apply(R, leg.coms[i])
        coms.append((px + c[0], py + c[1], pz + c[2]))
    s = K._apply(R, leg.sole)
    return positions, axes, (px + s[0], py + s[1], pz + s[2]), R, coms


def _bits(x: object) -> bytes:
    return np.asarray(x, dtype=np.float64).tobytes()


def test_the_written_out_walk_is_the_helpers_walk_bit_for_bit() -> None:
    kin = K.G1Kinematics()
    rng = np.random.default_rng(0)
    for leg in (kin.left, kin.right):
        samples = [C.DEFAULT_Q[leg.slots], np.zeros(6), -np.zeros(6)]
        samples += [rng.uniform(leg.lower, leg.upper) for _ in range(200)]
        for q in samples:
            ref = _reference_walk(leg, q)
            got = leg._walk(q, with_coms=True)
            for a, b in zip(ref, got):
                assert _bits(a) == _bits(b)
            assert _bits(leg._walk(list(q))[2]) == _bits(ref[2])  # a plain list walks the same
            J, p, R = leg.jacobian(q)
            assert J.flags.c_contiguous and J.shape == (6, 6)
            assert _bits(p) == _bits(ref[2]) and _bits(R) == _bits(ref[3])


@pytest.mark.filterwarnings("ignore:invalid value encountered in solve1")
def test_the_ik_solve_is_numpys_and_a_singular_matrix_still_raises() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        J = rng.normal(size=(6, 6))
        a, b = J @ J.T + K._DAMPING, rng.normal(size=6)
        assert K._solve(a, b).tobytes() == np.linalg.solve(a, b).tobytes()
    with pytest.raises(np.linalg.LinAlgError):
        K._solve(np.zeros((6, 6)), np.ones(6))


def test_rotation_error_of_a_small_rotation_is_its_axis_angle() -> None:
    R = K.rot("z", 0.01) @ K.rot("x", -0.02)
    e = K.rotation_error(R, np.eye(3))
    assert e.shape == (3,) and math.isclose(e[0], -0.02, abs_tol=1e-4) and math.isclose(e[2], 0.01, abs_tol=1e-4)
