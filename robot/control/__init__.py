"""System 1: whole-body controllers behind one protocol, fall detection, gestures, kinematics."""

from robot.control.base import Controller, LocoCommand, Odometry
from robot.control.fall import FallDetector
from robot.control.stand import StandController
from robot.control.walker import Walker, WalkerConfig

__all__ = ["Controller", "FallDetector", "LocoCommand", "Odometry", "StandController", "Walker", "WalkerConfig"]
