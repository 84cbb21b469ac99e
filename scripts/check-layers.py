#!/usr/bin/env python3
"""Module layering inside each workspace crate.

1. No import cycle between the top-level modules of any crate's `src/` (`a -> b -> a` through `crate::` paths).
2. strait-kafka: the coordinator layer (`coordinator/`, and the `topics`, `session`, `codec`, `error` modules
   below it) never imports the API handlers (`crate::api`) or the broker (`crate::broker`).

Prints each violation and exits 1; prints nothing and exits 0 when the tree is clean.
Usage: scripts/check-layers.py [crate-src-dir ...]   (default: every workspace member's src/)
"""
import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (crate src dir relative to the root, lower modules, forbidden module paths)
LAYER_RULES = [
    (
        "protocols/kafka/src",
        ["coordinator", "topics", "session", "codec", "codec.rs", "error.rs", "session.rs"],
        ["api", "broker"],
    ),
]


def strip_comments(text):
    return re.sub(r"//.*", "", text)


def module_files(src):
    mods = {}
    for f in os.listdir(src):
        p = os.path.join(src, f)
        if f.endswith(".rs") and f not in ("lib.rs", "main.rs"):
            mods.setdefault(f[:-3], []).append(p)
        elif os.path.isdir(p):
            fs = []
            for r, _, ns in os.walk(p):
                fs += [os.path.join(r, n) for n in ns if n.endswith(".rs")]
            mods.setdefault(f, []).extend(fs)
    return mods


def crate_graph(src):
    mods = module_files(src)
    g = collections.defaultdict(set)
    for m, fs in mods.items():
        for f in fs:
            t = strip_comments(open(f).read())
            for mm in re.finditer(r"crate::\{([^;]*?)\}\s*;", t, re.S):
                for part in mm.group(1).split(","):
                    n = part.strip().split("::")[0].strip("{} \n")
                    if n in mods and n != m:
                        g[m].add(n)
            for mm in re.finditer(r"crate::(\w+)", t):
                n = mm.group(1)
                if n in mods and n != m:
                    g[m].add(n)
    return mods, g


def sccs(nodes, g):
    idx, low, st, on, res, c = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def sc(v):
        idx[v] = low[v] = c[0]
        c[0] += 1
        st.append(v)
        on.add(v)
        for w in g[v]:
            if w not in idx:
                sc(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(comp)

    for v in nodes:
        if v not in idx:
            sc(v)
    return res


def workspace_srcs():
    text = open(os.path.join(ROOT, "Cargo.toml")).read()
    block = re.search(r"members\s*=\s*\[(.*?)\]", text, re.S).group(1)
    out = []
    for m in re.findall(r'"([^"]+)"', block):
        src = os.path.join(ROOT, m, "src")
        if os.path.isdir(src):
            out.append(src)
    return out


def check_cycles(src):
    mods, g = crate_graph(src)
    bad = False
    for comp in sccs(list(mods), g):
        bad = True
        print(src, "cycle:", sorted(comp))
        for a in sorted(comp):
            print("   ", a, "->", sorted(x for x in g[a] if x in comp))
    return bad


def check_layers():
    bad = False
    for rel, lower, forbidden in LAYER_RULES:
        src = os.path.join(ROOT, rel)
        pat = re.compile(r"crate::(?:\{[^;]*?\b)?(" + "|".join(forbidden) + r")\b")
        for name in lower:
            p = os.path.join(src, name)
            files = []
            if os.path.isdir(p):
                for r, _, ns in os.walk(p):
                    files += [os.path.join(r, n) for n in ns if n.endswith(".rs")]
            elif os.path.isfile(p):
                files.append(p)
            for f in files:
                for i, line in enumerate(open(f), 1):
                    code = strip_comments(line)
                    if pat.search(code):
                        bad = True
                        print(f"{os.path.relpath(f, ROOT)}:{i}: lower layer imports {pat.search(code).group(0)}")
    return bad


def main():
    srcs = sys.argv[1:] or workspace_srcs()
    bad = any([check_cycles(s) for s in srcs])
    if not sys.argv[1:]:
        bad = check_layers() or bad
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
