"""Benchmark aid: a digest of every file's extracted facts, to show that a change to the
extractor (a faster scan, a rewritten regex) extracts exactly what it did before.

Run by hand (not a CI test), once with the code before the change and once after:

    python bench/extract_digest.py /path/to/linux-source-6.1 --output before.json
    python bench/extract_digest.py /path/to/linux-source-6.1 --output after.json \
        --against before.json

For every file the indexer would extract (the same discovery and configuration), it extracts
the file with ``--jobs`` processes and keeps a SHA-1 of the facts (their ``repr``: every field
of every fact, in order; a failed extraction digests its exception). ``--against`` lists the
files whose digest differs, is missing or is new, and exits 1 when there is any; ``--under
DIR`` takes the files under ``DIR`` only (on both sides). It also
prints the extraction's CPU time, so that the same run measures the change. Python's string
hashing is fixed in the workers (``PYTHONHASHSEED=0``) so that a set's order cannot differ
between runs. The database is not touched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from kernel_lsp.config import load_config
from kernel_lsp.model.configuration import load_configuration
from kernel_lsp.model.walk import discover
from kernel_lsp.parse.extract import extract

_env = None


def _init(env) -> None:
    global _env
    _env = env


def _digest(item: tuple[str, str]) -> tuple[str, str, float]:
    path, abs_path = item
    data = Path(abs_path).read_bytes()
    start = time.process_time()
    try:
        facts = repr(extract(path, data, env=_env))
    except Exception as exc:  # the indexer records a problem; the digest records the error
        facts = f"extraction failed: {exc!r}"
    return path, hashlib.sha1(facts.encode("utf-8", "surrogatepass")).hexdigest(), (
        time.process_time() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--output", type=Path, required=True, help="where to write the digests")
    ap.add_argument("--against", type=Path, help="digests of another run to compare with")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--under", default="", help="only the files under this directory")
    args = ap.parse_args()
    os.environ["PYTHONHASHSEED"] = "0"  # for the workers, which the forkserver starts anew
    try:
        before = json.loads(args.against.read_text()) if args.against else None
        if before is not None and not (isinstance(before, dict) and all(
                isinstance(v, str) for v in before.values())):
            raise ValueError("not an object of path: digest")
    except (OSError, ValueError) as exc:
        print(f"{args.against}: not a digest file ({exc})", file=sys.stderr)
        return 2
    config, _ = load_config(args.tree)
    found, _ = discover(config)
    under = args.under.strip("/") + "/" if args.under.strip("/") else ""
    items = [(sf.path, str(sf.abs)) for sf in found
             if sf.size <= config.max_file_bytes and sf.path.startswith(under)]
    env, _ = load_configuration(config.root, config.arch)
    start = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(args.jobs, _init, (env,)) as pool:
        rows = list(pool.imap_unordered(_digest, items, chunksize=8))
    digests = dict(sorted((path, digest) for path, digest, _ in rows))
    print(f"{len(digests)} files extracted in {time.perf_counter() - start:.1f} s with "
          f"{args.jobs} processes, {sum(r[2] for r in rows):.1f} s of CPU")
    args.output.write_text(json.dumps(digests, indent=0) + "\n")
    if before is None:
        return 0
    before = {p: d for p, d in before.items() if p.startswith(under)}
    changed = sorted(p for p in digests.keys() & before.keys() if digests[p] != before[p])
    gone, new = sorted(before.keys() - digests.keys()), sorted(digests.keys() - before.keys())
    for label, paths in (("changed", changed), ("missing", gone), ("new", new)):
        print(f"{label}: {len(paths)}" + "".join(f"\n  {p}" for p in paths[:20]))
    return 1 if changed or gone or new else 0


if __name__ == "__main__":
    sys.exit(main())
