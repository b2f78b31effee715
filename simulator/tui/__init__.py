"""The terminal simulator: handsets on every channel and consoles for the carrier elements.

`World` (world.py) holds what it drives: the emulators and an `/api/v1` client; `Phones`
(phone.py) are the handsets as plain objects; `SimulatorApp` (app.py) is the Textual app over
them. See docs/simulator.md.
"""

from simulator.tui.app import SimulatorApp
from simulator.tui.phone import Phone, Phones
from simulator.tui.world import ApiClient, World

__all__ = ["ApiClient", "Phone", "Phones", "SimulatorApp", "World"]
