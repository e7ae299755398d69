#!/usr/bin/env python3
"""The portal's engine against the SpiffWorkflow peer, in one run, and the table of both.

For every repeat x workload process x database it runs ``bench/engine.py`` (ours) and the
peer's ``spiff_bench.py`` once each, as separate processes, one after the other; the order
of the pair alternates, so that the machine's drift (other jobs, CPU frequency, the disk)
hits both engines alike. Both use the same databases: SQLite files in a temporary folder, and
throwaway databases on the same PostgreSQL server (``--dsn``; ours are
``bench_engine_<pid>_*``, the peer's ``bench_spiff_<pid>``, all dropped at the end).

Concurrency (``--workers 1 2 4``, PostgreSQL only for K > 1): ours runs ``engine.py
--workers K`` (K driver processes on one database, released together); the peer, which has no
concurrency of its own (one process, one JSON row per instance), runs as K processes started
together, each on its own database with N/K instances: its figure is all instances / the
longest of the K loops, so its start-up skew counts in its favour. The scaling table shows
instances/s per K and against K = 1 from the same run.

The peer runs from its own virtualenv (``--peer-venv``, default ``$TMPDIR/peer-venv``), which
is made like ``shared/peers/run_all.sh`` makes it when missing (SpiffWorkflow 3.2.0 and
psycopg). Results go to ``bench/results/<time>-{portal,spiff}.jsonl``; the table (medians
over the repeats) is printed in Markdown.

Examples (from the project root):
    .venv/bin/python bench/compare.py -n 300 --repeat 3
    .venv/bin/python bench/compare.py expense_approval.bpmn --dbs sqlite -n 100 --repeat 1
    .venv/bin/python bench/compare.py -n 300 --repeat 1 --dbs postgres --workers 1 2 4
    .venv/bin/python bench/compare.py --summarize bench/results/X-portal.jsonl \\
        bench/results/X-spiff.jsonl
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from engine import (  # noqa: E402 - the sibling module, found through the path set above
    DEFAULT_PG_DSN,
    DEFAULT_WORKLOAD,
    SHARED,
    pg_admin,
    pg_params,
    pick_processes,
)

PEERS = Path(os.environ.get("BENCH_PEERS", SHARED / "peers"))
SPIFF_VERSION = os.environ.get("SPIFF_VERSION", "3.2.0")
TARGET_RATIO = 2.0  # instances/s against Spiff's, on every process and database
TARGET_COMPLETE_P95_MS = 2.0


def ensure_peer_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3") or sys.executable
        print(f"== making the peer's virtualenv {venv} (SpiffWorkflow {SPIFF_VERSION})")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - fixed arguments
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                f"spiffworkflow=={SPIFF_VERSION}",
                "psycopg[binary]",
            ],
            check=True,
        )
    return python


def snapshot_head(into: Path) -> tuple[Path, str]:
    """A frozen copy of the committed HEAD (``git archive``, read-only) with this folder's
    bench scripts laid over it: the engine measured stays the same for the whole run, while
    others keep changing the working tree. Its root and the commit."""
    git = ["git", "--no-optional-locks", "-C", str(ROOT)]
    commit = subprocess.run(  # noqa: S603 - fixed read-only git command
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(  # noqa: S603 - fixed read-only git command
        [*git, "archive", "--format=tar", "HEAD"], capture_output=True, check=True
    ).stdout
    import io
    import tarfile

    root = into / f"snapshot-{commit}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    for script in HERE.glob("*.py"):
        shutil.copy2(script, root / "bench" / script.name)
    return root, commit


def run_peer_together(commands: list[list[str]], out: Path, scratch: Path) -> None:
    """K peer processes started together, each with its own share and database; their results
    as one line in ``out`` (instances summed, wall time the longest loop's)."""
    parts = [scratch / f"peer-part-{k}.jsonl" for k in range(len(commands))]
    for part in parts:
        part.unlink(missing_ok=True)
    print("$ " + " & ".join(" ".join(c) for c in commands), flush=True)
    running = [
        subprocess.Popen([*c, "--json-out", str(part)])  # noqa: S603 - the peer, fixed arguments
        for c, part in zip(commands, parts, strict=True)
    ]
    failed = [p.wait() for p in running]
    lines = [r for part in parts for r in load(part)]
    if any(failed) or len(lines) != len(commands):
        print(f"!! peer processes failed: exit statuses {failed}", flush=True)
        return
    wall = max(r["wall_s"] for r in lines)
    instances = sum(r["instances"] for r in lines)
    combined = {
        **{k: v for k, v in lines[0].items() if not isinstance(v, dict | list)},
        "workers": len(lines),
        "instances": instances,
        "wall_s": wall,
        "instances_per_s": round(instances / wall, 2),
        "user_tasks_completed": sum(r["user_tasks_completed"] for r in lines),
        "timer_jobs": sum(r["timer_jobs"] for r in lines),
        # the worst of the processes' percentiles (their requests cannot be pooled here)
        **{
            key: {q: max(r[key][q] for r in lines) for q in ("p50", "p95", "p99", "mean", "max")}
            for key in ("complete_request_ms", "create_request_ms", "timer_job_ms")
            if all(r.get(key) for r in lines)
        },
        "verification": "ok"
        if all(r["verification"] == "ok" for r in lines)
        else "; ".join(sorted({r["verification"] for r in lines} - {"ok"})),
    }
    with out.open("a") as sink:
        sink.write(json.dumps(combined) + "\n")


def run(command: list[str]) -> bool:
    """Run one benchmark; a failed verification is in its JSON line, so carry on."""
    print("$ " + " ".join(command), flush=True)
    done = subprocess.run(command, check=False)  # noqa: S603 - our own scripts, fixed arguments
    if done.returncode:
        print(f"!! exit status {done.returncode}", flush=True)
    return done.returncode == 0


# --- the table ---------------------------------------------------------------------------------


def load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def requests_only(r: dict[str, Any]) -> float | None:
    """Instances per second counting the time inside requests only. Ours reports it; the
    peer's is rebuilt from its request counts and means (its loop does next to nothing
    besides requests, so it is within a percent of its ``instances_per_s``)."""
    if "instances_per_s_requests" in r:
        return float(r["instances_per_s_requests"])
    spent = sum(
        r[key]["n"] * r[key]["mean"]
        for key in ("create_request_ms", "complete_request_ms", "timer_job_ms")
        if r.get(key)
    )
    return r["instances"] / (spent / 1e3) if spent else None


def table(ours: list[dict[str, Any]], spiff: list[dict[str, Any]], order: list[str]) -> str:
    def group(results: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        for r in results:
            if not r.get("instrumented") and r.get("workers", 1) == 1:
                grouped[(r["process_id"], r["db"])].append(r)
        return grouped

    mine, peer = group(ours), group(spiff)
    keys = sorted(
        set(mine) | set(peer),
        key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1] != "sqlite", k[1]),
    )

    def med(rs: list[dict[str, Any]], *path: str) -> float | None:
        values = []
        for r in rs:
            value: Any = r
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            values.append(value)
        return median(values)

    lines = [
        "| process | db | runs (ours/Spiff) | ours inst/s | Spiff inst/s | ratio | ratio range "
        "| ours complete p50 / p95 ms | Spiff complete p50 / p95 ms | ours create p50 ms "
        "| Spiff create p50 ms | ours timer job p50 ms | Spiff timer job p50 ms "
        "| ours / Spiff inst/s, requests only | ratio, requests only "
        "| history rows / instance | target met | verification |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in keys:
        a, b = mine.get(key, []), peer.get(key, [])
        ours_ips, spiff_ips = med(a, "instances_per_s"), med(b, "instances_per_s")
        ratio = ours_ips / spiff_ips if ours_ips and spiff_ips else None
        paired = [
            x["instances_per_s"] / y["instances_per_s"]
            for x, y in zip(
                sorted(a, key=lambda r: r.get("pair", 0)),
                sorted(b, key=lambda r: r.get("pair", 0)),
                strict=False,
            )
        ]
        p95 = med(a, "complete_request_ms", "p95")
        ours_req = median([requests_only(r) for r in a])
        spiff_req = median([requests_only(r) for r in b])
        ratio_req = ours_req / spiff_req if ours_req and spiff_req else None
        met = "–"
        if ratio is not None and p95 is not None:
            fast = "yes" if ratio >= TARGET_RATIO else "no"
            quick = "yes" if p95 <= TARGET_COMPLETE_P95_MS else "no"
            met = f"{TARGET_RATIO:g}x: {fast}; p95 ≤ {TARGET_COMPLETE_P95_MS:g} ms: {quick}"
        verdicts = {r["verification"] for r in a} | {r["verification"] for r in b}
        lines.append(
            "| "
            + " | ".join(
                [
                    key[0],
                    key[1],
                    f"{len(a)}/{len(b)}",
                    fmt(ours_ips, 1),
                    fmt(spiff_ips, 1),
                    fmt(ratio) + ("x" if ratio else ""),
                    f"{min(paired):.2f}–{max(paired):.2f}x" if paired else "–",
                    f"{fmt(med(a, 'complete_request_ms', 'p50'))} / {fmt(p95)}",
                    f"{fmt(med(b, 'complete_request_ms', 'p50'))} / "
                    f"{fmt(med(b, 'complete_request_ms', 'p95'))}",
                    fmt(med(a, "create_request_ms", "p50")),
                    fmt(med(b, "create_request_ms", "p50")),
                    fmt(med(a, "timer_job_ms", "p50")),
                    fmt(med(b, "timer_job_ms", "p50")),
                    f"{fmt(ours_req, 1)} / {fmt(spiff_req, 1)}",
                    fmt(ratio_req) + ("x" if ratio_req else ""),
                    fmt(med(a, "history_rows", "per_instance_mean"), 1),
                    met,
                    "ok" if verdicts == {"ok"} else "; ".join(sorted(verdicts)),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def scaling_table(ours: list[dict[str, Any]], spiff: list[dict[str, Any]], order: list[str]) -> str:
    """Instances/s by number of driver processes (PostgreSQL), ours and the peer's, and each
    against its own single-process figure of the same run."""

    def group(results: list[dict[str, Any]]) -> dict[tuple[str, int], list[float]]:
        grouped: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
        for r in results:
            if not r.get("instrumented") and r["db"] == "postgres":
                grouped[(r["process_id"], r.get("workers", 1))].append(r["instances_per_s"])
        return grouped

    def p95(results: list[dict[str, Any]], process: str, k: int) -> float | None:
        return median(
            [
                r["complete_request_ms"]["p95"]
                for r in results
                if r["db"] == "postgres"
                and r["process_id"] == process
                and r.get("workers", 1) == k
                and not r.get("instrumented")
            ]
        )

    mine, peer = group(ours), group(spiff)
    keys = sorted(
        set(mine) | set(peer), key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1])
    )
    lines = [
        "| process | workers | ours inst/s | Spiff inst/s | ratio | ours vs 1 worker "
        "| Spiff vs 1 process | ours complete p95 ms | Spiff complete p95 ms (worst process) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for process, k in keys:
        a, b = median(mine.get((process, k), [])), median(peer.get((process, k), []))
        a1, b1 = median(mine.get((process, 1), [])), median(peer.get((process, 1), []))
        lines.append(
            f"| {process} | {k} | {fmt(a, 1)} | {fmt(b, 1)} | "
            f"{fmt(a / b if a and b else None)}x | "
            f"{fmt(a / a1 if a and a1 else None)}x | {fmt(b / b1 if b and b1 else None)}x | "
            f"{fmt(p95(ours, process, k))} | {fmt(p95(spiff, process, k))} |"
        )
    return "\n".join(lines)


def tag_pairs(path: Path, pair: int, before: int) -> None:
    """Mark the lines a run appended with its pair number (ours and the peer's match)."""
    lines = path.read_text().splitlines() if path.exists() else []
    for index in range(before, len(lines)):
        record = json.loads(lines[index])
        record["pair"] = pair
        lines[index] = json.dumps(record)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="*", help="BPMN files of the workload (default: all)")
    ap.add_argument("-n", "--instances", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dbs", nargs="+", choices=["sqlite", "postgres"], default=None)
    ap.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN))
    ap.add_argument(
        "--workers",
        nargs="+",
        type=int,
        default=[1],
        help="driver processes per run (K > 1 on PostgreSQL only); default 1",
    )
    ap.add_argument(
        "--peer-venv",
        default=os.environ.get("PEER_VENV", str(Path(tempfile.gettempdir()) / "peer-venv")),
    )
    ap.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    ap.add_argument("--out-dir", default=str(HERE / "results"))
    ap.add_argument(
        "--snapshot",
        action="store_true",
        help="measure a frozen copy of the committed HEAD, not the working tree",
    )
    ap.add_argument(
        "--summarize",
        nargs=2,
        metavar=("PORTAL_JSONL", "SPIFF_JSONL"),
        help="only print the table of earlier results",
    )
    args = ap.parse_args(argv)

    workload_path = Path(args.workload)
    workload = json.loads(workload_path.read_text())
    order = list(workload["processes"])
    if args.summarize:
        ours, peers = load(Path(args.summarize[0])), load(Path(args.summarize[1]))
        print(table(ours, peers, order))
        if any(r.get("workers", 1) > 1 for r in ours):
            print()
            print(scaling_table(ours, peers, order))
        return 0

    chosen = pick_processes(workload, args.files)
    dbs = args.dbs or ["sqlite", "postgres"]
    peer_python = ensure_peer_venv(Path(args.peer_venv))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    ours_out = out_dir / f"{stamp}-portal.jsonl"
    spiff_out = out_dir / f"{stamp}-spiff.jsonl"
    scratch = Path(tempfile.mkdtemp(prefix="bench_compare_"))
    engine_script = HERE / "engine.py"
    if args.snapshot:
        snapshot_root, commit = snapshot_head(scratch)
        engine_script = snapshot_root / "bench" / "engine.py"
        os.environ["BENCH_SNAPSHOT_COMMIT"] = commit
        print(f"== measuring HEAD {commit}, frozen in {snapshot_root}")
    params = pg_params(args.dsn)
    most = max(args.workers)
    peer_dbs = [f"bench_spiff_{os.getpid()}"] + [
        f"bench_spiff_{os.getpid()}_{k}" for k in range(1, most)
    ]
    if "postgres" in dbs:
        for name in peer_dbs:
            pg_admin(params, f'CREATE DATABASE "{name}"')
    peer_dsns = [
        " ".join(f"{k}={v}" for k, v in {**params, "dbname": name}.items() if k != "password")
        for name in peer_dbs
    ]
    peer_dsn = peer_dsns[0]
    if params.get("password"):
        os.environ.setdefault("PGPASSWORD", params["password"])

    pair = 0
    try:
        for repeat in range(1, args.repeat + 1):
            for process_id, proc in chosen:
                bpmn = workload_path.parent / proc["file"]
                for db in dbs:
                    pair += 1
                    print(f"== {process_id} on {db}, repeat {repeat} of {args.repeat}", flush=True)
                    ours = [
                        sys.executable,
                        str(engine_script),
                        proc["file"],
                        "--workload",
                        str(workload_path),
                        "--db",
                        db,
                        "-n",
                        str(args.instances),
                        "--json-out",
                        str(ours_out),
                    ]
                    if db == "postgres":
                        ours += ["--dsn", args.dsn]
                    peer = [
                        str(peer_python),
                        str(PEERS / "spiff_bench.py"),
                        str(bpmn),
                        "--workload",
                        str(workload_path),
                        "--db",
                        db,
                        "-n",
                        str(args.instances),
                        "--json-out",
                        str(spiff_out),
                    ]
                    peer += (
                        ["--dsn", peer_dsn]
                        if db == "postgres"
                        else ["--sqlite-path", str(scratch / f"spiff_{process_id}.sqlite3")]
                    )
                    runs = [(ours, ours_out), (peer, spiff_out)]
                    if pair % 2 == 0:
                        runs.reverse()
                    for command, out in runs:
                        before = len(load(out))
                        run(command)
                        tag_pairs(out, pair, before)
                if "postgres" not in dbs:
                    continue
                for k in [k for k in args.workers if k > 1]:
                    pair += 1
                    print(f"== {process_id} on postgres, {k} workers, repeat {repeat}", flush=True)
                    ours_k = [
                        sys.executable,
                        str(engine_script),
                        proc["file"],
                        "--workload",
                        str(workload_path),
                        "--db",
                        "postgres",
                        "--dsn",
                        args.dsn,
                        "-n",
                        str(args.instances),
                        "--workers",
                        str(k),
                        "--json-out",
                        str(ours_out),
                    ]
                    shares = [len(range(w, args.instances, k)) for w in range(k)]
                    peers_k = [
                        [
                            str(peer_python),
                            str(PEERS / "spiff_bench.py"),
                            str(bpmn),
                            "--workload",
                            str(workload_path),
                            "--db",
                            "postgres",
                            "-n",
                            str(share),
                            "--dsn",
                            peer_dsns[w],
                        ]
                        for w, share in enumerate(shares)
                    ]
                    steps: list[tuple[Any, Path]] = [
                        (lambda c=ours_k: run(c), ours_out),
                        (
                            lambda c=peers_k: run_peer_together(c, spiff_out, scratch),
                            spiff_out,
                        ),
                    ]
                    if pair % 2 == 0:
                        steps.reverse()
                    for step, out in steps:
                        before = len(load(out))
                        step()
                        tag_pairs(out, pair, before)
    finally:
        if "postgres" in dbs:
            for name in peer_dbs:
                with contextlib.suppress(Exception):
                    pg_admin(params, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(
        f"{args.instances} instances per run, {args.repeat} repeat(s); medians over the runs; "
        f"ratio = ours / Spiff instances per second"
    )
    print()
    print(table(load(ours_out), load(spiff_out), order))
    if any(k > 1 for k in args.workers) and "postgres" in dbs:
        print()
        print("Concurrency on PostgreSQL: instances/s by driver processes (medians over runs)")
        print()
        print(scaling_table(load(ours_out), load(spiff_out), order))
    print()
    print(f"raw results: {ours_out} {spiff_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
