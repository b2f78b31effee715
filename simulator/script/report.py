"""A run of scripted sessions as JUnit XML, the report CI systems read (GitLab, Jenkins,
GitHub's test reporters): one test suite, one test case per session, a failure with the
mismatch and its file and line. PINs are masked as on the console."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from simulator.masking import mask_pins
from simulator.script.format import Script
from simulator.script.runner import StepResult

SessionResult = tuple[Script, Sequence[StepResult]]


def passed(script: Script, steps: Sequence[StepResult]) -> bool:
    """Every step of the script ran and held."""
    return len(steps) == len(script.steps) and all(step.ok for step in steps)


def junit_xml(results: Sequence[SessionResult], suite: str = "aircharge sim") -> str:
    failures = sum(not passed(script, steps) for script, steps in results)
    seconds = sum(step.seconds for _, steps in results for step in steps)
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{seconds:.3f}",
    )
    for script, steps in results:
        case = ET.SubElement(
            root,
            "testcase",
            classname=script.path,
            name=script.name,
            time=f"{sum(step.seconds for step in steps):.3f}",
        )
        failed = [step for step in steps if not step.ok]
        if failed:
            step = failed[0]
            where = f"{script.path}:{step.step.line}"
            failure = ET.SubElement(
                case, "failure", message=mask_pins(f"{where}: {step.detail}"), type="mismatch"
            )
            failure.text = mask_pins(f"{where}: {step.step.describe()}\n{step.detail}")
        elif not passed(script, steps):
            ET.SubElement(case, "failure", message="not every step ran", type="incomplete")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["SessionResult", "junit_xml", "passed"]
