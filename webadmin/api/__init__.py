"""The read-only JSON API `/api/v1` for the simulator's consoles, scripts and monitoring.

Bearer-token protected; agents with their balances, operations by agent, number and time,
and the operations whose outcome is not settled. Documented in `docs/api.md`.
"""

from webadmin.api.app import API_PREFIX, create_api

__all__ = ["API_PREFIX", "create_api"]
