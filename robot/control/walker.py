"""System 1: a model-based walking controller for the G1 that sends LowCmd only.

The pieces, each a few lines below:

* Footsteps from the body-frame velocity command: a midline advances by (vx, vy) T and turns by
  vyaw T per step; feet sit half a step width either side of it.
* Centre of mass from the linear inverted pendulum. A reference CoM state is integrated with the
  stance foot plus DCM feedback as its ZMP and, while stepping, is pulled toward the measured CoM.
* Divergent component of motion (DCM, capture point) step adjustment (Englsberger et al. 2015,
  Khadiv et al. 2016): the DCM offset the next footsteps need is found by the backward recursion
  xi_eos[k-1] = p[k] + exp(-w T) (xi_eos[k] - p[k]); the swing foot then lands where the predicted DCM
  at the end of the step minus that offset says, so when pushed it steps toward the capture point.
* Swing feet on a smooth arc (lift, carry, set down flat); pelvis level, its yaw between the feet.
* Leg inverse kinematics (robot/control/kinematics.py), stiff joint PD and a gravity feed-forward
  J^T f on the legs that carry the weight, so the PD holds the pose without sagging; the stance legs
  answer the IMU's tilt rate, which damps the body's rocking on its feet.
* A rate limit on the command and an integral velocity loop, once a step, on the measured stride.
* Arms in a natural pose swinging against the legs, blended with the arm channel (Unitree's arm_sdk
  weight, 0..1).

It is deliberately a small set of well-known ideas with measured gains rather than a QP, in pure
Python beside the physics on one core: balance and IK update every 8 ms and the LowCmd goes out every
2 ms. docs/walking.md has the measurements behind each choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot.control.base import LocoCommand, Odometry
from robot.control.kinematics import G1Kinematics, quat_matrix, rot, yaw_of
from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState
from robot.sim.world import GRAVITY

DT = 0.002  # one physics tick; the LowCmd goes out every tick


@dataclass(frozen=True)
class WalkerConfig:
    """Gait and gains of the model-based walker (all measured on our G1 body in PyBullet)."""

    decimation: int = 4
    """Update balance, footsteps and IK every this many 2 ms ticks (1: 500 Hz); the LowCmd still goes
    out every tick, holding the last targets in between."""
    step_time: float = 0.30
    """Single-support duration, s."""
    double_support: float = 0.0
    """Both feet down between steps, s; the ZMP moves from the old stance foot to the new one."""
    step_height: float = 0.08
    """Swing-foot clearance, m (public G1 walkers use 0.04-0.08)."""
    step_width: float = 0.23
    """Lateral distance between the sole centres, m (hips are 0.233 m apart)."""
    pelvis_height: float = 0.74
    """Pelvis height over the soles while walking, m (knees bent; 0.785 is straight legs)."""
    com_height: float = 0.66
    """Height of the centre of mass for the pendulum, m (pelvis height minus 0.085, from the model)."""
    max_step_forward: float = 0.32
    max_step_backward: float = 0.20
    max_step_lateral: float = 0.22
    """Largest lateral step beyond the nominal width, m."""
    min_width: float = 0.16
    """Narrowest the feet may be placed (sole centres), m, so the legs never cross."""
    max_step_yaw: float = 0.45
    backward_plan_share: float = 0.8
    """The planned backward velocity (command plus trim) is at most this share of `max_step_backward`
    per step: a plan that asks for the longest backward step every step leaves no room to catch the DCM."""
    tau_position: float = 0.25
    """Time constant pulling the reference CoM position toward the measured one, s."""
    tau_velocity: float = 0.25
    """Time constant pulling the reference CoM velocity toward the measured one, s."""
    tau_slow: float = 0.5
    """Both time constants when the command is slow: they go from this at `tau_speeds` to
    `tau_position` / `tau_velocity` at twice those speeds (whichever of walking and turning is further)."""
    tau_speeds: tuple[float, float] = (0.1, 0.3)
    """Walking speed (m/s) and yaw rate (rad/s) where the time constants start to shorten."""
    start_dcm_margin: float = 0.0
    """Standing: start stepping when the DCM comes this close to the edge of the support polygon (or
    passes it), m; inside it the standing DCM regulation recovers by itself."""
    dcm_gain: float = 4.0
    """DCM feedback gain, 1/s (public G1 and full-size walkers use 2-4)."""
    weight_shift: float = 0.35
    """Time to move the DCM onto the stance foot before the first step, s."""
    dcm_measured_weight: float = 0.0
    """How much of the measured (vs. reference) DCM the step adjustment and ZMP feedback use."""
    max_accel: float = 1.0
    """A stop command ramps the velocities down at most this fast, m/s^2 (and rad/s^2 for yaw); the stop
    snap (`stop_snap`) is tuned for it: at 0.7 a stop from 0.3 m/s took 6 steps instead of 2."""
    change_accel: float = 0.7
    """Any other command ramps at most this fast (a start, a change of speed or direction): a sudden
    reversal from walking forward to backward is a fall otherwise, and at 1.0 a change from fast backward
    walking (0.45 m/s) to a side-step or a turn in place fell in 4 of 100 random-command episodes (seeds
    200-299, eighth session), as did a turn reversal while side-stepping (seed 197)."""
    recovery_tau: float = 0.2
    """Push recovery from standing: time constant pulling the reference CoM to the measured one, s,
    from the push until the robot stands again (the reference is first reset to the measured state)."""
    recovery_measured_weight: float = 1.0
    """Push recovery from standing: share of the measured DCM in the feedback and step aim."""
    recovery_step_time: float = 0.22
    """Push recovery from standing: single-support duration of the catching steps once no push velocity
    is carried (backward pushes, and the steps that end a carried one), s."""
    recovery_reach: float = 0.08
    """Push recovery from standing: how much further than a walking step a catching step may go, m."""
    recovery_carry: float = 1.0
    """Push recovery from standing: this share of the pelvis velocity when the push is noticed becomes a
    walking command that ramps down to standing at `recovery_decel`, so the push is caught over a few
    steps of a walk instead of by one long step."""
    recovery_carry_backward: bool = True
    """...backward too (False: only the forward and sideways parts). Left out from the seventh to the
    twelfth session, when carried backward pushes of 10 N s fell (the walk back ended with the body still
    drifting back); with the walker since (the standing ankle damping, the rest before a walk command),
    carried at `recovery_decel` 0.35, backward pushes of 20 and 25 N s hold at all 8 push times 0.5-2.25 s
    after Start (3 and 0 of 8 without; docs/walking.md)."""
    recovery_carry_forward: float = 1.6
    """The forward part of a carried push is this many times `recovery_carry` of the pelvis velocity. That
    velocity is measured when the push is noticed, while the push still goes on, so it falls short of
    what the push leaves. 25 N s forward at 7 push times 0.5-2 s after Start (seed 400): 1 of 7 held at
    1.0, 6 at 1.4, 7 at 1.6; pushes of 20, 25 and 30 N s from four sides 60, 66 and 67 of 84. The whole
    carry (sideways too) at 1.4 or 1.6 lost sideways pushes: 45 and 54 of 84 (docs/walking.md)."""
    recovery_decel: float = 0.35
    """See `recovery_carry`, m/s^2. 0.5 until the backward carry: with it, 20 N s backward fell at 2 of 8
    push times (0.7: 25 N s backward at all 8); 0.3-0.4 hold 20 N s in all four directions at all 8."""
    recovery_carry_rest: float = 1.0
    """A push is carried only after the robot has stood still this long, s: the rocking that restarts
    the stepping right after a stop is no push to carry (carried, it walked the robot off at 0.3 m/s)."""
    recovery_carry_step_time: float = 0.18
    """Single-support duration of the catching steps while a carried push velocity lasts, s."""
    walk_push_gap: float = 0.065
    """Push recovery while walking starts when the measured DCM strays this far from the reference's,
    m (0: never). Ordinary steady walking strays up to 5.5 cm, a 10 N s push 8-10 cm within 0.15 s."""
    walk_push_settled: float = 1.5
    """...but only once the command has been steady this long, s: a command change moves the
    reference ahead of the body by as much as a push does."""
    walk_push_ratio: float = 2.5
    """...and is this many times the root mean square of the gap in the walking before (a gait that
    strains, walking and turning fast, strays more: its threshold rises)."""
    walk_push_window: float = 2.0
    """Time constant of that mean square, s."""
    walk_recovery_step_time: float = 0.22
    """Single-support duration of the steps of a push recovery while walking, s."""
    walk_recovery_hasten: bool = True
    """A push noticed while walking also shortens the step under way to `walk_recovery_step_time`
    (keeping its phase), not only the steps after it."""
    walk_side_gap: float = 0.12
    """At a touchdown while walking, the measured DCM this far inside the new stance foot (toward the side
    the next foot swings to) makes the next step a quick recovery step, m (0: never). Steady walking puts
    it 5.5 cm inside (W / (1 + exp(w T)) for step width W and step time T), at most 11 cm over 5,200
    steps of random commands; after a sideways push's catching steps the legs, which may not come closer
    than `min_width`, left it 20 cm inside and the 0.3 s step that followed let it run beyond reach."""
    walk_recovery_carry: float = 1.0
    """A push from behind while walking (the measured DCM strays mostly forward) is carried: the walker's
    ramped forward velocity rises by this share of the way to the pelvis's measured forward velocity and
    ramps back to the command at `change_accel`, so the steps that catch the push are those of a faster
    walk instead of one long capture step (0: off). Over 12 push times in one gait cycle at 0.3 m/s, 15 N s
    from behind held at 3 of 12 without it (the long catching step landed late, the stance foot rolled
    onto its edge and spun), 12 of 12 with it. Sideways and backward pushes are not carried: as a side-step
    command a sideways push fell more often (docs/walking.md)."""
    walk_recovery_handover: float = 0.6
    """When a push recovery while walking ends, the measured DCM's share in the feedback and the step aim
    falls from `recovery_measured_weight` to `dcm_measured_weight` over this time, s, instead of at once
    (0: at once). At once, the reference, which has followed the body only for the recovery's few steps,
    took over in the middle of the sway the push left, and 10 N s from the right 2.5 s into a walk fell
    2.3 s later, the sway growing step by step. Over 12 push times in a gait cycle (seeds 400 and 401)
    and 6 more (seed 402), 10-20 N s in four directions: 104 -> 106 and 42 -> 43 held, every 10 N s push
    among them (docs/walking.md). Ordinary walking never starts a recovery, so it is unchanged."""
    walk_out_step_time: float = 0.15
    """Single-support duration of a walking recovery step taken with the measured DCM more than
    `walk_out_step_gap` from the stance foot toward the swing side (far inside the stance foot, in
    `walk_side_gap`'s terms, whose quick steps this shortens too), s (0: off). Pushed toward the foot
    that is landing, the catching steps are the far foot in beside it (as near as `min_width`), then the
    near foot out; while the near foot swings out the far foot carries the body, 0.25-0.3 m from the DCM,
    which runs away at omega times that. 15 N s from the left 2.1 s into a walk: over the recovery's
    0.22 s step the DCM went from 0.23 to 0.62 m beside the walk and the foot landed 0.12 m inside it;
    over 0.15 s it runs to 0.42 and the foot lands under it. Walking pushes of 10, 15 and 20 N s from four
    sides at 12 push times: 112 -> 127 of 144 held (0.13 s: 125, 0.17 s: 117); standing recoveries are
    left out, where it lost 9 of 84 pushes (docs/walking.md)."""
    walk_out_step_gap: float = 0.10
    """See `walk_out_step_time`, m (0.06: 119 of 144, 0.14: 126)."""
    walk_recovery_steps: int = 2
    """A push recovery while walking lasts this many steps (the command keeps walking meanwhile)."""
    walk_recovery_extra: int = 2
    """Up to this many more recovery steps, one at a time, while the measured DCM at a recovery step's
    touchdown misses the DCM that step aimed for along the walking direction by `walk_recovery_settle`."""
    walk_recovery_settle: float = 0.03
    """See `walk_recovery_extra`, m."""
    stop_snap: float = 0.05
    """When stopping, a capture foothold this close to the side-by-side one is replaced by it, m."""
    stop_snap_steps: int = 2
    """The stop snap acts for this many steps after a stop; then the capture foothold stands, so a DCM
    drifting a few centimetres a step is caught instead of ignored until the robot falls."""
    plan_envelope: tuple[float, float, float, float] = (1.2, 0.6, 0.4, 0.8)
    """The velocity loop's trim keeps the planned velocity (command plus trim) inside this ellipsoid:
    semi-axes forward and backward (m/s), sideways (m/s) and yaw rate (rad/s). Where the command
    alone reaches it, there is no trim. Trimmed past it, walking forward, sideways and turning at once
    fell (0.6 m/s, 0.2 m/s and 0.6 rad/s into the turn: the trim took the plan to 0.9 m/s, 0.3 m/s).
    Straight walking keeps its whole trim up to 1.2 m/s planned (0.8 m/s commanded)."""
    velocity_gain: float = 0.3
    """Integral gain of the velocity loop, per step."""
    max_velocity_bias: tuple[float, float, float] = (0.4, 0.15, 0.4)
    """Largest trim the velocity loop may add to the plan (vx, vy, yaw rate). Forward 0.3 left 0.8 m/s
    at 0.69 m/s (error 0.112); 0.4 walks it to within 0.056, the plan envelope keeping the corners."""
    idle_bias_decay: float = 0.5
    """Each step, the trim of an axis that is no longer commanded is multiplied by this."""
    tilt_gain: float = -0.1
    """Stance legs answer a measured pelvis tilt by commanding this much of it the other way."""
    tilt_rate_gain: float = 0.06
    """The same for the measured tilt rate (IMU gyroscope), s."""
    recovery_roll_gain: float = 1.0
    """In a recovery from a sideways push while standing, the pelvis rolls away from the push, toward the
    support, by this much per metre of ZMP the DCM feedback asked for beyond the sole, rad/m (0: off). Over
    the bench's four directions at 7 push times 0.5-2 s after Start, 25 N s from the left and the right
    held 14 of 14 against 1 (docs/walking.md); while walking it lost pushes, so it stays off there."""
    recovery_roll_max: float = 0.15
    """The most the pelvis rolls so, rad (it saturates in most such recoveries; 0.3 held fewer)."""
    recovery_roll_filter: float = 0.03
    """Time constant of the low-pass on that roll, s."""
    swing_slip_yaw: float = 0.1
    """A foot that has turned on the floor by more than this during its stance (rad; it happens under the
    yaw torques of a hard recovery) starts its swing from the yaw it has, not the one it landed with:
    snapped back in the first 30 ms of the swing, its toe struck the other foot (0: always the landing yaw).
    With the IK step limit of kinematics.py, walking pushes of 10 and 15 N s held 284 of 336 times against
    270 (four sides, 36 push times over a gait cycle; docs/walking.md, twenty-first session)."""
    stand_ankle_damping: float = 160.0
    """Standing, each ankle pitch gets this much torque per m/s of the pelvis's forward velocity, N m s/m
    (0: off). It damps the whole body's sway over its ankles, which the joints' own damping leaves lightly
    damped: after a stop the body rocks 0.06-0.1 rad at 0.8 Hz, still 0.05-0.07 rad 3 s later; at 160 the
    sway is gone within 1-2 s. Standing pushes at four times 0.5-2 s after Start: 15 N s held in every
    direction (10 N s forward fell at 1 s without it); walking pushes unchanged (docs/walking.md)."""
    stand_damping_filter: float = 0.02
    """Time constant of the low-pass on that velocity, s: unfiltered, a 25 Hz vibration of the pelvis came
    back as chatter of the ankle torque and a stop from walking backward took 8-16 more steps; at 0.05 s
    the damping came too late for pushes."""
    walk_after_recovery_rest: float = 0.2
    """A walk command given during a push recovery from standing starts this long after the robot stands
    again, s (the command is held at standing meanwhile). Pushed 10-20 N s from four sides at 8 times
    0.3-1 s after Start, then told to walk 0.3 s later: 2 falls in 40 without the rest (the walk's weight
    shift began while the body still drifted from the push), none with it."""
    recovery_max_steps: int = 16
    """A push recovery from standing stops after this many steps even if the DCM is not calm (an ordinary
    stop always after 8). With the standing ankle damping and a cap of 8, a walk command given during a
    recovery started from the body's drift and fell at 8 of 8 push times; at 16, 1 of 8 (0 of 8 with
    `walk_after_recovery_rest`)."""
    arm_swing: float = 0.6
    """Shoulder pitch per metre of foot advance, rad/m."""
    kp_leg: tuple[float, ...] = (710.0, 710.0, 445.0, 890.0, 570.0, 380.0)
    kd_leg: tuple[float, ...] = (8.0, 8.0, 5.0, 10.0, 5.0, 4.0)
    kp_waist: float = 300.0
    kd_waist: float = 6.0
    kp_arm: float = 80.0
    kd_arm: float = 2.0


class _Foot:
    """A foot's planar pose on the ground: x, y, yaw."""

    __slots__ = ("x", "y", "yaw")

    def __init__(self, x: float, y: float, yaw: float) -> None:
        self.x, self.y, self.yaw = x, y, yaw

    def copy(self) -> _Foot:
        return _Foot(self.x, self.y, self.yaw)

    def xy(self) -> np.ndarray:
        return np.array((self.x, self.y))


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def _r2(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array((c, -s, s, c)).reshape(2, 2)


class Walker:
    """DCM walking controller (implements robot.control.base.Controller)."""

    name = "walker"

    def __init__(self, config: WalkerConfig = WalkerConfig()) -> None:
        self.cfg = config
        self.kin = G1Kinematics()
        self.omega = math.sqrt(GRAVITY / config.com_height)
        self.cmd = LowCmd()
        self._dt = DT * config.decimation
        self._tick = 0
        self._set_gains()
        self.stepping = False
        self.steps_taken = 0

    # --- setup -----------------------------------------------------------------------------------------
    def _set_gains(self) -> None:
        c = self.cfg
        cmd = self.cmd
        cmd.mode[:] = 0
        cmd.mode[C.ACTIVE_SLOTS] = 1
        for leg in (C.LEG_SLOTS[:6], C.LEG_SLOTS[6:]):
            cmd.kp[leg] = c.kp_leg
            cmd.kd[leg] = c.kd_leg
        cmd.kp[C.WAIST_SLOT] = c.kp_waist
        cmd.kd[C.WAIST_SLOT] = c.kd_waist
        arms = np.concatenate([C.LEFT_ARM_SLOTS, C.RIGHT_ARM_SLOTS])
        cmd.kp[arms] = c.kp_arm
        cmd.kd[arms] = c.kd_arm
        cmd.q[:] = C.DEFAULT_Q

    def reset(self, state: LowState, odom: Odometry) -> None:
        """Take the present stance as the starting point: both feet down where they are."""
        R = quat_matrix(state.imu_state.quaternion)
        base = odom.position
        self.q_leg = {"left": state.q[self.kin.left.slots].copy(), "right": state.q[self.kin.right.slots].copy()}
        self.feet = {}
        for leg in (self.kin.left, self.kin.right):
            p, Rf = leg.fk(state.q[leg.slots])
            pw = base + R @ p
            self.feet[leg.side] = _Foot(pw[0], pw[1], yaw_of(R @ Rf))
        self.ground_z = 0.0
        com = base + R @ self.kin.com(state.q)
        self.x_ref = com[:2].copy()
        self.v_ref = odom.velocity[:2].copy()
        self.height = float(base[2] - 0.5 * sum(
            (base + R @ leg.fk(state.q[leg.slots])[0])[2] for leg in (self.kin.left, self.kin.right)))
        self.stepping = False
        self.recovering = False
        self._xi_meas = None
        self._recovery_roll = 0.0  # rad, about the pelvis's forward axis (recovery_roll_gain)
        self._sideways_push = False
        self._sway_v = 0.0  # low-passed forward velocity for the standing ankle damping, m/s
        self._recover_walk = 0  # steps left of a push recovery while walking
        self._recover_extra = 0
        self._walk_recovered_at = -1e9  # when the last walking push recovery ended
        self.side_recoveries = 0  # quick steps taken for a DCM far inside the stance foot (`walk_side_gap`)
        self.out_steps = 0  # quick walking recovery steps out toward the DCM (`walk_out_step_time`)
        self.slipped_feet = 0  # swings started from a foot that had turned on the floor (`swing_slip_yaw`)
        self._stood_since = 0.0  # when the robot last stopped stepping
        self._recovered = False  # ...and whether that ended a push recovery
        self._steady_since = 0.0  # when the ramped command last reached the command
        self._gap_ms = 0.02 ** 2  # mean square of the DCM gap while walking steadily
        self._swing_time = self.cfg.step_time
        self.stance = "right"
        self.t_phase = 0.0
        self.swing_start = self.feet["left"].copy()
        self.swing_target = self.feet["left"].copy()
        self.swing_pos = np.array([self.swing_start.x, self.swing_start.y, 0.0])
        self.swing_yaw = self.swing_start.yaw
        self._offset = np.zeros(2)
        self._ramped = LocoCommand(walking=False)
        self._last_touchdown = None
        self._stopping = False
        self._plan_key: tuple | None = None
        self._vel_hist: list = []
        self.vel_bias = np.zeros(3)
        self.shift_from = self.x_ref.copy()
        self.shift_time = 0.0
        self.steps_taken = 0
        self.idle_steps = 0
        self.time = 0.0
        self._tick = 0
        self.com_measured = com

    # --- the 2 ms loop -----------------------------------------------------------------------------------
    def step(self, state: LowState, odom: Odometry, command: LocoCommand) -> LowCmd:
        """The LowCmd for the next 2 ms. Balance, footsteps and IK update every `decimation` ticks; in
        between, the last command is held (the motors' PD still runs every 2 ms)."""
        self._tick += 1
        n = self.cfg.decimation
        if n > 1 and self._tick % n != 1 and self._tick > 1:
            return self.cmd
        return self.update(state, odom, command)

    def update(self, state: LowState, odom: Odometry, command: LocoCommand) -> LowCmd:
        """Plan now and return fresh targets, advancing the walker's clock by one update period
        (`decimation` x 2 ms). `step` calls it every `decimation` ticks; a caller that runs the walker at
        its own rate (a distillation teacher beside a 50 Hz policy) calls it once per period.
        """
        c = self.cfg
        dt = self._dt
        self.time += dt
        R = quat_matrix(state.imu_state.quaternion)
        self._measured = (state, odom, R)
        self._com_local = self.kin.com(state.q)  # once per tick: the pelvis placement reuses it
        com = odom.position + R @ self._com_local
        self.com_measured = com
        vel = odom.velocity[:2]
        w = self.omega
        xi_meas = com[:2] + vel / w
        self._xi_meas = xi_meas
        # Reference CoM: while stepping it is pulled toward the measured state, so a push becomes part
        # of the plan and the next footholds catch it; standing, it is the plan alone.
        if self.stepping:
            if self.recovering:
                tau_p = tau_v = c.recovery_tau
            else:
                r = self._ramped
                v0, w0 = c.tau_speeds
                f = min(1.0, max(0.0, math.hypot(r.vx, r.vy) / v0 - 1.0, abs(r.vyaw) / w0 - 1.0))
                tau_p = c.tau_slow + f * (c.tau_position - c.tau_slow)
                tau_v = c.tau_slow + f * (c.tau_velocity - c.tau_slow)
            self.x_ref += (com[:2] - self.x_ref) * min(1.0, dt / max(tau_p, 1e-9))
            self.v_ref += (vel - self.v_ref) * min(1.0, dt / max(tau_v, 1e-9))
        # Settle to the walking height gently (from spawn or a stand-up) instead of dropping at once.
        self.height += float(min(max(c.pelvis_height - self.height, -0.1 * dt), 0.1 * dt))
        command = self._ramp(command)
        if self.stepping and not self.recovering and c.walk_push_gap > 0.0:
            stray = xi_meas - self.x_ref - self.v_ref / w  # the measured DCM's gap from the reference's
            gap = float(np.linalg.norm(stray))
            if (self.time - self._steady_since >= c.walk_push_settled
                    and gap > max(c.walk_push_gap, c.walk_push_ratio * math.sqrt(self._gap_ms))):
                # Pushed while walking: the plan starts again from the measured state, and a few
                # quicker, longer steps are aimed by the measured DCM.
                frame = _r2(-self._support_frame())
                along, across = (float(v) for v in frame @ stray)
                if c.walk_recovery_carry > 0.0 and along > abs(across):
                    # From behind: walk faster for a while (`walk_recovery_carry`).
                    r = self._ramped
                    r.vx = max(r.vx, r.vx + c.walk_recovery_carry * (float((frame @ vel)[0]) - r.vx))
                self.x_ref, self.v_ref = com[:2].copy(), vel.copy()
                self.recovering = True
                self._recover_walk = c.walk_recovery_steps
                if c.walk_recovery_hasten:
                    self._hasten_swing(c.walk_recovery_step_time)
            else:
                self._gap_ms += (gap * gap - self._gap_ms) * min(1.0, dt / c.walk_push_window)
        moving = abs(command.vx) > 1e-3 or abs(command.vy) > 1e-3 or abs(command.vyaw) > 1e-3
        if not self.stepping:
            centre = self._centre()
            err = _r2(-self._support_frame()) @ (xi_meas - centre)
            half_width = 0.5 * float(np.linalg.norm(self.feet["left"].xy() - self.feet["right"].xy()))
            pushed = (abs(err[0]) > self.kin.foot_half_length - c.start_dcm_margin
                      or abs(err[1]) > half_width + self.kin.foot_half_width - c.start_dcm_margin)
            if pushed:
                self._sideways_push = abs(float(err[1])) > abs(float(err[0]))
                # The plan knew nothing of the push: start it from the measured state.
                self.x_ref, self.v_ref = com[:2].copy(), vel.copy()
                self.recovering = True
                if c.recovery_carry > 0.0 and self.time - self._stood_since >= c.recovery_carry_rest:
                    # Carried as a walk that slows to a stand: the steps catch the push over a few
                    # steps instead of one long one (backward too, unless `recovery_carry_backward` is off).
                    v = c.recovery_carry * (_r2(-self._support_frame()) @ vel)
                    if not c.recovery_carry_backward:
                        v[0] = max(float(v[0]), 0.0)
                    if v[0] > 0.0:
                        v[0] *= c.recovery_carry_forward
                    command = self._ramped
                    command.vx, command.vy = float(v[0]), float(v[1])
                    moving = True
            if moving or command.walking or pushed:
                self._start_stepping(command, err if pushed else None, self.x_ref + self.v_ref / w)
        xi_ref = self.x_ref + self.v_ref / w
        # Feedback acts on a blend of the measured and the reference DCM.
        wm = c.recovery_measured_weight if self.recovering else c.dcm_measured_weight
        if not self.recovering and c.walk_recovery_handover > 0.0 and self.stepping:
            left = 1.0 - (self.time - self._walk_recovered_at) / c.walk_recovery_handover
            if left > 0.0:
                wm = max(wm, c.recovery_measured_weight * left)
        xi_fb = xi_ref + wm * (xi_meas - xi_ref)
        if self.stepping:
            z_ff, xi_des, single = self._stepping_update(command, moving, xi_meas, xi_fb)
        else:
            z_ff, xi_des, single = self._centre(), self._centre(), False
        # DCM tracking (Englsberger 2015): z = z_ff + (1 + k / w)(xi - xi_des) gives
        # d(xi - xi_des)/dt = -k (xi - xi_des); the ZMP must stay inside the support.
        zmp = z_ff + (1.0 + c.dcm_gain / w) * (xi_fb - xi_des)
        zmp_wanted = zmp
        zmp = self._clamp_support(zmp, single)
        self.zmp = zmp
        if c.recovery_roll_gain > 0.0:
            roll = 0.0
            if self.recovering and not self._recover_walk and self._sideways_push:
                beyond = float((_r2(-odom.yaw) @ (zmp_wanted - zmp))[1])
                roll = min(max(c.recovery_roll_gain * beyond, -c.recovery_roll_max), c.recovery_roll_max)
            self._recovery_roll += (roll - self._recovery_roll) * min(1.0, dt / c.recovery_roll_filter)
        acc = w * w * (self.x_ref - zmp)
        self.x_ref += self.v_ref * dt + 0.5 * acc * dt * dt
        self.v_ref += acc * dt
        return self._whole_body(state, odom, command, R)

    def _ramp(self, command: LocoCommand) -> LocoCommand:
        """The command with its velocities rate-limited (the walker's own copy; the caller's is kept).
        A push recovery from standing comes first: until the robot stands again, the command is to stand
        (one while walking keeps the command)."""
        r = self._ramped
        resting = (self._recovered and not self.stepping
                   and self.time - self._stood_since < self.cfg.walk_after_recovery_rest)
        if (self.recovering and not self._recover_walk) or resting:
            # Standing still is the command; a carried push velocity ramps down to it.
            step = self.cfg.recovery_decel * self._dt
            r.vx -= float(min(max(r.vx, -step), step))
            r.vy -= float(min(max(r.vy, -step), step))
            r.vyaw = 0.0
            r.walking = False
            self._steady_since = self.time
        else:
            stop = command.vx == 0.0 and command.vy == 0.0 and command.vyaw == 0.0
            step = (self.cfg.max_accel if stop else self.cfg.change_accel) * self._dt
            r.vx += float(min(max(command.vx - r.vx, -step), step))
            r.vy += float(min(max(command.vy - r.vy, -step), step))
            r.vyaw += float(min(max(command.vyaw - r.vyaw, -step), step))
            r.walking = command.walking
            if max(abs(command.vx - r.vx), abs(command.vy - r.vy), abs(command.vyaw - r.vyaw)) > 1e-9:
                self._steady_since = self.time  # still ramping
        r.height = command.height
        r.arm_q, r.arm_weight = command.arm_q, command.arm_weight
        return r

    # --- stepping ---------------------------------------------------------------------------------------
    def _step_time(self) -> float:
        c = self.cfg
        if not self.recovering:
            return c.step_time
        if self._recover_walk:
            return c.walk_recovery_step_time
        r = self._ramped
        return c.recovery_carry_step_time if (r.vx or r.vy) else c.recovery_step_time

    def _centre(self) -> np.ndarray:
        return 0.5 * (self.feet["left"].xy() + self.feet["right"].xy())

    def _support_frame(self) -> float:
        a, b = self.feet["left"].yaw, self.feet["right"].yaw
        return a + 0.5 * _wrap(b - a)

    def _start_stepping(self, command: LocoCommand, push: np.ndarray | None, xi_ref: np.ndarray) -> None:
        """Begin with a weight shift: the DCM glides onto the stance foot before the other one lifts."""
        if push is not None:
            swing = "left" if push[1] > 0 else "right"
        elif command.vy > 1e-3 or command.vyaw > 1e-3:
            swing = "left"
        else:
            swing = "right"
        self.stance = "right" if swing == "left" else "left"
        self.stepping = True
        self.idle_steps = 0
        self.shift_from = xi_ref.copy()
        self.shift_time = 0.0 if push is not None else self.cfg.weight_shift
        self.t_phase = -self.shift_time
        self._begin_swing()

    def _begin_swing(self) -> None:
        swing = "left" if self.stance == "right" else "right"
        self.swing_start = self.feet[swing].copy()
        if self.cfg.swing_slip_yaw > 0.0:
            yaw = self._measure_foot(swing).yaw
            if abs(_wrap(yaw - self.swing_start.yaw)) > self.cfg.swing_slip_yaw:
                self.swing_start.yaw = yaw
                self.slipped_feet += 1
        self.swing_target = self.feet[swing].copy()
        self.swing_pos = np.array([self.swing_start.x, self.swing_start.y, 0.0])
        self.swing_yaw = self.swing_start.yaw
        self._swing_time = self._step_time()  # a push recovery shortens the steps after this one
        c = self.cfg
        if c.walk_out_step_time > 0.0 and self._recover_walk and self._xi_meas is not None:
            stance = self.feet[self.stance]
            side = 1.0 if swing == "left" else -1.0
            inside = side * float((_r2(-stance.yaw) @ (self._xi_meas - stance.xy()))[1])
            if inside > c.walk_out_step_gap:
                self._swing_time = min(self._swing_time, c.walk_out_step_time)
                self.out_steps += 1

    def _hasten_swing(self, swing_time: float) -> None:
        """Shorten the step under way to `swing_time`, keeping its phase: the swing foot speeds up along
        its arc and the rest of the step takes that share of the new time."""
        if swing_time >= self._swing_time:
            return
        if self.t_phase > 0.0:
            self.t_phase *= swing_time / self._swing_time
        self._swing_time = swing_time

    def _plan(self, command: LocoCommand) -> tuple[list[_Foot], np.ndarray]:
        """Nominal footsteps after the stance foot and the DCM offset the first one needs."""
        c = self.cfg
        T = self._step_time() + c.double_support
        stance = self.feet[self.stance]
        side = 1.0 if self.stance == "left" else -1.0  # +1: the stance foot is left of the midline
        yaw = stance.yaw
        mid = stance.xy() - _r2(yaw) @ np.array([0.0, side * c.step_width / 2.0])
        steps = [stance]
        vx, vy, vyaw = command.vx, command.vy, command.vyaw
        if abs(vx) > 1e-3 or abs(vy) > 1e-3 or abs(vyaw) > 1e-3:
            vx, vy, vyaw = vx + self.vel_bias[0], vy + self.vel_bias[1], vyaw + self.vel_bias[2]
            # Backward, the plan (command plus trim) keeps a margin below the longest backward step.
            vx = max(vx, -c.backward_plan_share * c.max_step_backward / T)
        for _ in range(4):
            mid = mid + _r2(yaw + 0.5 * vyaw * T) @ np.array([vx * T, vy * T])
            yaw = yaw + vyaw * T
            side = -side
            p = mid + _r2(yaw) @ np.array([0.0, side * c.step_width / 2.0])
            steps.append(_Foot(p[0], p[1], yaw))
        # Backward DCM recursion from a stop between the last two feet.
        decay = math.exp(-self.omega * T)
        xi = 0.5 * (steps[-1].xy() + steps[-2].xy())
        for k in range(len(steps) - 1, 0, -1):
            p = steps[k].xy()
            xi = p + decay * (xi - p)
        return steps, xi - steps[1].xy()

    def _xi_eos(self) -> np.ndarray:
        """The DCM the present swing target asks for at the end of this step."""
        return self.swing_target.xy() + self._offset

    def _stepping_update(self, command: LocoCommand, moving: bool, xi_meas: np.ndarray,
                         xi_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Advance the step phase; return the feed-forward ZMP, the desired DCM, and single support."""
        c = self.cfg
        w = self.omega
        self._stopping = not moving and not command.walking
        self.t_phase += self._dt
        ss, ds = self._swing_time, c.double_support
        swing = "left" if self.stance == "right" else "right"
        stance = self.feet[self.stance]
        T_rest = ss + ds
        if self.t_phase < 0.0:
            # The weight shift of a start from standing (the first start or any later one); it
            # ends at the first touchdown.
            first = self.shift_time > 0.0
            # During the first weight shift the DCM is still between the feet by design: aim the step
            # by the plan, not by a prediction from there.
            self._update_target(command, xi_ref, remaining=ss, nominal=first)
            xi_start = stance.xy() + math.exp(-w * T_rest) * (self._xi_eos() - stance.xy())
            if first:
                # First step: DCM from where it is onto the stance foot, ZMP = xi - d(xi)/dt / w.
                s = 1.0 + self.t_phase / self.shift_time
                xi_des = self.shift_from + (xi_start - self.shift_from) * _smooth(s)
                xi_dot = (xi_start - self.shift_from) * _smooth_rate(s) / self.shift_time
                return xi_des - xi_dot / w, xi_des, False
            # Between steps: the ZMP slides from the old stance foot to the new one.
            s = 1.0 + self.t_phase / max(ds, 1e-9)
            z = self.feet[swing].xy() + (stance.xy() - self.feet[swing].xy()) * _smooth(s)
            return z, xi_ref, False
        if self.t_phase < ss:
            if self.t_phase < 0.7 * ss:
                self._update_target(command, xi_ref, remaining=ss - self.t_phase)
            phase = self.t_phase / ss
            s = _smooth(phase)
            start, target = self.swing_start, self.swing_target
            self.swing_pos[0] = start.x + (target.x - start.x) * s
            self.swing_pos[1] = start.y + (target.y - start.y) * s
            self.swing_pos[2] = c.step_height * math.sin(math.pi * phase) ** 2
            self.swing_yaw = start.yaw + _wrap(target.yaw - start.yaw) * s
            remaining = ss - self.t_phase + ds
            xi_des = stance.xy() + math.exp(-w * remaining) * (self._xi_eos() - stance.xy())
            return stance.xy(), xi_des, True
        # Touchdown: the swing foot becomes the stance foot, where it really landed.
        self.feet[swing] = self._measure_foot(swing)
        self._track_velocity(command)
        self.steps_taken += 1
        if self._recover_walk:
            self._recover_walk -= 1
            if not self._recover_walk and self._recover_extra < c.walk_recovery_extra:
                # The last recovery step ends; one more if the DCM is still not where it was aimed.
                miss = (_r2(-stance.yaw) @ (xi_meas - self._xi_eos()))[0]  # along the walk
                if abs(float(miss)) > c.walk_recovery_settle:
                    self._recover_walk = 1
                    self._recover_extra += 1
            self.recovering = self._recover_walk > 0
            if not self.recovering:
                self._recover_extra = 0
                self._walk_recovered_at = self.time
        self.shift_time = 0.0
        self.stance = swing
        self.t_phase = -ds
        if c.walk_side_gap > 0.0 and self.stepping and not self.recovering and (moving or command.walking):
            # The DCM far inside the new stance foot (toward the side the next swing goes) runs off
            # sideways during a walking step: take the next one as a quick recovery step.
            side = 1.0 if swing == "left" else -1.0  # the new stance foot's side; inside is -side
            inside = -side * float((_r2(-self.feet[swing].yaw) @ (xi_meas - self.feet[swing].xy()))[1])
            if inside > c.walk_side_gap:
                self.recovering = True
                self._recover_walk = 1
                self.side_recoveries += 1
        if not moving and not command.walking:
            # Stop once the feet are side by side and the DCM is calm, or after 8 steps (a push recovery:
            # `recovery_max_steps`).
            self.idle_steps += 1
            calm = float(np.linalg.norm(xi_meas - self._centre())) < 0.07
            if (self._feet_parallel() and calm) or self.idle_steps >= (c.recovery_max_steps if self.recovering
                                                                        else 8):
                self.stepping = False
                self._stood_since = self.time
                self._recovered = self.recovering
                self.recovering = False
                self._recover_walk = self._recover_extra = 0
                return self._centre(), self._centre(), False
        else:
            self.idle_steps = 0
        self._begin_swing()
        return self.feet[swing].xy(), xi_ref, False

    def _track_velocity(self, command: LocoCommand) -> None:
        """Integral velocity loop, once a step: the pendulum plan alone under-walks (measured 75 % of
        0.5 m/s forward, 50 % of 0.3 m/s backward), so the plan's velocity is trimmed by the error of
        the last step's measured velocity."""
        _, odom, _ = self._measured
        if self.recovering:
            # Steps that catch a push say nothing of the gait's speed: restart the loop after them.
            self._last_touchdown = None
            self._vel_hist.clear()
            return
        now = (self.time, odom.position[0], odom.position[1], odom.yaw)
        last, self._last_touchdown = self._last_touchdown, now
        if last is None:
            return
        dt = now[0] - last[0]
        if dt < 0.5 * self.cfg.step_time:
            return
        dyaw = _wrap(now[3] - last[3])
        mid = last[3] + 0.5 * dyaw
        v = _r2(-mid) @ np.array([now[1] - last[1], now[2] - last[2]]) / dt
        # Two steps average out the lateral sway; compare with the command over the same time.
        measured = np.array([v[0], v[1], dyaw / dt])
        wanted = np.array([command.vx, command.vy, command.vyaw])
        self._vel_hist.append((measured, wanted))
        if len(self._vel_hist) > 2:
            self._vel_hist.pop(0)
        if len(self._vel_hist) < 2:
            return
        err = sum(w - m for m, w in self._vel_hist) / 2.0
        c = self.cfg
        k = c.velocity_gain
        cap = np.asarray(c.max_velocity_bias)
        self.vel_bias = np.clip(self.vel_bias + k * err, -cap, cap)
        # An axis no longer commanded lets its trim go over a few steps (dropping 0.24 m/s of forward
        # trim at once, as a fast walk turned into a side-step, threw the DCM 0.22 m behind the stance
        # foot and the robot backward), and none is carried across a reversal (windup).
        self.vel_bias[np.abs(wanted) < 1e-3] *= c.idle_bias_decay
        self.vel_bias[np.sign(self.vel_bias) * np.sign(wanted) < 0] *= 0.5
        # Inside the plan envelope; a trim it cuts goes over a few steps, as above.
        self.vel_bias *= max(_envelope_scale(wanted, self.vel_bias, c.plan_envelope), c.idle_bias_decay)

    def _measure_foot(self, side: str) -> _Foot:
        state, odom, R = self._measured
        leg = self.kin.left if side == "left" else self.kin.right
        p, Rf = leg.fk(state.q[leg.slots])
        pw = odom.position + R @ p
        return _Foot(pw[0], pw[1], yaw_of(R @ Rf))

    def _clamp_support(self, zmp: np.ndarray, single: bool) -> np.ndarray:
        """Keep the ZMP inside the stance sole (single support) or between the soles (double)."""
        # A margin inside the sole's edges: the real ZMP differs from the pendulum's by the swing leg's
        # and the trunk's momentum, and a foot whose ZMP reaches the edge rolls.
        lx = self.kin.foot_half_length - 0.025
        ly = self.kin.foot_half_width - 0.012
        if single:
            foot = self.feet[self.stance]
            local = _r2(-foot.yaw) @ (zmp - foot.xy())
            local[0] = float(min(max(local[0], -lx), lx))
            local[1] = float(min(max(local[1], -ly), ly))
            return foot.xy() + _r2(foot.yaw) @ local
        centre = self._centre()
        yaw = self._support_frame()
        local = _r2(-yaw) @ (zmp - centre)
        half = 0.5 * float(np.linalg.norm(self.feet["left"].xy() - self.feet["right"].xy())) + ly
        local[0] = float(min(max(local[0], -lx), lx))
        local[1] = float(min(max(local[1], -half), half))
        return centre + _r2(yaw) @ local

    def _feet_parallel(self) -> bool:
        left, right = self.feet["left"], self.feet["right"]
        rel = _r2(-right.yaw) @ (left.xy() - right.xy())
        return (abs(rel[0]) < 0.04 and abs(rel[1] - self.cfg.step_width) < 0.04
                and abs(_wrap(left.yaw - right.yaw)) < 0.1)

    def _update_target(self, command: LocoCommand, xi_ref: np.ndarray, remaining: float,
                       nominal: bool = False) -> None:
        """Place the swing foot where the DCM predicted for touchdown asks (capture-point stepping)."""
        c = self.cfg
        key = (self.steps_taken, self.stance, command.vx, command.vy, command.vyaw, *self.vel_bias)
        if key != self._plan_key:  # the plan only changes with the step or the command
            self._plan_key, self._plan_cache = key, self._plan(command)
        steps, offset = self._plan_cache
        self._offset = offset
        stance = self.feet[self.stance]
        w = self.omega
        if nominal:
            target = steps[1].xy()
        else:
            xi_eos = stance.xy() + math.exp(w * (remaining + c.double_support)) * (xi_ref - stance.xy())
            target = xi_eos - offset
            # Stopping: when the capture point is close to the side-by-side foothold, take that one, so
            # the next touchdown leaves the feet parallel and the walker can stand (<= 2 steps).
            # After `stop_snap_steps` steps without standing the snap is not working: catch the DCM.
            if (self._stopping and self.idle_steps < c.stop_snap_steps
                    and float(np.linalg.norm(target - steps[1].xy())) < c.stop_snap):
                target = steps[1].xy()
        # Keep the step within what the leg can reach and never cross the legs.
        side = 1.0 if self.stance == "right" else -1.0  # the swing foot lies on this side (+ = left)
        yaw = stance.yaw + float(min(max(_wrap(steps[1].yaw - stance.yaw), -c.max_step_yaw), c.max_step_yaw))
        local = _r2(-stance.yaw) @ (target - stance.xy())
        reach = c.recovery_reach if self.recovering else 0.0
        local[0] = float(min(max(local[0], -c.max_step_backward - reach), c.max_step_forward + reach))
        local[1] = side * float(min(max(side * local[1], c.min_width), c.step_width + c.max_step_lateral + reach))
        target = stance.xy() + _r2(stance.yaw) @ local
        self.swing_target = _Foot(target[0], target[1], yaw)

    # --- whole body -------------------------------------------------------------------------------------
    def _whole_body(self, state: LowState, odom: Odometry, command: LocoCommand, R: np.ndarray) -> LowCmd:
        c = self.cfg
        kin = self.kin
        swing_side = "left" if self.stance == "right" else "right"
        in_swing = self.stepping and 0.0 <= self.t_phase < self._swing_time
        # Foot targets in the world.
        targets = {}
        for side in ("left", "right"):
            f = self.feet[side]
            if in_swing and side == swing_side:
                targets[side] = (self.swing_pos.copy(), self.swing_yaw)
            else:
                targets[side] = (np.array([f.x, f.y, 0.0]), f.yaw)
        pelvis_yaw = targets["left"][1] + 0.5 * _wrap(targets["right"][1] - targets["left"][1])
        Rp = rot("z", pelvis_yaw)
        com_local = self._com_local
        height = self.height + command.height
        # Pelvis so that the CoM lands on the reference (the CoM offset rotates with the pelvis).
        pelvis = np.empty(3)
        pelvis[:2] = self.x_ref - (Rp @ com_local)[:2]
        pelvis[2] = self.ground_z + height
        cmd = self.cmd
        # Weight share for the gravity feed-forward: all on the stance leg in single support.
        if in_swing:
            share = {self.stance: 1.0, swing_side: 0.0}
        else:
            lf, rf = self.feet["left"].xy(), self.feet["right"].xy()
            d = rf - lf
            s = float(min(max(np.dot(self.x_ref - lf, d) / max(1e-6, np.dot(d, d)), 0.0), 1.0))
            share = {"left": 1.0 - s, "right": s}
        weight_local = R.T @ np.array([0.0, 0.0, -kin.total_mass * GRAVITY])
        # Stance legs are solved for the desired pelvis, tilted against the measured tilt: the joints'
        # compliance lets the pelvis roll toward the swing side under load (measured 0.1 rad at these
        # gains), and this returns it. The swing leg is solved from the measured pelvis so the foot
        # lands where it was sent in the world, whatever the body's error.
        Rh = rot("z", -odom.yaw) @ R
        roll = math.atan2(Rh[2, 1], Rh[2, 2])
        pitch = -math.asin(max(-1.0, min(1.0, Rh[2, 0])))
        gyro = state.imu_state.gyroscope
        R_stance = (Rp @ rot("y", -c.tilt_gain * pitch - c.tilt_rate_gain * gyro[1])
                    @ rot("x", -c.tilt_gain * roll - c.tilt_rate_gain * gyro[0] + self._recovery_roll))
        for leg in (kin.left, kin.right):
            p_world, yaw = targets[leg.side]
            if in_swing and leg.side == swing_side:
                p_local = R.T @ (p_world - odom.position)
                R_local = R.T @ rot("z", yaw)
            else:
                p_local = R_stance.T @ (p_world - pelvis)
                R_local = R_stance.T @ rot("z", yaw)
            q, J = leg.ik(p_local, R_local, self.q_leg[leg.side], return_jacobian=True)
            self.q_leg[leg.side] = q
            cmd.q[leg.slots] = q
            if share[leg.side] > 0.0:
                # The Jacobian of the IK step (at the last solution, within ~0.02 rad of the measured
                # angles) serves the feed-forward too: one chain walk less per leg and tick.
                cmd.tau[leg.slots] = J[:3].T @ (share[leg.side] * weight_local)
            else:
                cmd.tau[leg.slots] = 0.0
        if c.stand_ankle_damping > 0.0 and not self.stepping:
            # Ankle damping of the standing sway (the pelvis's velocity along the feet, low-passed).
            v = float((_r2(-pelvis_yaw) @ odom.velocity[:2])[0])
            self._sway_v += (v - self._sway_v) * min(1.0, self._dt / max(c.stand_damping_filter, 1e-9))
            for leg in (kin.left, kin.right):
                cmd.tau[leg.slots[4]] += c.stand_ankle_damping * self._sway_v
        else:
            self._sway_v = 0.0  # so the damping torque rises from zero when the robot stands
        # Arms: natural pose swinging against the legs, blended with the arm channel.
        upper = C.UPPER_BODY_SLOTS
        own = C.DEFAULT_Q.copy()
        if self.stepping:
            left_adv = (_r2(-pelvis_yaw) @ (targets["left"][0][:2] - pelvis[:2]))[0]
            right_adv = (_r2(-pelvis_yaw) @ (targets["right"][0][:2] - pelvis[:2]))[0]
            own[C.MOTOR_INDEX["left_shoulder_pitch_joint"]] += c.arm_swing * right_adv
            own[C.MOTOR_INDEX["right_shoulder_pitch_joint"]] += c.arm_swing * left_adv
        wgt = float(min(max(command.arm_weight, 0.0), 1.0))
        cmd.q[upper] = (1.0 - wgt) * own[upper] + wgt * command.arm_q[upper]
        return cmd


def _envelope_scale(command: np.ndarray, trim: np.ndarray, axes: tuple[float, float, float, float]) -> float:
    """The largest s in [0, 1] that keeps command + s * trim inside the ellipsoid of `axes` (forward,
    backward, sideways, yaw rate); 0 when the command alone is outside it."""
    forward = command[0] + trim[0] >= 0.0
    lims = np.array([axes[0] if forward else axes[1], axes[2], axes[3]])
    c, t = command / lims, trim / lims
    a, b, e = float(t @ t), 2.0 * float(c @ t), float(c @ c) - 1.0
    if a < 1e-12 or a + b + e <= 0.0:  # no trim, or the whole trim fits
        return 1.0
    if e >= 0.0:
        return 0.0
    return min(1.0, max(0.0, (-b + math.sqrt(b * b - 4.0 * a * e)) / (2.0 * a)))


def _smooth_rate(s: float) -> float:
    """d/ds of _smooth."""
    if s <= 0.0 or s >= 1.0:
        return 0.0
    return 0.5 * math.pi * math.sin(math.pi * s)


def _smooth(s: float) -> float:
    """0..1 with zero slope at both ends (a cosine ramp)."""
    s = min(1.0, max(0.0, s))
    return 0.5 - 0.5 * math.cos(math.pi * s)


__all__ = ["Walker", "WalkerConfig"]
