#!/usr/bin/env python3
"""Benchmark: `rupturelab agreement --matrix` against the Python `krippendorff` package.

Generates a 5-coder x 1,000,000-unit nominal reliability matrix (8 categories,
20% missing, fixed seed) as a units-as-rows CSV, then runs, in one go and on
the same file, both tools as whole processes under /usr/bin/time -v, and
prints wall time, peak RSS and the alpha each reports, plus the ratios.

The Python side is installed into a throwaway virtual environment:
    python3 bench/agreement_vs_krippendorff.py [--units 1000000] [--keep]
Needs a release build: cargo build --release -p rupturelab
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_SIDE = r'''
import sys, time
import numpy as np, pandas as pd, krippendorff
t0 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
data = df.drop(columns=["unit"]).to_numpy(dtype=float).T  # coders x units, NaN = missing
t1 = time.perf_counter()
a = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
t2 = time.perf_counter()
print(f"alpha={a:.12f} parse_s={t1-t0:.3f} alpha_s={t2-t1:.3f}")
'''


def make_matrix(path, units, coders=5, cats=8, missing=0.2, seed=20261127):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("unit," + ",".join(f"c{i+1}" for i in range(coders)) + "\n")
        for u in range(units):
            truth = rng.randrange(cats)
            cells = []
            for _ in range(coders):
                if rng.random() < missing:
                    cells.append("")
                elif rng.random() < 0.7:
                    cells.append(str(truth + 1))
                else:
                    cells.append(str(rng.randrange(cats) + 1))
            f.write(f"u{u}," + ",".join(cells) + "\n")


def timed(cmd):
    out = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return secs, rss / 1024.0, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()
    binary = os.path.join(ROOT, "target", "release", "rupturelab")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release -p rupturelab")
    tmp = tempfile.mkdtemp(prefix="rl-bench-")
    env_dir = os.path.join(tmp, "venv")
    print(f"[setup] venv with krippendorff, pandas in {env_dir}", flush=True)
    venv.create(env_dir, with_pip=True)
    pip = os.path.join(env_dir, "bin", "pip")
    subprocess.run([pip, "install", "-q", "krippendorff==0.9.0", "pandas"], check=True)
    py = os.path.join(env_dir, "bin", "python")
    script = os.path.join(tmp, "kripp.py")
    open(script, "w").write(PY_SIDE)
    csv_path = os.path.join(tmp, "matrix.csv")
    t = time.perf_counter()
    make_matrix(csv_path, args.units)
    print(f"[setup] {args.units} units x 5 coders written in {time.perf_counter()-t:.1f}s ({os.path.getsize(csv_path)/1e6:.1f} MB)")

    # Like for like: α (plus AC1 and the Fleiss check) without a bootstrap, as krippendorff computes α alone.
    rl = timed([binary, "agreement", "--matrix", csv_path, "--layout", "units-as-rows", "--level", "nominal", "--bootstrap", "0", "--format", "json"])
    kp = timed([py, script, csv_path])
    rl_boot = timed([binary, "agreement", "--matrix", csv_path, "--layout", "units-as-rows", "--level", "nominal", "--bootstrap", "100", "--format", "json"])
    print()
    print(f"{'tool':<24}{'wall s':>10}{'peak MB':>12}")
    print(f"{'rupturelab':<24}{rl[0]:>10.2f}{rl[1]:>12.1f}")
    print(f"{'krippendorff 0.9.0':<24}{kp[0]:>10.2f}{kp[1]:>12.1f}")
    print(f"{'rupturelab + 100 boot.':<24}{rl_boot[0]:>10.2f}{rl_boot[1]:>12.1f}   (unit bootstrap CI; krippendorff has none)")
    print(f"speed ratio (krippendorff / rupturelab): {kp[0]/rl[0]:.1f}x; memory ratio: {kp[1]/rl[1]:.1f}x")
    print("krippendorff:", kp[2].strip())
    m = re.search(r'"alpha":\s*([-\d.eE]+)', rl[2])
    print("rupturelab alpha:", m.group(1) if m else rl[2][:400])
    if not args.keep:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
