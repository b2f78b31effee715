"""The terminal simulator's Textual app: handsets on every channel and consoles for the
carrier elements, drawn over `simulator.phones.Phones` and `simulator.world.World` (which carry
no Textual, so that the headless script runner drives the same objects). See
docs/simulator.md.
"""

from simulator.tui.app import SimulatorApp

__all__ = ["SimulatorApp"]
