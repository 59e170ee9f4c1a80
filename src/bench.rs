//! `shimctl bench`: glibc's ld.so against shimld on one program, in one run.
//!
//! The two start the program alternately, round after round, with the order
//! rotated each round, and are timed from the parent (in-process cycle
//! counts are unreliable on virtual machines). The result is a ratio per
//! round, summarised by its median with a 95% confidence interval.

use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Rounds (each runs both loaders once).
    #[arg(long, default_value_t = 40)]
    rounds: usize,
    /// Unmeasured rounds first, to warm the page cache.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// The dynamic linker to compare with.
    #[arg(long, default_value = "/lib64/ld-linux-x86-64.so.2")]
    ldso: PathBuf,
    /// The shimld binary (default: the one next to shimctl).
    #[arg(long)]
    shimld: Option<PathBuf>,
    /// Extra options for shimld (before the program), e.g. --shimld-arg=--no-cache.
    #[arg(long = "shimld-arg")]
    shimld_args: Vec<String>,
    /// Write a chart (time distributions and shimld's phases) to this SVG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Run ld.so against itself (an A/A run: the noise floor).
    #[arg(long)]
    aa: bool,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    cmd: Vec<String>,
}

/// One run's measurements.
#[derive(Clone, Copy, Default)]
struct Run {
    wall_us: f64,
    cpu_us: f64,
    minflt: f64,
    status: i32,
}

#[derive(Serialize, Default, Clone)]
pub struct Summary {
    pub name: String,
    pub min_us: f64,
    pub p10_us: f64,
    pub median_us: f64,
    pub median_cpu_us: f64,
    pub median_minor_faults: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub command: Vec<String>,
    pub rounds: usize,
    pub ldso: Summary,
    pub shimld: Summary,
    /// Median of the per-round ratios shimld / ld.so (wall time).
    pub ratio: f64,
    pub ratio_ci95: (f64, f64),
    /// shimld's start-up phases (microseconds), from SHIMLD_DEBUG=statistics.
    pub phases: Vec<(String, f64)>,
}

fn spawn_timed(argv: &[String]) -> Result<Run, String> {
    let start = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and wait4 fills it for our child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child just spawned; the pointers are ours.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64() * 1e6;
    if r < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) {
        return Err(format!("{} did not exit normally (status {status:#x})", argv.join(" ")));
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    Ok(Run {
        wall_us: wall,
        cpu_us: tv(ru.ru_utime) + tv(ru.ru_stime),
        minflt: ru.ru_minflt as f64,
        status: libc::WEXITSTATUS(status),
    })
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn sorted(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = v.collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

fn summarise(name: &str, runs: &[Run]) -> Summary {
    let wall = sorted(runs.iter().map(|r| r.wall_us));
    Summary {
        name: name.to_string(),
        min_us: wall[0],
        p10_us: quantile(&wall, 0.1),
        median_us: quantile(&wall, 0.5),
        median_cpu_us: quantile(&sorted(runs.iter().map(|r| r.cpu_us)), 0.5),
        median_minor_faults: quantile(&sorted(runs.iter().map(|r| r.minflt)), 0.5),
    }
}

/// The median of `v` with a distribution-free 95% confidence interval (the
/// order statistics whose ranks bound the median with 95% probability).
pub fn median_ci(v: &[f64]) -> (f64, (f64, f64)) {
    let s = sorted(v.iter().copied());
    let n = s.len() as f64;
    let half = 0.98 * n.sqrt();
    let lo = ((n / 2.0 - half).floor().max(0.0)) as usize;
    let hi = ((n / 2.0 + half).ceil() as usize).min(s.len() - 1);
    (quantile(&s, 0.5), (s[lo], s[hi]))
}

fn progress(done: usize, total: usize) {
    let width = 40;
    let filled = done * width / total.max(1);
    eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
    let _ = std::io::stderr().flush();
}

/// shimld's start-up phases from SHIMLD_DEBUG=statistics: the median of
/// each over a few runs, in the order shimld reports them.
fn phases(shimld: &[String]) -> Vec<(String, f64)> {
    const RUNS: usize = 7;
    let mut order: Vec<String> = Vec::new();
    let mut times: std::collections::HashMap<String, Vec<f64>> = std::collections::HashMap::new();
    for _ in 0..RUNS {
        let out = Command::new(&shimld[0])
            .args(&shimld[1..])
            .env("SHIMLD_DEBUG", "statistics")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let Ok(out) = out else { return Vec::new() };
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            let Some((_, msg)) = line.split_once(":\t") else { continue };
            let Some(rest) = msg.strip_prefix("time in ") else { continue };
            let Some((phase, us)) = rest.split_once(": ") else { continue };
            let Ok(us) = us.trim_end_matches(" us").parse::<f64>() else { continue };
            if !order.iter().any(|p| p == phase) {
                order.push(phase.to_string());
            }
            times.entry(phase.to_string()).or_default().push(us);
        }
    }
    order
        .into_iter()
        .map(|p| {
            let v = sorted(times[&p].iter().copied());
            (p, quantile(&v, 0.5))
        })
        .collect()
}

/// The program's path as a shell would find it: ld.so does not search
/// PATH, so both loaders get the path.
fn find_program(name: &str) -> Result<String, String> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .map(|p| p.display().to_string())
        .ok_or_else(|| format!("{name}: not found in PATH"))
}

