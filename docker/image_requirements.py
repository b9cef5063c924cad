"""Print the packages a Docker image installs on top of its base image.

They are the runtime part of requirements.in (everything above the "Development and tests"
comment), without the packages named by --without (e.g. rasa, which the action server's
image does not need). The Dockerfiles install them with requirements.txt as constraints,
so the image gets the versions the tests ran with and pip keeps Rasa's own pins:

    python docker/image_requirements.py requirements.in --without rasa > image.txt
    pip install -r image.txt -c requirements.txt && pip check

Standard library only: it runs in the base images before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DEVELOPMENT_MARKER = "# Development and tests"


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    if not match:
        raise ValueError(f"not a requirement: {line!r}")
    return canonical(match.group(1))


def runtime_requirements(text: str, without: set[str] | None = None) -> list[str]:
    """The requirement lines above the development marker, minus the `without` names."""
    skip = {canonical(name) for name in without or set()}
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(DEVELOPMENT_MARKER):
            break
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if requirement_name(line) not in skip:
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements_in", type=Path)
    parser.add_argument("--without", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    text = args.requirements_in.read_text(encoding="utf-8")
    print("\n".join(runtime_requirements(text, set(args.without))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
