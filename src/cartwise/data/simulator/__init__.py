"""A pay-later marketplace simulator whose signal comes from behaviour, not from label noise."""

from cartwise.data.simulator.config import SimulationConfig
from cartwise.data.simulator.engine import CompromisedWindow, SimulationResult, run, simulate

__all__ = ["CompromisedWindow", "SimulationConfig", "SimulationResult", "run", "simulate"]
