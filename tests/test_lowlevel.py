"""The hg low-level interface: CRC, and refusing bad commands by going to damping."""

from __future__ import annotations

import numpy as np
import pytest

from robot.g1 import constants as C
from robot.sdk.bridge import LowLevelBridge
from robot.sdk.lowlevel import CRC, LowCmd, LowCmdError, _TABLE, crc32_core, pack_lowcmd, quat_to_rpy
from robot.sim.world import World, WorldConfig

from conftest import Stander


def _bitwise_crc32_core(words: np.ndarray) -> int:
    """Unitree's crc32_core as written in their C SDK: bit by bit over 32-bit words."""
    crc = 0xFFFFFFFF
    poly = 0x04C11DB7
    for data in (int(w) for w in words):
        xbit = 1 << 31
        for _ in range(32):
            crc = (((crc << 1) ^ poly) if crc & 0x80000000 else (crc << 1)) & 0xFFFFFFFF
            if data & xbit:
                crc ^= poly
            xbit >>= 1
    return crc


def test_crc_table_matches_the_catalogued_check_value() -> None:
    # CRC-32/MPEG-2 of b"123456789" is 0x0376E6E7 (Greg Cook's CRC catalogue).
    crc = 0xFFFFFFFF
    for byte in b"123456789":
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) ^ byte) & 0xFF]
    assert crc == 0x0376E6E7


def test_crc_equals_unitrees_bitwise_algorithm_on_words() -> None:
    words = np.array([0x00000000, 0xFFFFFFFF, 0x12345678, 0x80000001], dtype=np.uint32)
    assert crc32_core(words) == _bitwise_crc32_core(words)
    # A literal regression value, computed once with the bitwise version above.
    assert crc32_core(words) == 0x08670D62


def test_lowcmd_crc_round_trip_and_layout() -> None:
    cmd = LowCmd()
    cmd.mode[C.ACTIVE_SLOTS] = 1
    cmd.q[:] = C.DEFAULT_Q
    cmd.kp[C.ACTIVE_SLOTS] = 100.0
    cmd.kd[C.ACTIVE_SLOTS] = 2.0
    packed = pack_lowcmd(cmd)
    # hg LowCmd_: 4 header bytes, 35 motors of 28 bytes, 4 reserve words, the crc word.
    assert len(packed) == 4 + 35 * 28 + 16 + 4
    words = np.frombuffer(packed, dtype="<u4")
    cmd.crc = CRC().Crc(cmd)
    assert cmd.crc == _bitwise_crc32_core(words[:-1])
    # The crc field itself is outside the checksum, so setting it changes nothing.
    assert CRC().Crc(cmd) == cmd.crc

    with World(WorldConfig()) as world:
        bridge = LowLevelBridge(world, check_crc=True)
        bridge.write(cmd)  # a correct crc is accepted
        assert not bridge.damping
        cmd.q[3] += 0.01  # changed after the crc was computed
        with pytest.raises(LowCmdError, match="crc"):
            bridge.write(cmd)
        assert bridge.damping


def _good_cmd() -> LowCmd:
    cmd = LowCmd()
    cmd.mode[C.ACTIVE_SLOTS] = 1
    cmd.q[:] = C.DEFAULT_Q
    cmd.kp[C.ACTIVE_SLOTS] = 300.0
    cmd.kd[C.ACTIVE_SLOTS] = 5.0
    return cmd


def test_nan_command_is_rejected_and_the_robot_only_damps(stander: Stander) -> None:
    stander.run(0.5)
    bridge, robot = stander.bridge, stander.world.robot
    cmd = _good_cmd()
    cmd.q[3] = float("nan")  # left knee
    with pytest.raises(LowCmdError, match=r"motor_cmd\[3\]\.q"):
        bridge.write(cmd)
    assert bridge.damping
    assert bridge.fault is not None
    for _ in range(50):
        dq_before = robot.dq.copy()
        bridge.step()
        s = C.ACTIVE_SLOTS
        expected = np.clip(-C.DAMP_KD * dq_before[s], -C.EFFORT_LIMIT[s], C.EFFORT_LIMIT[s])
        np.testing.assert_array_equal(robot.tau[s], expected)
        assert np.isfinite(robot.tau).all()
    # Something was moving, so the damping torques were not trivially zero.
    assert np.abs(robot.tau).max() > 0.0
    # The next valid command is obeyed again.
    bridge.write(_good_cmd())
    assert not bridge.damping and bridge.fault is None


