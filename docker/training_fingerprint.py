"""Print a fingerprint of the model's training files.

The files are those the Makefile retrains on: config.yml, domain.yml and everything under
data/nlu, data/rules, data/stories and data/dict. `make train` writes the fingerprint of the
files it trained on next to the model (models/service-assistant.fingerprint);
docker/rasa.Dockerfile keeps that model only when the files in the build still have it,
and trains otherwise.

Standard library only: it runs in the build before anything is installed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

FILES = ("config.yml", "domain.yml")
FOLDERS = ("data/nlu", "data/rules", "data/stories", "data/dict")


def training_files(root: Path) -> list[Path]:
    found = [root / name for name in FILES]
    for folder in FOLDERS:
        found.extend(path for path in (root / folder).rglob("*") if path.is_file())
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def fingerprint(root: Path) -> str:
    """SHA-256 over each training file's path and content."""
    digest = hashlib.sha256()
    for path in training_files(root):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    print(fingerprint(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
