#!/usr/bin/env python3
"""Sizes that keep the code easy to carry on: lines of each Rust file before its
tests and lines of each function, in src/ and providers/*/src/.

    python3 ci/structure.py            # report what is over the limits, exit 1 if any
    python3 ci/structure.py --top 20   # the 20 longest files and functions, whatever their size
"""
import argparse
import pathlib
import re
import sys

FILE_LIMIT = 500
FUNCTION_LIMIT = 120
ROOTS = ["src"] + sorted(str(p) for p in pathlib.Path("providers").glob("*/src"))
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")
TESTS = re.compile(r"^\s*#\[cfg\(test\)\]")


def strip_strings(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//", 1)[0]


def measure(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    before_tests = len(lines)
    for i, line in enumerate(lines):
        if TESTS.match(line):
            before_tests = i
            break
    functions = []
    i = 0
    while i < before_tests:
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = strip_strings(lines[j])
            if not opened and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                break
            j += 1
        if opened:
            functions.append((j - i + 1, m.group(7), i + 1))
        i += 1
    return before_tests, functions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    files, functions = [], []
    for root in ROOTS:
        for path in sorted(pathlib.Path(root).rglob("*.rs")):
            size, fns = measure(path)
            files.append((size, str(path)))
            functions += [(n, f"{path}:{line} {name}") for n, name, line in fns]
    files.sort(reverse=True)
    functions.sort(reverse=True)
    if args.top:
        print(f"files (lines before tests), limit {FILE_LIMIT}:")
        for n, p in files[: args.top]:
            print(f"  {n:5} {p}")
        print(f"functions (lines), limit {FUNCTION_LIMIT}:")
        for n, p in functions[: args.top]:
            print(f"  {n:5} {p}")
        return 0
    over = [f"file {p}: {n} lines before its tests (limit {FILE_LIMIT})" for n, p in files if n > FILE_LIMIT]
    over += [f"function {p}: {n} lines (limit {FUNCTION_LIMIT})" for n, p in functions if n > FUNCTION_LIMIT]
    print("\n".join(over) if over else "structure: every file and function within its limit")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
