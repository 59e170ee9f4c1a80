#!/usr/bin/env python3
"""The README's benchmark table: `shimctl bench` on each program, in one run
on one machine, printed as a Markdown table of ratios shimld / ld.so with
their 95% confidence intervals.

    python3 bench/table.py [--rounds N]

shimld's resolution cache is warmed first (one unmeasured run each), as it
would be for any program started more than once."""
import json, os, platform, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIMCTL = os.path.join(ROOT, "target/release/shimctl")
SHIMLD = os.path.join(ROOT, "target/release/shimld")

def hello():
    out = os.path.join(ROOT, "target/bench-hello")
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(ROOT, "bench/hello.c")], check=True)
    return out

# The system's own programs, by absolute path: a PATH can put other builds
# first (a pyenv shim, a git in /usr/local).
PROGRAMS = [
    ("hello world (C, glibc)", None),
    ("/bin/true", ["/bin/true"]),
    ("git --version", ["/usr/bin/git", "--version"]),
    ("perl -e 0", ["/usr/bin/perl", "-e", "0"]),
    ("python3 -c pass (Debian 3.11)", ["/usr/bin/python3", "-c", "pass"]),
    ("clang-14 --version", ["/usr/bin/clang-14", "--version"]),
    ("gdb -nx --batch --version", ["/usr/bin/gdb", "-nx", "--batch", "--version"]),
    ("node --version (Debian 18, libnode)", ["/usr/bin/node", "--version"]),
]

def main():
    rounds = "40"
    if "--rounds" in sys.argv:
        rounds = sys.argv[sys.argv.index("--rounds") + 1]
    rows = []
    for name, cmd in PROGRAMS:
        cmd = cmd or [hello()]
        if not os.path.exists(cmd[0]):
            print(f"skipped (not installed): {name}", file=sys.stderr)
            continue
        subprocess.run([SHIMLD] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = subprocess.run([SHIMCTL, "bench", "--rounds", rounds, "--json"] + cmd,
                           capture_output=True, text=True, check=True)
        j = json.loads(r.stdout)
        rows.append((name, j))
        print(f"{name}: {j['ratio']:.3f}", file=sys.stderr)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Machine: {os.cpu_count()} x {cpu}, Linux {platform.release()}; {rounds} rounds per program.\n")
    print("| program | ld.so (median) | shimld (median) | shimld / ld.so | 95% CI |")
    print("|---|---:|---:|---:|---|")
    for name, j in rows:
        lo, hi = j["ratio_ci95"]
        print(f"| {name} | {j['ldso']['median_us']/1000:.2f} ms | {j['shimld']['median_us']/1000:.2f} ms "
              f"| **{j['ratio']:.2f}** | {lo:.2f} – {hi:.2f} |")

if __name__ == "__main__":
    main()
