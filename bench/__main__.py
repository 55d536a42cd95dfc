"""``python -m bench``: run the whole benchmark suite and write ``bench/results/latest.md`` (+ README table).

Phases (``--only`` picks some): throughput, growth, scaleout, faults, fuzz, burst. Every process is started here and
stopped here; everything is on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import burst, faults, scenarios

HERE = Path(__file__).resolve().parent
PHASES: dict[str, Callable[..., str]] = {
    "throughput": scenarios.throughput, "growth": scenarios.growth, "scaleout": scenarios.scaleout,
    "faults": faults.faults, "fuzz": scenarios.fuzz, "burst": burst.burst,
}
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=PHASES, default=list(PHASES))
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not for the table)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.md")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    started = time.time()
    sections = [
        "# Benchmark results",
        "",
        f"- command: `python -m bench {' '.join(sys.argv[1:])}`".rstrip(),
        f"- when: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; machine: {platform.machine()}, "
        f"{_cpus()} CPUs (shared with other work: absolute figures are noisy, ratios within one run are "
        f"the result); Python {platform.python_version()}",
        f"- process logs: `{logdir}`",
        "",
    ]
    for phase in args.only:
        print(f"== {phase}", flush=True)
        t0 = time.monotonic()
        try:
            text = PHASES[phase](logdir, quick=args.quick)
        except Exception as exc:  # one phase failing must not lose the others' figures
            import traceback

            traceback.print_exc()
            text = f"## {phase}\n\nFAILED: {type(exc).__name__}: {exc}"
        sections += [text, f"_{phase}: {time.monotonic() - t0:.0f} s_", ""]
        print(text, flush=True)
    sections.append(f"Total: {time.time() - started:.0f} s.")
    report = "\n".join(sections) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    readme = HERE / "README.md"
    if readme.exists() and not args.quick and set(args.only) == set(PHASES):
        text = readme.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            readme.write_text(head + BEGIN + "\n" + report + END + rest.split(END, 1)[1], encoding="utf-8")
    print(f"written {args.out}")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
