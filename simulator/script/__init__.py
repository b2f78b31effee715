"""Scripted handset sessions (`aircharge sim --script`): a YAML file says which phone does
what on which channel and what must follow on screen and in the balances; the runner replays
it headless on the simulator's phones and reports the first difference. See
docs/simulator.md, "Scripted sessions".
"""

from simulator.script.format import Script, ScriptError, Step, load_script, parse_script
from simulator.script.runner import Mismatch, ScriptRun, StepResult

__all__ = [
    "Mismatch",
    "Script",
    "ScriptError",
    "ScriptRun",
    "Step",
    "StepResult",
    "load_script",
    "parse_script",
]
