#!/usr/bin/env python3
"""Benchmark: `rupturelab report` on a large generated study.

Generates (fixed seed) a study folder with 2,000 participants x 50 answers
(25 segments x 2 open questions = 100,000 answers), 60 codes (2 categories,
10 themes, 48 sub-themes) and 5 consensus codings per answer (500,000), plus,
with --double-coded F, two independent coders on a share F of the answers.
Imports it into a SQLite study database, then runs the report as a whole
process under /usr/bin/time -v for each format and prints wall time and peak
RSS (the figures include loading the study from the database).

    cargo build --release -p rupturelab
    python3 bench/report_bench.py [--participants 2000] [--double-coded 0.1] [--keep]
                                  [--baseline OLD_BINARY] [--repeat N]

With --baseline, every step also runs with another build of the binary (an
older commit, copied aside) on its own copy of the same database, in the same
run, so before/after figures share the machine's load.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "rupturelab")

ORIENTATIONS = ["CBT", "Psychodynamic", "Schema", "Humanistic", "Integrative", "Systemic", "Other"]
WORDS = ("the patient withdraws when the therapist pushes the homework and the alliance "
         "strains because goals were never agreed so I would slow down explore what happened "
         "between us acknowledge my part and invite her to say how the session felt").split()


def codebook():
    codes = []
    for cat in ["Cause", "Resolution"]:
        codes.append((cat, f"{cat} category", False))
        for t in range(5):
            theme = f"{cat}/T{t + 1}"
            codes.append((theme, f"{cat} theme {t + 1}", True))
            for s in range(5 if t < 4 else 4):
                codes.append((f"{theme}/S{s + 1}", f"{cat} theme {t + 1} sub-theme {s + 1}", True))
    assert len(codes) == 60, len(codes)
    return codes


def q(s):
    return '"' + s.replace('"', '""') + '"'


def generate(folder, participants, double_coded, rng):
    os.makedirs(os.path.join(folder, "segments"))
    segments = [f"S{i + 1}" for i in range(25)]
    with open(os.path.join(folder, "study.toml"), "w") as f:
        f.write('format = "rupturelab-study/1"\n\n[study]\nkey = "bench"\n'
                'title = "Generated benchmark study"\nlanguage = "en"\nsynthetic = true\n\n'
                '[settings]\npresentation_order = "fixed"\nagreement = true\n\n'
                '[[attributes]]\nname = "orientation"\nlabel = "Theoretical orientation"\n'
                'type = "category"\nvalues = [' + ", ".join(q(o) for o in ORIENTATIONS) + ']\nrequired = true\n\n'
                '[[attributes]]\nname = "experience_years"\nlabel = "Years of clinical experience"\n'
                'type = "integer"\nmin = 0\nmax = 60\nbands = [5, 10, 20]\nrequired = true\n\n'
                '[[questions]]\nkey = "Q1"\nkind = "open"\nscope = "segment"\nprompt = "What caused the rupture?"\n\n'
                '[[questions]]\nkey = "Q2"\nkind = "open"\nscope = "segment"\nprompt = "How would you resolve it?"\n\n')
        for p in range(5):
            f.write(f'[[patients]]\nkey = "PT{p + 1}"\ndescription = "Generated patient {p + 1}"\n\n')
        if double_coded > 0:
            f.write('[[coders]]\nname = "A"\n\n[[coders]]\nname = "B"\n\n')
    for i, s in enumerate(segments):
        with open(os.path.join(folder, "segments", f"{s}.txt"), "w") as f:
            f.write(f"label: Generated segment {i + 1}\npatient: PT{i % 5 + 1}\nsession: {i + 1}\n"
                    f"position: {i + 1}\nrupture: {'withdrawal' if i % 2 else 'confrontation'}\n---\n"
                    "T: How was the week?\nP: Fine.\n")
    codes = codebook()
    with open(os.path.join(folder, "codebook.toml"), "w") as f:
        for path, name, codable in codes:
            f.write(f'[[code]]\npath = "{path}"\nname = "{name}"\ncodable = {"true" if codable else "false"}\n'
                    f'definition = "Generated definition of {name}."\n\n')
    subs = {cat: [c[0] for c in codes if c[0].startswith(cat + "/") and c[0].count("/") == 2]
            for cat in ["Cause", "Resolution"]}
    with open(os.path.join(folder, "participants.csv"), "w") as f:
        f.write("code,status,orientation,experience_years\n")
        for p in range(participants):
            f.write(f"P{p + 1:05d},completed,{ORIENTATIONS[rng.randrange(7)]},{rng.randrange(31)}\n")
    resp = open(os.path.join(folder, "responses.csv"), "w")
    cod = open(os.path.join(folder, "codings.csv"), "w")
    resp.write("participant,segment,question,text,value\n")
    cod.write("coder,participant,segment,question,code,start,end\n")
    n_codings = 0
    for p in range(participants):
        pc = f"P{p + 1:05d}"
        for s in segments:
            for qk, cat in (("Q1", "Cause"), ("Q2", "Resolution")):
                words = [WORDS[rng.randrange(len(WORDS))] for _ in range(rng.randrange(25, 45))]
                text = " ".join(words).capitalize() + "."
                resp.write(f"{pc},{s},{qk},{q(text)},\n")
                n = len(text)
                layers = ["consensus"]
                if double_coded > 0 and rng.random() < double_coded:
                    layers += ["A", "B"]
                chosen = rng.sample(subs[cat], 5)
                for layer in layers:
                    used = set()
                    for k, code in enumerate(chosen):
                        if layer != "consensus" and rng.random() < 0.15:
                            code = subs[cat][rng.randrange(len(subs[cat]))]
                        if code in used:
                            continue
                        used.add(code)
                        a = rng.randrange(0, max(1, n - 60))
                        cod.write(f"{layer},{pc},{s},{qk},{code},{a},{min(n, a + 40 + 10 * k)}\n")
                        n_codings += layer == "consensus"
    resp.close()
    cod.close()
    return n_codings


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return wall, rss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, default=2000)
    ap.add_argument("--double-coded", type=float, default=0.0)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--baseline", help="another rupturelab binary to time on the same data")
    ap.add_argument("--repeat", type=int, default=1, help="runs per step (the best is printed)")
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release -p rupturelab")
    work = tempfile.mkdtemp(prefix="rupturelab-report-bench-")
    try:
        folder = os.path.join(work, "study")
        t0 = time.perf_counter()
        n = generate(folder, a.participants, a.double_coded, random.Random(20260501))
        print(f"generated {a.participants} participants, {a.participants * 50} answers, "
              f"{n} consensus codings, 60 codes in {time.perf_counter() - t0:.1f} s")
        db = os.path.join(work, "bench.rupturelab")
        # The baseline imports (an older schema), and each binary gets its own copy.
        wall, rss = timed([a.baseline or BIN, "import", folder, "--db", db])
        print(f"import: {wall:.2f} s, {rss:.0f} MB peak")
        bins = [("", BIN, db)]
        if a.baseline:
            base_db = os.path.join(work, "baseline.rupturelab")
            shutil.copy(db, base_db)
            bins = [("baseline ", a.baseline, base_db), ("", BIN, db)]

        def best(cmd):
            runs = [timed(cmd) for _ in range(max(1, a.repeat))]
            return min(r[0] for r in runs), min(r[1] for r in runs)

        for fmt in ["html", "docx", "md"]:
            for label, binary, d in bins:
                out = os.path.join(work, f"{label.strip() or 'new'}-report.{fmt}")
                wall, rss = best([binary, "report", "--db", d, "--format", fmt, "--out", out,
                                  "--date", "2026-05-01", "--bootstrap", str(a.bootstrap)])
                print(f"{label}report --format {fmt}: {wall:.2f} s wall, {rss:.0f} MB peak, "
                      f"{os.path.getsize(out) / 1e6:.2f} MB written")
        for label, binary, d in bins:
            wall, rss = best([binary, "summary", "--db", d])
            print(f"({label}summary, which only loads the study and counts: {wall:.2f} s, {rss:.0f} MB)")
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
