#!/usr/bin/env python3
"""Prints, for every test that failed in the given ctest build directories, the part of its
output that says why: the unittest failure reports (from the first "=====" line to "Ran N
tests"), GoogleTest's failure lines, or else the last lines. scripts/test.sh calls it at the
very end of a failed run, so the reason is in the last screen of a long CI log.

    scripts/failure_digest.py build [build-asan ...]
"""
import os
import re
import sys

MAX_LINES = 80


def blocks(log):
    """(test name, passed, output lines) for each test in a ctest LastTest.log."""
    name, out, in_output = None, [], False
    for line in log.splitlines():
        m = re.match(r"^\d+/\d+ Test: (\S+)", line)
        if m:
            name, out, in_output = m.group(1), [], False
        elif line == "Output:":
            in_output = True
        elif line == "<end of output>":
            in_output = False
        elif name and (line.startswith("Test Passed.") or line.startswith("Test Failed")):
            yield name, line.startswith("Test Passed."), out
            name = None
        elif in_output and not line.startswith("-" * 58):
            out.append(line)


def why(lines):
    start = next((i for i, line in enumerate(lines) if line.startswith("=" * 70)), None)
    if start is not None:
        end = next((i for i in range(start, len(lines)) if re.match(r"^Ran \d+ tests? in", lines[i])),
                   len(lines))
        picked = lines[start:end + 1]
    else:
        picked = [line for line in lines
                  if "Failure" in line or "[  FAILED  ]" in line or "ERROR: " in line]
        if not picked:
            picked = lines[-40:]
    if len(picked) > MAX_LINES:
        picked = picked[:MAX_LINES - 20] + ["[... %d lines ...]" % (len(picked) - MAX_LINES + 20)] + \
            picked[-20:]
    return picked


def main(dirs):
    for d in dirs:
        path = os.path.join(d, "Testing", "Temporary", "LastTest.log")
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            log = f.read()
        for name, passed, out in blocks(log):
            if passed:
                continue
            print("== why %s failed (%s)" % (name, path))
            for line in why(out):
                print("   " + line)


if __name__ == "__main__":
    main(sys.argv[1:])
