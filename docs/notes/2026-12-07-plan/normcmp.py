"""Two experiment folders compared JSON by JSON, leaving out what differs between any two runs (time, commit, argv,
the plan read, paths, timings, reference-cache hits). Usage: python normcmp.py A B (the experiment folders)."""
import json, sys, re, pathlib
a_root, b_root = map(pathlib.Path, sys.argv[1:3])
SKIP = {"time", "git_commit", "argv", "plan", "from_cache", "reference_from_cache", "host"}
def norm(x, root):
    if isinstance(x, dict):
        return {k: norm(v, root) for k, v in x.items() if k not in SKIP and not k.endswith("_s") and "wall" not in k and "seconds" not in k}
    if isinstance(x, list):
        return [norm(v, root) for v in x]
    if isinstance(x, str):
        return x.replace(str(root), "ROOT")
    return x
bad = 0; n = 0
for f in sorted(a_root.rglob("*.json")):
    rel = f.relative_to(a_root)
    if rel.parts[0] in ("plan", "benchmarks") or rel.name == "experiment.json":
        continue
    g = b_root / rel
    n += 1
    if not g.exists():
        print("MISSING", rel); bad += 1; continue
    if norm(json.loads(f.read_text()), a_root) != norm(json.loads(g.read_text()), b_root):
        print("DIFF", rel); bad += 1
print(n, "files compared,", bad, "differ")