@pytest.mark.parametrize("field,slot,value,match", [
    ("kp", 3, C.KP_MAX * 2, "kp"),
    ("kp", 0, -1.0, "kp"),
    ("kd", 16, C.KD_MAX + 1, "kd"),
    ("tau", 5, float("inf"), "not finite"),
    ("dq", 7, float("-inf"), "not finite"),
    ("mode", 2, 2, "mode"),
    ("kp", 13, 10.0, "empty"),  # waist roll: not on the 23-DoF body
    ("mode", 20, 1, "empty"),  # left wrist pitch
    ("tau", 28, 0.5, "empty"),
    ("kd", 34, 1.0, "empty"),
])
def test_bad_commands_are_rejected_with_a_clear_message(field: str, slot: int, value: float,
                                                        match: str) -> None:
    with World(WorldConfig()) as world:
        bridge = LowLevelBridge(world)
        bridge.write(_good_cmd())
        assert not bridge.damping
        cmd = _good_cmd()
        getattr(cmd, field)[slot] = value
        with pytest.raises(LowCmdError, match=match) as err:
            bridge.write(cmd)
        assert f"[{slot}]" in str(err.value)
        assert bridge.damping


def test_fast_validation_agrees_with_the_slow_path() -> None:
    """validate() has a vectorised fast path; it must refuse exactly what the field-by-field check does."""
    rng = np.random.default_rng(0)
    specials = [np.nan, np.inf, -np.inf, -1.0, 0.0, -0.0, 1e308, C.KP_MAX, C.KP_MAX + 1e-9, C.KD_MAX,
                C.KD_MAX * 1.01, 5.0]
    for _ in range(400):
        cmd = _good_cmd()
        for _ in range(rng.integers(1, 3)):
            field = ("q", "dq", "tau", "kp", "kd", "mode")[rng.integers(6)]
            slot = int(rng.integers(C.NUM_MOTOR))
            if field == "mode":
                cmd.mode[slot] = int(rng.choice([-1, 0, 1, 2, 3]))
            else:
                getattr(cmd, field)[slot] = specials[rng.integers(len(specials))]
        try:
            cmd._validate_slow()
            slow_ok = True
        except LowCmdError:
            slow_ok = False
        try:
            cmd.validate()
            fast_ok = True
        except LowCmdError:
            fast_ok = False
        assert fast_ok == slow_ok


def test_a_kept_lowstate_never_changes_and_its_deferred_imu_is_of_its_own_step(stander: Stander) -> None:
    """read() gives a new LowState each step; its IMU is computed on first access, from its own step."""
    stander.run(0.2)
    bridge, robot = stander.bridge, stander.world.robot
    stander.world.apply_impulse((3.0, -5.0, 0.0))
    stander.run(0.05)
    kept = bridge.read()
    quat, gyro, acc = robot.imu()
    state, modes = robot.state_array.copy(), robot.cmd_mode.copy()
    stander.run(0.1)  # the robot moves on, the motors keep their buffers
    np.testing.assert_array_equal(np.stack([kept.q, kept.dq, kept.ddq, kept.tau_est]), state)
    np.testing.assert_array_equal(kept.mode, modes)
    assert kept.temperature[C.ACTIVE_SLOTS].min() > 0 and not kept.temperature[list(C.EMPTY_SLOTS)].any()
    np.testing.assert_array_equal(kept.imu_state.quaternion, quat)
    np.testing.assert_array_equal(kept.imu_state.gyroscope, gyro)
    np.testing.assert_array_equal(kept.imu_state.accelerometer, acc)
    np.testing.assert_array_equal(kept.imu_state.rpy, quat_to_rpy(*quat))
    assert not np.array_equal(stander.state.imu_state.gyroscope, kept.imu_state.gyroscope)
    # Its quaternion as floats, for fall detection, without computing the rest; the same values after.
    deferred = bridge.read().imu_state
    assert deferred.quaternion_floats() == robot.imu()[0] and deferred._source is not None
    assert deferred.quaternion_floats() == tuple(deferred.quaternion.tolist())
    assert kept.imu_state.quaternion_floats() == tuple(quat)
    # Writing one field of a deferred IMU keeps the others.
    fresh = bridge.read()
    fresh.imu_state.gyroscope = np.zeros(3)
    np.testing.assert_array_equal(fresh.imu_state.quaternion, robot.imu()[0])
