//! `shimctl bench`: it runs, reports both loaders and their ratio, reads
//! shimld's phases, writes a chart, and refuses to compare runs that do
//! different things. (Nothing here asserts a speed.)
mod common;

use std::process::Command;

fn bench(args: &[&str]) -> common::Outcome {
    common::run(
        Command::new(common::shimctl()).arg("bench").args(["--shimld", common::shimld().to_str().unwrap()]).args(args),
    )
}

#[test]
fn bench_reports_both_loaders_and_the_ratio() {
    let svg = std::env::temp_dir().join(format!("shimld-bench-{}.svg", std::process::id()));
    // (--bind-all: the full handover, which has every phase.)
    let out = bench(&[
        "--rounds",
        "4",
        "--warmup",
        "1",
        "--json",
        "--plot",
        svg.to_str().unwrap(),
        "--shimld-arg=--bind-all",
        "/bin/true",
    ]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["rounds"], 4);
    for side in ["ldso", "shimld"] {
        for k in ["min_us", "p10_us", "median_us", "median_cpu_us", "median_minor_faults"] {
            assert!(r[side][k].as_f64().unwrap() > 0.0, "{side}.{k} in {r}");
        }
        assert!(r[side]["min_us"].as_f64() <= r[side]["median_us"].as_f64());
    }
    let ratio = r["ratio"].as_f64().unwrap();
    let (lo, hi) = (r["ratio_ci95"][0].as_f64().unwrap(), r["ratio_ci95"][1].as_f64().unwrap());
    assert!(lo <= ratio && ratio <= hi, "{r}");
    // The phases come from shimld's own statistics.
    let phases: Vec<&str> = r["phases"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap()).collect();
    for p in ["map", "handover", "ld.so", "relocation", "init"] {
        assert!(phases.contains(&p), "phase {p} missing from {phases:?}");
    }
    let chart = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert_eq!(chart.matches("<circle").count(), 8, "one point per run of each loader");
    assert!(chart.contains("relocation"), "the phases bar is missing");
}

/// A program its ld.so runs alone has the phases shimld goes through:
/// mapping, the handover, and ld.so's work up to the program's entry.
#[test]
fn bench_phases_of_a_program_ldso_runs_alone() {
    let out = bench(&["--rounds", "2", "--warmup", "0", "--json", "/bin/true"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let phases: Vec<&str> = r["phases"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap()).collect();
    assert_eq!(phases, ["map", "handover", "ld.so"]);
}

#[test]
fn bench_text_output_and_program_lookup_in_path() {
    // A name without a slash is found in PATH for both loaders; the same
    // non-zero status from both is fine.
    let out = bench(&["--rounds", "2", "--warmup", "0", "false"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("/false  (2 rounds, interleaved)"), "{}", out.stdout);
    assert!(out.stdout.contains("ratio shimld/ld.so"), "{}", out.stdout);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("ld.so ")) && out.stdout.lines().any(|l| l.starts_with("shimld "))
    );
}

#[test]
fn bench_refuses_loaders_that_disagree() {
    // shimld with an option that makes it fail differently from ld.so.
    let out = bench(&["--rounds", "2", "--shimld-arg=--bogus-option", "/bin/true"]);
    assert_eq!(out.status, Some(1));
    assert!(out.stderr.contains("the loaders disagree"), "{}", out.stderr);
}
