"""System 2: the planner (instruction + head-camera frame -> skill calls)."""
