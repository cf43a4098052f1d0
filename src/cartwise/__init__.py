"""cartwise: an ML platform for pay-later commerce (fraud, credit, recommendations)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
