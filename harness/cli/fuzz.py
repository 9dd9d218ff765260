"""``smartpbx-harness fuzz``: the live differential property from the command line (docs/fuzz.md).

The same engine as ``tests/suite/test_live_differential.py`` (``harness.suite.differential``),
run without pytest: Hypothesis draws settings and calls, each is played on the target with
virtual phones and compared with the model; the first deviation is shrunk and written as a
tenant folder a person replays with ``predict`` and ``serve``. Exit 0: no counterexample;
1: a counterexample (written under ``--out``); 2: bad input (incl. a target whose settings the
harness may not change); 3: the harness could not run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from hypothesis import settings

from harness.errors import InputError, Problem
from harness.guide.load import load_tenant
from harness.guide.types import Settings, Tenant
from harness.sip.runtime import Runtime
from harness.suite.differential import (
    SCENARIO_FILE,
    Differential,
    Example,
    RunResult,
    default_tenant,
    differential_on,
    embedded_differential,
)
from harness.target.config import EMBEDDED, load_target_file
from harness.target.model import Capability

EXIT_OK = 0
EXIT_COUNTEREXAMPLE = 1
DEFAULT_EXAMPLES = 50
DEFAULT_SCALE = 0.01


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (a seed)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: a seed is 0 or more")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"{value}: the time scale must be in (0, 10]")
    return value


def _tenant(guide: Path | None) -> tuple[Tenant, Path | None]:
    """The tenant whose guide the property runs on (its 設定 is replaced by drawn ones)."""
    if guide is None:
        return default_tenant(), None
    tenant = load_tenant(guide)  # InputError (exit 2) naming file › table › row › field
    return tenant.model_copy(update={"settings": Settings()}), guide


def _target_context(
    args: argparse.Namespace, tenant: Tenant, guide_dir: Path | None, runtime: Runtime, work: Path
) -> AbstractContextManager[Differential]:
    if args.target == EMBEDDED:
        return embedded_differential(tenant, work / "sim", runtime, time_scale=args.time_scale)
    path = Path(args.target)
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        raise InputError(
            [Problem(where=f"--target {args.target}", rule=f"{state}: give `embedded` or a file")],
            subject="fuzz options",
        )
    target = load_target_file(path)
    missing = [
        c.value
        for c in (Capability.PROVISIONING_API, Capability.CHANGES_SETTINGS)
        if not target.has(c)
    ]
    if missing:
        raise InputError(
            [
                Problem(
                    where=f"--target {args.target}",
                    rule="fuzzing replaces the tenant's settings before every drawn call, "
                    "which needs a provisioning API and changes_settings = true; this target "
                    f"lacks {', '.join(missing)} (a live tenant is validated with `run`, "
                    "never fuzzed): use `--target embedded` or a target file with "
                    "[api] and changes_settings = true",
                )
            ],
            subject="fuzz options",
        )
    if guide_dir is None:
        raise InputError(
            [
                Problem(
                    where="--guide",
                    rule="required with a target file: the tenant folder the target serves",
                )
            ],
            subject="fuzz options",
        )
    return differential_on(target, tenant, guide_dir, runtime, work / "phones")


def _progress(limit: int) -> Any:
    failing = 0

    def show(count: int, example: Example, passed: bool) -> None:
        nonlocal failing
        failing += 0 if passed else 1
        scenario = example.scenario
        print(
            f"\r{count} examples ({limit} to draw; shrinking runs more), {failing} failing  "
            f"last: {scenario.caller} → {scenario.dialled} {'ok' if passed else 'DIFFERS'}"
            + " "
            * 10,
            end="",
            file=sys.stderr,
            flush=True,
        )

    return show


def summary(result: RunResult) -> str:
    """The lines printed after a run: counts, speed, seed, unconfirmed failures."""
    lines = [
        f"examples run: {result.examples} in {result.seconds:.1f} s ({result.per_second:.2f}/s)",
        f"failing runs: {result.failures} (counterexample: "
        f"{'yes' if result.counterexample else 'none'})",
        f"reproduce: {result.seed_text('--seed')}",
    ]
    lines += [f"failed once, agreed on its replay: {u.text()}" for u in result.unconfirmed]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    tenant, guide_dir = _tenant(args.guide)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            [Problem(where=f"--out {out}", rule=f"cannot be created ({error})")],
            subject="fuzz options",
        ) from None
    chosen = settings(max_examples=args.examples, derandomize=False, deadline=None)
    runtime = Runtime(name="fuzz-phones").start()
    try:
        with tempfile.TemporaryDirectory(prefix="smartpbx-fuzz-") as scratch:
            with _target_context(args, tenant, guide_dir, runtime, Path(scratch)) as prop:
                result = prop.run(chosen, seed_value=args.seed, progress=_progress(args.examples))
    finally:
        runtime.stop()
    print(file=sys.stderr)
    print(summary(result))
    if result.counterexample is None:
        return EXIT_OK
    folder = result.counterexample.write(out, "counterexample")
    print(result.counterexample.report())
    print(
        f"written: {folder}\nreplay: smartpbx-harness predict --guide {folder} "
        f"--scenario {folder / SCENARIO_FILE}\n        smartpbx-harness serve --guide {folder}"
    )
    return EXIT_COUNTEREXAMPLE


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fuzz",
        help="the live differential property: drawn settings and calls on a target vs the model",
        description=(
            "Draw settings (設定) and calls with Hypothesis, put each on a running target "
            "through its provisioning API, play the call with virtual phones over real SIP and "
            "compare what they saw with the reference model; the first deviation is shrunk to "
            "a minimal settings + scenario and written under --out as a tenant folder "
            "(ご利用内容.yaml, 設定.yaml, scenario.yaml, counterexample.txt, phones.pcap) to "
            "replay with `predict --guide DIR --scenario DIR/scenario.yaml` and "
            "`serve --guide DIR`. docs/fuzz.md."
        ),
        epilog="Exit codes: 0 no counterexample, 1 counterexample found (written under --out), "
        "2 bad input (an option, the guide, a target that may not change settings), "
        "3 the harness could not run.",
    )
    parser.add_argument(
        "--target",
        default=EMBEDDED,
        metavar="embedded|FILE",
        help="`embedded` (default: one simulator started on loopback for the whole run) or a "
        "target file with a provisioning API ([api]) and changes_settings = true",
    )
    parser.add_argument(
        "--guide",
        type=Path,
        default=None,
        metavar="DIR",
        help="tenant folder whose ご利用内容 the calls run on (its 設定.yaml is ignored: settings "
        "are drawn); default: a built-in tenant of 5 extensions (拠点 20, 21) and 2 lines",
    )
    parser.add_argument(
        "--examples",
        type=_positive_int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"examples to draw (default {DEFAULT_EXAMPLES}); shrinking a failure plays more",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="S",
        help="Hypothesis seed (default: a fresh one, printed in the summary to replay the run)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("fuzz-out"),
        metavar="DIR",
        help="where a counterexample folder is written (default fuzz-out/)",
    )
    parser.add_argument(
        "--time-scale",
        type=_scale,
        default=DEFAULT_SCALE,
        metavar="X",
        help=f"real seconds per simulated second of the embedded target (default "
        f"{DEFAULT_SCALE:g}); a target file names its own",
    )
    parser.set_defaults(handler=run)
