#!/usr/bin/env python3
"""Checks that no module of cluster/src imports a module on a higher layer (ARCHITECTURE.md,
"Inside cluster/: the layers"). Prints every upward import and exits 1 if there is one."""
import pathlib
import re
import sys

# Lowest first; modules on one line may import each other.
LAYERS = [
    ["ids", "clock", "error", "metrics", "trace_context"],
    ["model", "crypto", "caller", "api_key", "node_identity"],
    ["command", "protocol", "settings", "rate_limit", "transport", "email_templates"],
    ["lookup", "relations", "tables", "mfa"],
    ["query", "directory", "authz"],
    ["apply", "read"],
    ["raft"],
    ["webhooks", "mail"],
    ["oauth", "access", "decide", "scim_outbound"],
    ["actors"],
    ["service", "restore"],
]
LEVEL = {m: i for i, line in enumerate(LAYERS) for m in line}

root = pathlib.Path(__file__).resolve().parent.parent / "cluster" / "src"
problems = []
for path in sorted(root.rglob("*.rs")):
    rel = path.relative_to(root)
    top = rel.parts[0].removesuffix(".rs")
    if top == "lib":
        continue
    if top not in LEVEL:
        problems.append(f"{rel}: module `{top}` has no layer in scripts/check-layers.py")
        continue
    text = path.read_text()
    # Test modules may reach anywhere.
    text = text.split("#[cfg(test)]")[0]
    for used in sorted(set(re.findall(r"crate::([a-z_]+)", text))):
        if used in LEVEL and LEVEL[used] > LEVEL[top]:
            problems.append(f"{rel}: `{top}` imports `{used}`, a higher layer")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
