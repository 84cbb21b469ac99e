#!/usr/bin/env python3
"""Keeps the metric catalogue (engine/metrics-catalog/src/catalogue.rs) and the code in step.

Fails when Rust code emits a `strait_*` metric literal (`counter!/gauge!/histogram!("strait_...")`, with or without
the `metrics::` path, possibly over several lines, or `scraped("strait_...")` for series rendered at scrape time) that the catalogue does not list, when the catalogue lists a
name nothing emits, or when the crates that emit a name differ from its `emitted_by`. Tests and benches are
ignored (they read metrics, they do not define them). docs/metrics.md is checked by the catalogue crate's own unit
test, which renders it.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUE = os.path.join(ROOT, "engine", "metrics-catalog", "src", "catalogue.rs")
SKIP_DIRS = {"target", ".git", "vendor", "node_modules", "tests", "benches"}
# Recorder macros, and `scraped("strait_...")`: the series server/src/scrape.rs renders from live state.
EMIT = re.compile(r'\b(counter!|gauge!|histogram!|scraped)\s*\(\s*"(strait_[A-Za-z0-9_]*)"')
ROW = re.compile(r'name:\s*"([^"]+)".*?emitted_by:\s*&\[([^\]]*)\]', re.S)


def crate_of(path):
    """The package name of the Cargo.toml closest above `path`."""
    d = os.path.dirname(path)
    while d.startswith(ROOT):
        manifest = os.path.join(d, "Cargo.toml")
        if os.path.exists(manifest):
            m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', open(manifest).read(), re.M | re.S)
            if m:
                return m.group(1)
        d = os.path.dirname(d)
    return "?"


def emitted():
    """name -> {crate: [file:line, ...]} for every emitting call site outside tests."""
    found = {}
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(top, f)
            text = open(path, encoding="utf-8").read()
            for m in EMIT.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                rel = os.path.relpath(path, ROOT)
                found.setdefault(m.group(2), {}).setdefault(crate_of(path), []).append(f"{rel}:{line}")
    return found


def catalogued():
    text = open(CATALOGUE, encoding="utf-8").read()
    rows = {}
    for m in ROW.finditer(text):
        rows[m.group(1)] = set(re.findall(r'"([^"]+)"', m.group(2)))
    return rows


def main():
    code, cat = emitted(), catalogued()
    problems = []
    for name in sorted(set(code) - set(cat)):
        sites = ", ".join(s for v in code[name].values() for s in v)
        problems.append(f"{name}: emitted at {sites} but not in the catalogue ({os.path.relpath(CATALOGUE, ROOT)})")
    for name in sorted(set(cat) - set(code)):
        problems.append(f"{name}: in the catalogue but nothing emits it (remove its row, re-render docs/metrics.md)")
    for name in sorted(set(cat) & set(code)):
        crates = set(code[name])
        if crates != cat[name]:
            problems.append(f"{name}: emitted by {sorted(crates)}, catalogue says emitted_by {sorted(cat[name])}")
    for p in problems:
        print("METRICS:", p)
    if problems:
        print("After editing the catalogue: STRAIT_BLESS=1 cargo test -p strait-metrics  (re-renders docs/metrics.md)")
        return 1
    print(f"ok: {len(cat)} metrics, catalogue and code agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
