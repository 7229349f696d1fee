"""An embedded EC2-compatible simulator for DescribeStoreImageTasks, for the demo and tests."""

from __future__ import annotations

from amimon.sim.clock import Clock, FrozenClock, ScaledClock
from amimon.sim.scenario import Scenario, ScenarioError, TaskSpec, default_scenario, load_scenario
from amimon.sim.server import DEMO_CREDENTIALS, SimServer

__all__ = [
    "DEMO_CREDENTIALS",
    "Clock",
    "FrozenClock",
    "ScaledClock",
    "Scenario",
    "ScenarioError",
    "SimServer",
    "TaskSpec",
    "default_scenario",
    "load_scenario",
]
