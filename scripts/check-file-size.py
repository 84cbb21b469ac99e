#!/usr/bin/env python3
"""The workspace rule "no file over ~800 lines except generated ones".

Lists every file in the clone (tracked, or new and not ignored) with more than LIMIT lines that no pattern of
scripts/long-files.allow matches, and fails if there is any. Patterns in the allow-list that match no file are
reported too, so the list does not outlive what it excuses.
"""
import fnmatch
import os
import subprocess
import sys

LIMIT = 800
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOW = os.path.join(ROOT, "scripts", "long-files.allow")


def allow_patterns():
    out = []
    for raw in open(ALLOW, encoding="utf-8"):
        pattern = raw.split("#", 1)[0].strip()
        if pattern:
            out.append(pattern)
    return out


def files():
    listed = subprocess.run(
        ["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return sorted(f for f in set(listed) if f and os.path.isfile(os.path.join(ROOT, f)))


def line_count(path):
    with open(os.path.join(ROOT, path), "rb") as fh:
        data = fh.read()
    if b"\0" in data[:8192]:
        return 0  # binary
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def main():
    patterns = allow_patterns()
    used = set()
    too_long = []
    for f in files():
        n = line_count(f)
        if n <= LIMIT:
            continue
        hit = next((p for p in patterns if fnmatch.fnmatchcase(f, p)), None)
        if hit:
            used.add(hit)
        else:
            too_long.append((n, f))
    for n, f in sorted(too_long, reverse=True):
        print(f"TOO LONG: {f}: {n} lines (limit {LIMIT}; split it, or list it in scripts/long-files.allow if generated)")
    stale = [p for p in patterns if p not in used]
    for p in stale:
        print(f"STALE ALLOW: scripts/long-files.allow lists '{p}', which matches no file over {LIMIT} lines")
    if too_long or stale:
        return 1
    print(f"ok: no file over {LIMIT} lines outside scripts/long-files.allow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
