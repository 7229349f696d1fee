"""An embedded EC2-compatible simulator for store tasks and images, for the demo and tests."""

from __future__ import annotations

from amimon.sim.batch import Batch
from amimon.sim.clock import Clock, FrozenClock, ScaledClock
from amimon.sim.scenario import ScenarioError, default_scenario, load_scenario
from amimon.sim.server import DEMO_CREDENTIALS, SimServer
from amimon.sim.spec import ImageSpec, Scenario, TaskSpec

__all__ = [
    "DEMO_CREDENTIALS",
    "Batch",
    "Clock",
    "FrozenClock",
    "ImageSpec",
    "ScaledClock",
    "Scenario",
    "ScenarioError",
    "SimServer",
    "TaskSpec",
    "default_scenario",
    "load_scenario",
]
