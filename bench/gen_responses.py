#!/usr/bin/env python3
"""Generates a synthetic study folder and a survey CSV for the interop
benchmark: N participants x 10 segments (one open question each) = N*10
responses, with 10 attribute columns. Deterministic (seeded)."""
import csv, os, random, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rnd = random.Random(42)
os.makedirs(os.path.join(out, "study", "segments"), exist_ok=True)
attrs = [
    ("orientation", "category", ["CBT", "Psychodynamic", "Schema", "Humanistic", "Integrative", "Systemic", "Other"]),
    ("experience_years", "integer", None),
    ("profession", "category", ["Clinical psychologist", "Psychiatrist", "Counsellor", "Social worker"]),
    ("gender", "category", ["Woman", "Man", "Non-binary", "Prefer not to say"]),
    ("rupture_training", "boolean", None),
    ("age", "integer", None),
    ("city", "text", None),
    ("sessions_per_week", "number", None),
    ("supervision", "boolean", None),
    ("training_level", "category", ["Trainee", "Licensed", "Supervisor"]),
]
with open(os.path.join(out, "study", "study.toml"), "w") as f:
    f.write('format = "rupturelab-study/1"\n\n[study]\nkey = "bench"\ntitle = "Benchmark (synthetic)"\nsynthetic = true\n\n')
    for name, kind, values in attrs:
        f.write(f'[[attributes]]\nname = "{name}"\ntype = "{kind}"\n')
        if values:
            f.write("values = [" + ", ".join(f'"{v}"' for v in values) + "]\n")
        f.write("\n")
    f.write('[[questions]]\nkey = "Q1"\nkind = "open"\nscope = "segment"\nprompt = "What caused the rupture?"\n\n')
    f.write('[[patients]]\nkey = "PT1"\ndescription = "synthetic"\n')
for s in range(1, 11):
    with open(os.path.join(out, "study", "segments", f"S{s}.txt"), "w") as f:
        f.write(f"label: Segment {s}\npatient: PT1\n---\nT: How are you?\nP: Fine.\n")
words = "the patient avoids homework therapist pushes agenda rupture withdrawal confrontation alliance strain bond goals tasks empathy failure danışan ödev kaçınma ilişki".split()
with open(os.path.join(out, "answers.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["participant"] + [a[0] for a in attrs] + [f"S{s}_Q1" for s in range(1, 11)])
    for i in range(n):
        row = [f"P{i+1:06d}"]
        for name, kind, values in attrs:
            if kind == "category":
                row.append(rnd.choice(values))
            elif kind == "integer":
                row.append(str(rnd.randint(0, 60)))
            elif kind == "boolean":
                row.append(rnd.choice(["true", "false"]))
            elif kind == "number":
                row.append(f"{rnd.uniform(0, 30):.1f}")
            else:
                row.append(rnd.choice(["İstanbul", "Ankara", "İzmir", "Bursa"]))
        for s in range(10):
            row.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(15, 45))).capitalize() + ".")
        w.writerow(row)
