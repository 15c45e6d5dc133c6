"""The closed loop around the planner and the skills."""

from policies.agent.loop import Agent, AgentConfig, Outcome, Runner, Trace
from policies.agent.sim import SimSession

__all__ = ["Agent", "AgentConfig", "Outcome", "Runner", "SimSession", "Trace"]
