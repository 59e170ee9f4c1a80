#!/usr/bin/env python3
"""Writes loader/startup.ld: the functions shimld runs at start-up, in the
order they first run, gathered into one output section ahead of .text.

    cargo build --release && python3 bench/startup_order.py

Each start-up page fault on shimld's code maps the 64 KiB around it; with
the functions start-up runs spread over the 600 KiB of .text, /bin/true
took about ten such faults on shimld's code. Gathered, the ld.so-alone path
runs within the first 90 KiB and the full handover within 280 KiB.

The functions are found by running shimld under gdb with a breakpoint on
every function of its own (each removed at its first hit) for a few
programs: /bin/true (the ld.so-alone path) first, then programs through
the full handover. Symbol hashes are replaced by wildcards, so the file
keeps working across builds; a function renamed since only falls back to
its place in .text. Regenerate after large changes to start-up code."""
import os, subprocess, sys, tempfile, re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIMLD = os.path.join(ROOT, "target/release/shimld")
OUT = os.path.join(ROOT, "loader/startup.ld")
PROGRAMS = [["/bin/true"], ["/usr/bin/git", "--version"], ["/usr/bin/perl", "-e", "0"],
            ["/usr/bin/python3", "-c", "pass"], ["/usr/bin/clang-14", "--version"]]

GDB_SCRIPT = r'''
import gdb, subprocess
gdb.execute("set pagination off")
gdb.execute("set confirm off")
binary = gdb.current_progspace().filename
out = OUTFILE
syms = []
for l in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True).stdout.splitlines():
    p = l.split()
    if len(p) == 3 and p[1] in "tT":
        syms.append((int(p[0], 16), p[2]))
gdb.execute("starti", to_string=True)
pid = gdb.selected_inferior().pid
base = next(int(l.split("-")[0], 16) for l in open("/proc/%d/maps" % pid)
            if l.rstrip().endswith(binary) and " 00000000 " in l)
names = {}
for a, n in syms:
    names[gdb.Breakpoint("*0x%x" % (base + a)).number] = n
def hit(ev):
    if isinstance(ev, gdb.BreakpointEvent):
        for b in ev.breakpoints:
            if b.number in names:
                with open(out, "a") as f:
                    f.write(names[b.number] + "\n")
                b.enabled = False
gdb.events.stop.connect(hit)
while gdb.selected_inferior().pid:
    try:
        gdb.execute("continue", to_string=True)
    except gdb.error:
        break
'''

def pattern(sym):
    # Legacy mangling: _ZN...17h<hash>E[.llvm.N]; v0 names keep their crate
    # hash, fixed for a toolchain.
    return re.sub(r"\.llvm\.\d+$", "*", re.sub(r"17h[0-9a-f]{16}E.*$", "17h*", sym))

def main():
    order = ["_start"]
    with tempfile.TemporaryDirectory() as tmp:
        for prog in PROGRAMS:
            if not os.path.exists(prog[0]):
                print(f"skipped (not installed): {prog[0]}", file=sys.stderr)
                continue
            hits = os.path.join(tmp, "hits")
            script = os.path.join(tmp, "cov.py")
            with open(script, "w") as f:
                f.write(GDB_SCRIPT.replace("OUTFILE", repr(hits)))
            # Twice: the first start of a fresh build misses the resolution
            # cache (and may make the CPUID plan), the second takes the
            # cached path, as every start but a program's first does. The
            # second start's functions come first, in the order they ran,
            # then those only the first ran. (A cache directory of its own,
            # empty at the first start.)
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
            runs = []
            for _ in range(2):
                if os.path.exists(hits):
                    os.unlink(hits)
                subprocess.run(["gdb", "-q", "-batch", "-x", script, "--args", SHIMLD] + prog,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800, env=env)
                runs.append(open(hits).read().split() if os.path.exists(hits) else [])
            found = runs[1] + runs[0]
            print(f"{' '.join(prog)}: {len(found)} functions", file=sys.stderr)
            order += [pattern(n) for n in found]
    seen, pats = set(), []
    for p in order:
        if p not in seen:
            seen.add(p)
            pats.append(p)
    with open(OUT, "w") as f:
        f.write("/* The functions shimld runs at start-up, in the order they first run:\n"
                " * one section ahead of .text, so that start-up takes few page faults on\n"
                " * shimld's code. Written by bench/startup_order.py; see there. */\n")
        f.write("SECTIONS\n{\n  .text.startup : ALIGN(16)\n  {\n")
        for p in pats:
            # (Functions LLVM takes to be cold are in .text.unlikely.*.)
            f.write(f"    *(.text.{p} .text.unlikely.{p})\n")
        f.write("  }\n}\nINSERT BEFORE .text;\n")
        # Their read-only data (jump tables, constants), ahead of .rodata:
        # in the first 64 KiB of the file, which the ELF header's page fault
        # maps anyway.
        f.write("SECTIONS\n{\n  .rodata.startup : ALIGN(16)\n  {\n")
        for p in pats:
            f.write(f"    *(.rodata.{p})\n")
        f.write("  }\n}\nINSERT BEFORE .rodata;\n")
    print(f"{OUT}: {len(pats)} patterns", file=sys.stderr)

if __name__ == "__main__":
    main()
