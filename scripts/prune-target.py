#!/usr/bin/env python3
"""Deletes superseded executables from the shared target dir's debug/deps.

Every build whose inputs changed links a test or bin executable under a new hash and leaves the
old one behind; across sessions and CI runs they piled up to 40 GB and filled the disk. For each
name only the newest executable is kept (cargo links a deleted one again if it is ever needed).
Libraries (.rlib, .rmeta, .so, .a, ...) and build-script output are left alone.
"""

import collections
import os
import sys


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/lumo/target")
    deps = os.path.join(target, "debug", "deps")
    if not os.path.isdir(deps):
        return 0
    by_name = collections.defaultdict(list)
    for entry in os.scandir(deps):
        if "." in entry.name or not entry.is_file() or not os.access(entry.path, os.X_OK):
            continue
        name = entry.name.rsplit("-", 1)[0]
        by_name[name].append((entry.stat().st_mtime, entry.path, entry.stat().st_size))
    freed = 0
    for versions in by_name.values():
        versions.sort()
        for _, path, size in versions[:-1]:
            os.remove(path)
            freed += size
    print(f"prune-target: {freed / 1e9:.1f} GB of superseded executables deleted from {deps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
