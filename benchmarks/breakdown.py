"""Where a benchmarked sweep's time went, read back from its runs: compile, steady epochs per stack, evaluation,
logging, start-up, the idle tail, and the arithmetic rate against the machine's peak (bench.py --sweep)."""

import os
import statistics
from collections import defaultdict


def peak_gflops(cores: int) -> float:
    """AVX2 FMA peak: 32 single-precision FLOP a cycle and core, at the clock /proc/cpuinfo reports."""
    with open("/proc/cpuinfo") as info:
        mhz = [float(line.split(":")[1]) for line in info if line.startswith("cpu MHz")]
    return cores * 32 * (max(mhz) if mhz else 2500.0) / 1000.0


def _flops(runs, conf_dir: str, args: list) -> float:
    from hydra import compose, initialize_config_dir

    from sweep.config import cost, schema  # noqa: F401 - importing schema registers it with Hydra

    total, known = 0.0, {}
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        for run in runs:
            reg = run.data.params["reg"]
            if reg not in known:  # the activation changes no product
                known[reg] = cost.of_cell(compose("config", [f"reg={reg}", *args]))
            if not known[reg].known:  # a user's builder: its operations are not counted
                return float("nan")
            total += known[reg].total
    return total


def breakdown(runs, started: float, wall: float, conf_dir: str, args: list) -> None:
    """Print the sweep's time breakdown and GFLOP/s; `started` is the command's start (epoch seconds)."""
    groups = defaultdict(list)  # a fused group's runs share their epochs: count its epochs once
    for run in runs:
        groups[run.data.tags.get("sweep.fused_group", run.info.run_id)].append(run)
    steady, compile_s = defaultdict(list), 0.0
    for members in groups.values():
        times = members[0].epoch_times
        per_cell = statistics.median(times[1:]) / len(members)
        steady[members[0].data.params["reg"]].append(per_cell)
        compile_s += times[0] - statistics.median(times[1:])  # the first epoch traces and compiles
    metric = lambda name: sum(r.data.metrics.get(name, 0.0) for r in runs)  # noqa: E731
    logging = sum(v for r in runs for k, v in r.data.metrics.items() if k.startswith("time_log_"))
    first = min(r.info.start_time for r in runs) / 1000 - started
    ends = sorted(max(r.info.end_time for r in members) / 1000 for members in groups.values())
    tail = ends[-1] - ends[-2] if len(ends) > 1 else 0.0
    print("steady epoch per cell (median over its groups; a fused group's epoch / its cells):")
    print("  " + ", ".join(f"{reg} {statistics.median(v):.3f} s" for reg, v in sorted(steady.items())))
    print(
        f"compile (first epoch minus a steady one, summed over {len(groups)} programs): {compile_s:.1f} s; "
        f"evaluation {metric('time_evaluate_s'):.1f} s; logging {logging:.1f} s; "
        f"build {metric('time_build_s'):.1f} s (jobs' own seconds, summed over workers)"
    )
    print(f"start-up to the first run: {first:.1f} s; the last group ended {tail:.1f} s after the one before it")
    flops, cores = _flops(runs, conf_dir, args), os.cpu_count()
    if flops != flops:  # NaN: sweep.config.cost counts the built-in models only
        return print("arithmetic: not counted (a user's builder: its operations are not known before it builds)")
    peak = peak_gflops(cores)
    print(
        f"arithmetic: {flops / 1e12:.2f} TFLOP (Dense and Conv2D products) in {wall:.0f} s = "
        f"{flops / wall / 1e9:.0f} GFLOP/s; peak estimate {peak:.0f} GFLOP/s on {cores} cores "
        f"-> limit {flops / peak / 1e9:.0f} s"
    )