pub fn run(mut a: Args) -> Result<ExitCode, String> {
    a.cmd[0] = find_program(&a.cmd[0])?;
    let shimld = a.shimld.clone().unwrap_or_else(|| std::env::current_exe().unwrap().with_file_name("shimld"));
    let mut ld: Vec<String> = vec![a.ldso.display().to_string()];
    ld.extend(a.cmd.iter().cloned());
    let mut sh: Vec<String> = if a.aa { ld.clone() } else { vec![shimld.display().to_string()] };
    if !a.aa {
        sh.extend(a.shimld_args.iter().cloned());
        sh.extend(a.cmd.iter().cloned());
    }
    let runners = [ld.clone(), sh.clone()];
    // Both must do the same thing: compare exit statuses once.
    let check: Vec<Run> = runners.iter().map(|r| spawn_timed(r)).collect::<Result<_, _>>()?;
    if check[0].status != check[1].status {
        return Err(format!(
            "the loaders disagree: exit status {} under {} but {} under {}",
            check[0].status, runners[0][0], check[1].status, runners[1][0]
        ));
    }
    for _ in 1..a.warmup {
        for r in &runners {
            spawn_timed(r)?;
        }
    }
    let mut results: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for round in 0..a.rounds {
        let mut this = [Run::default(); 2];
        for k in 0..2 {
            let i = (k + round) % 2;
            this[i] = spawn_timed(&runners[i])?;
        }
        results[0].push(this[0]);
        results[1].push(this[1]);
        ratios.push(this[1].wall_us / this[0].wall_us);
        progress(round + 1, a.rounds);
    }
    eprintln!();
    let (ratio, ci) = median_ci(&ratios);
    let report = Report {
        command: a.cmd.clone(),
        rounds: a.rounds,
        ldso: summarise("ld.so", &results[0]),
        shimld: summarise(if a.aa { "ld.so (A/A)" } else { "shimld" }, &results[1]),
        ratio,
        ratio_ci95: ci,
        phases: if a.aa { Vec::new() } else { phases(&sh) },
    };
    if let Some(p) = &a.plot {
        std::fs::write(p, plot(&report, &results)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}  ({} rounds, interleaved)", a.cmd.join(" "), a.rounds);
    println!("{:<14} {:>10} {:>10} {:>10} {:>12} {:>10}", "", "min", "p10", "median", "median CPU", "minflt");
    for s in [&report.ldso, &report.shimld] {
        println!(
            "{:<14} {:>8.0}us {:>8.0}us {:>8.0}us {:>10.0}us {:>10.0}",
            s.name, s.min_us, s.p10_us, s.median_us, s.median_cpu_us, s.median_minor_faults
        );
    }
    println!(
        "ratio shimld/ld.so (median of per-round ratios): {:.3}  [95% CI {:.3} .. {:.3}]",
        report.ratio, ci.0, ci.1
    );
    if !report.phases.is_empty() {
        let parts: Vec<String> = report.phases.iter().map(|(p, us)| format!("{p} {us:.0}us")).collect();
        println!("shimld phases: {}", parts.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The chart: each loader's wall times as a strip of points with its
/// median, and shimld's phases as a stacked bar.
fn plot(r: &Report, results: &[Vec<Run>; 2]) -> String {
    let (w, h) = (720.0, 360.0);
    let all: Vec<f64> = results.iter().flatten().map(|r| r.wall_us).collect();
    let max = all.iter().cloned().fold(1.0, f64::max) * 1.05;
    let x = |us: f64| 60.0 + (us / max) * (w - 100.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">{} — ratio {:.3} [{:.3}, {:.3}]</text>\n",
        xml(&r.command.join(" ")),
        r.ratio,
        r.ratio_ci95.0,
        r.ratio_ci95.1
    );
    for (row, (runs, sum, colour)) in
        [(&results[0], &r.ldso, "#4477aa"), (&results[1], &r.shimld, "#cc6677")].into_iter().enumerate()
    {
        let y = 70.0 + row as f64 * 70.0;
        s += &format!("<text x=\"10\" y=\"{}\">{}</text>\n", y + 4.0, xml(&sum.name));
        for run in runs {
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\" fill-opacity=\"0.5\"/>\n",
                x(run.wall_us)
            );
        }
        s += &format!(
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"black\" stroke-width=\"2\"/>\n",
            x(sum.median_us),
            y - 12.0,
            y + 12.0
        );
    }
    let axis_y = 200.0;
    s += &format!("<line x1=\"60\" x2=\"{}\" y1=\"{axis_y}\" y2=\"{axis_y}\" stroke=\"black\"/>\n", w - 40.0);
    for k in 0..=4 {
        let us = max * k as f64 / 4.0;
        s += &format!("<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{:.0}us</text>\n", x(us), axis_y + 16.0, us);
    }
    if !r.phases.is_empty() {
        let total: f64 = r.phases.iter().map(|p| p.1).sum::<f64>().max(1.0);
        let colours = ["#88ccee", "#44aa99", "#117733", "#999933", "#ddcc77", "#aa4499"];
        let mut at = 60.0;
        s += "<text x=\"10\" y=\"270\">shimld</text>\n<text x=\"10\" y=\"284\">phases</text>\n";
        for (k, (name, us)) in r.phases.iter().enumerate() {
            let width = us / total * (w - 100.0);
            s += &format!(
                "<rect x=\"{at:.1}\" y=\"260\" width=\"{width:.1}\" height=\"24\" fill=\"{}\"/><text x=\"{:.1}\" y=\"300\">{} {:.0}us</text>\n",
                colours[k % colours.len()],
                at,
                xml(name),
                us
            );
            at += width;
        }
    }
    s += "</svg>\n";
    s
}

fn xml(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
