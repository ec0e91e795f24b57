"""JUnit XML in the Jenkins/Ant shape: ``testsuites/testsuite/testcase/failure``.

Test reporters (Jenkins, GitLab, the GitHub test-reporter actions) read this shape; the
file validates against ``tests/schemas/junit.xsd``. Each :class:`~genailog.render.checks.
Check` is one test case: a failed check carries a ``<failure>`` whose ``message`` is the
same wording the terminal prints, a check not judged is ``<skipped>``. Text goes through
:mod:`xml.etree.ElementTree`, which escapes markup; characters XML 1.0 cannot hold
(control characters from logs) are shown as ``\\xNN`` first, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from genailog.render.checks import Check

#: What XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can hold: forbidden characters shown as ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def to_junit(checks: Sequence[Check], name: str) -> str:
    """The whole document: one ``testsuite`` per suite name, in first-seen order."""
    suites: dict[str, list[Check]] = {}
    for check in checks:
        suites.setdefault(check.suite, []).append(check)
    root = ET.Element("testsuites", name=xml_text(name), tests=str(len(checks)),
                      failures=str(sum(c.failed for c in checks)), errors="0",
                      skipped=str(sum(c.status == "skipped" for c in checks)))
    for index, (suite, cases) in enumerate(suites.items()):
        _suite(root, suite, cases, index)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(root: ET.Element, name: str, cases: list[Check], index: int) -> None:
    element = ET.SubElement(root, "testsuite", name=xml_text(name), id=str(index),
                            tests=str(len(cases)), failures=str(sum(c.failed for c in cases)),
                            errors="0", skipped=str(sum(c.status == "skipped" for c in cases)),
                            time="0")
    for check in cases:
        case = ET.SubElement(element, "testcase", name=xml_text(check.name),
                             classname=xml_text(name), time="0")
        if check.failed:
            failure = ET.SubElement(case, "failure", message=xml_text(check.message),
                                    type="genailog")
            failure.text = xml_text(check.detail or check.message)
        elif check.status == "skipped":
            ET.SubElement(case, "skipped", message=xml_text(check.message))
        elif check.detail:
            ET.SubElement(case, "system-out").text = xml_text(check.detail)
