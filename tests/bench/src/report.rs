// SPDX-License-Identifier: GPL-2.0

//! The report, built on the host from the rows the VM wrote: medians and spread of every
//! workload on every file system, the ratios that compare daxfs with ext4-dax, xfs-dax and the
//! memory-copy ceiling, as Markdown, CSV and an SVG plot of the ratios.

use std::{collections::BTreeMap, fmt::Write as _, fs};

use crate::Res;

/// One workload's figure: what it is, its unit and which way is better.
pub(crate) struct Workload {
    /// The name in the rows.
    key: &'static str,
    /// What was measured, for the table.
    title: &'static str,
    unit: &'static str,
    /// Whether a larger value is better (rates) or worse (times).
    higher_is_better: bool,
    /// Whether the figure is a bandwidth, comparable with memcpy's.
    bandwidth: bool,
    /// Whether the file systems are compared on it (not for a plain observation).
    compared: bool,
}

const fn workload(key: &'static str, title: &'static str, unit: &'static str) -> Workload {
    Workload {
        key,
        title,
        unit,
        higher_is_better: true,
        bandwidth: matches!(unit.as_bytes(), b"MiB/s"),
        compared: true,
    }
}

/// Every workload, in report order.
pub(crate) const WORKLOADS: &[Workload] = &[
    workload(
        "touch-4k",
        "first-touch write faults, 4 KiB pages, 1 GiB",
        "MiB/s",
    ),
    workload(
        "touch-2m",
        "first-touch write faults, 2 MiB-aligned, 1 GiB",
        "MiB/s",
    ),
    Workload {
        compared: false,
        ..workload("pmd-share", "share of that 1 GiB mapped by PMDs", "%")
    },
    workload(
        "touch-2m-2t",
        "the same by 2 threads, each on a 512 MiB file of its own",
        "MiB/s",
    ),
    workload("reread", "re-read of a mapped, faulted 1 GiB file", "MiB/s"),
    workload("psync-read-4k", "fio psync read, 4 KiB", "MiB/s"),
    workload("psync-write-4k", "fio psync write, 4 KiB", "MiB/s"),
    workload("psync-read-1m", "fio psync read, 1 MiB", "MiB/s"),
    workload("psync-write-1m", "fio psync write, 1 MiB", "MiB/s"),
    workload(
        "cached-write-4k",
        "fio psync write, 4 KiB, through the page cache (-o dax=never; ext4 without dax)",
        "MiB/s",
    ),
    workload(
        "cached-read-4k",
        "fio psync read, 4 KiB, through the page cache (-o dax=never; ext4 without dax)",
        "MiB/s",
    ),
    workload("mmap-read-4k", "fio mmap read, 4 KiB", "MiB/s"),
    workload("mmap-write-4k", "fio mmap write, 4 KiB", "MiB/s"),
    workload("mmap-read-1m", "fio mmap read, 1 MiB", "MiB/s"),
    workload("mmap-write-1m", "fio mmap write, 1 MiB", "MiB/s"),
    Workload {
        higher_is_better: false,
        ..workload("truncate-1g", "truncate a fully mapped 1 GiB file", "ms")
    },
    Workload {
        higher_is_better: false,
        ..workload(
            "truncate-pinned",
            "truncate a 64 KiB file with a page under a 5 s O_DIRECT read",
            "ms",
        )
    },
    Workload {
        higher_is_better: false,
        ..workload("fallocate-1g", "fallocate 1 GiB", "ms")
    },
    Workload {
        higher_is_better: false,
        ..workload(
            "randwrite-4m",
            "random 4 KiB pwrite allocating in a sparse 4 MiB file (every page)",
            "µs",
        )
    },
    Workload {
        higher_is_better: false,
        ..workload(
            "randwrite-1g",
            "random 4 KiB pwrite allocating in a sparse 1 GiB file (20,000 pages)",
            "µs",
        )
    },
    Workload {
        higher_is_better: false,
        ..workload(
            "randfault-4m",
            "random 4 KiB write faults allocating in a sparse 4 MiB file (every page)",
            "µs",
        )
    },
    Workload {
        higher_is_better: false,
        ..workload(
            "randfault-1g",
            "random 4 KiB write faults allocating in a sparse 1 GiB file (20,000 pages)",
            "µs",
        )
    },
    workload(
        "randread-1g",
        "random 4 KiB pread of that fragmented file",
        "reads/s",
    ),
    workload(
        "randread-map-1g",
        "random 4 KiB reads of it through a new mapping",
        "reads/s",
    ),
    Workload {
        higher_is_better: false,
        ..workload("truncate-frag", "truncate the fragmented file to 0", "ms")
    },
    Workload {
        higher_is_better: false,
        ..workload("unlink-frag", "unlink the other fragmented file", "ms")
    },
    workload("create-10k", "create 10,000 files of 100 bytes", "files/s"),
    workload("stat-10k", "stat them", "files/s"),
    workload("unlink-10k", "unlink them", "files/s"),
];

/// The file systems compared, in column order; the first is the one the ratios are about.
const FILE_SYSTEMS: [&str; 3] = ["daxfs", "ext4", "xfs"];
/// The `fs` column of the memcpy ceiling's rows.
const CEILING: &str = "memory";
/// The ceiling's workload.
const MEMCPY: &str = "memcpy";

/// The runs of one workload on one file system.
#[derive(Default)]
struct Runs(Vec<f64>);

impl Runs {
    fn sorted(&self) -> Vec<f64> {
        let mut values = self.0.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    fn median(&self) -> Option<f64> {
        let v = self.sorted();
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    /// Half the min-max range, as a percentage of the median.
    fn spread_percent(&self) -> Option<f64> {
        let v = self.sorted();
        let median = self.median()?;
        (median != 0.0).then(|| (v[v.len() - 1] - v[0]) / 2.0 / median * 100.0)
    }
}

/// All runs, by (workload, file system).
type Table = BTreeMap<(String, String), Runs>;

/// Parses the `fs,run,workload,value` rows.
fn parse(csv: &str) -> Res<Table> {
    let mut table = Table::new();
    for (number, line) in csv.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if number == 0 && fields.first() == Some(&"fs") {
            continue;
        }
        let [fs, _run, workload, value] = fields[..] else {
            return Err(format!(
                "line {}: expected fs,run,workload,value: {line}",
                number + 1
            ));
        };
        let value: f64 = value
            .parse()
            .map_err(|_| format!("line {}: '{value}' is not a number", number + 1))?;
        table
            .entry((workload.to_string(), fs.to_string()))
            .or_default()
            .0
            .push(value);
    }
    Ok(table)
}

/// How much faster daxfs is than `other` on `w` (above 1: faster), from the medians.
fn speedup(w: &Workload, daxfs: f64, other: f64) -> Option<f64> {
    let ratio = if w.higher_is_better {
        daxfs / other
    } else {
        other / daxfs
    };
    ratio.is_finite().then_some(ratio)
}

fn format_value(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The summary of one workload on one file system, if it ran: median, spread (%), runs.
type Summary = Option<(f64, f64, usize)>;

/// The figures of one report: medians per workload and file system, and the ratios.
struct Figures {
    /// (workload, [daxfs, ext4, xfs] as `(median, spread %, runs)`)
    rows: Vec<(&'static Workload, [Summary; 3])>,
    memcpy: Summary,
}

impl Figures {
    fn new(table: &Table) -> Self {
        let get = |workload: &str, fs: &str| {
            let runs = table.get(&(workload.to_string(), fs.to_string()))?;
            Some((
                runs.median()?,
                runs.spread_percent().unwrap_or(0.0),
                runs.0.len(),
            ))
        };
        Self {
            rows: WORKLOADS
                .iter()
                .map(|w| (w, FILE_SYSTEMS.map(|fs| get(w.key, fs))))
                .collect(),
            memcpy: get(MEMCPY, CEILING),
        }
    }

    /// daxfs/ext4, daxfs/xfs and daxfs/memcpy for one row.
    fn ratios(&self, w: &Workload, cols: &[Summary; 3]) -> [Option<f64>; 3] {
        let median = |c: &Summary| c.map(|(m, _, _)| m);
        let daxfs = median(&cols[0]);
        let vs = |other: Option<f64>| {
            if !w.compared {
                return None;
            }
            speedup(w, daxfs?, other?)
        };
        let ceiling = if w.bandwidth {
            vs(self.memcpy.map(|(m, _, _)| m))
        } else {
            None
        };
        [vs(median(&cols[1])), vs(median(&cols[2])), ceiling]
    }
}

fn markdown(figures: &Figures, about: &str) -> String {
    let cell = |c: &Summary| match c {
        Some((median, spread, _)) => format!("{} ±{spread:.0}%", format_value(*median)),
        None => "–".to_string(),
    };
    let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.2}"));
    let mut out = String::new();
    let _ = writeln!(out, "{about}\n");
    let _ = writeln!(
        out,
        "| workload | unit | daxfs | ext4 -o dax | xfs -o dax=always | daxfs/ext4 | daxfs/xfs | daxfs/memcpy |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for (w, cols) in &figures.rows {
        let [e, x, m] = figures.ratios(w, cols);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            w.title,
            w.unit,
            cell(&cols[0]),
            cell(&cols[1]),
            cell(&cols[2]),
            ratio(e),
            ratio(x),
            ratio(m)
        );
    }
    let _ = writeln!(
        out,
        "| memory copy between anonymous buffers, the fastest of libc memcpy, an 8-byte word loop and rep movsb (the ceiling) | MiB/s | {} | | | | | |",
        cell(&figures.memcpy)
    );
    let _ = writeln!(
        out,
        "\nCells: median of the runs ± half their min–max range, as % of the median. Ratios: how \
         many times faster daxfs is (above 1: daxfs is faster; for times, the inverse ratio), \
         from the medians. Under TCG emulation the figures compare file systems on the same \
         machine; they are not hardware numbers."
    );
    out
}

fn csv(figures: &Figures) -> String {
    let mut out = String::from("workload,unit,fs,median,spread_percent,runs,daxfs_vs_fs\n");
    let mut line = |w: &str, unit: &str, fs: &str, c: &Summary, r: Option<f64>| {
        if let Some((median, spread, runs)) = c {
            let r = r.map_or(String::new(), |r| format!("{r:.4}"));
            let _ = writeln!(out, "{w},{unit},{fs},{median:.3},{spread:.2},{runs},{r}");
        }
    };
    for (w, cols) in &figures.rows {
        let ratios = figures.ratios(w, cols);
        line(w.key, w.unit, FILE_SYSTEMS[0], &cols[0], None);
        line(w.key, w.unit, FILE_SYSTEMS[1], &cols[1], ratios[0]);
        line(w.key, w.unit, FILE_SYSTEMS[2], &cols[2], ratios[1]);
    }
    line(MEMCPY, "MiB/s", CEILING, &figures.memcpy, None);
    out
}

/// A horizontal bar chart of the ratios on a log2 scale from 1/8 to 8, 1 in the middle.
fn svg(figures: &Figures) -> String {
    const LABEL_W: f64 = 330.0;
    const PLOT_W: f64 = 480.0;
    const BAR_H: f64 = 9.0;
    const ROW_H: f64 = 3.0 * BAR_H + 8.0;
    const TOP: f64 = 40.0;
    let series = [
        ("daxfs/ext4", "#4477aa"),
        ("daxfs/xfs", "#ee6677"),
        ("daxfs/memcpy", "#228833"),
    ];
    let rows: Vec<_> = figures.rows.iter().filter(|(w, _)| w.compared).collect();
    let height = TOP + ROW_H * rows.len() as f64 + 40.0;
    let width = LABEL_W + PLOT_W + 20.0;
    let x_of = |ratio: f64| LABEL_W + (ratio.log2().clamp(-3.0, 3.0) + 3.0) / 6.0 * PLOT_W;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{LABEL_W}" y="14" font-size="13">How many times faster daxfs is (log scale; right of 1 = faster)</text>"#
    );
    for (i, (name, colour)) in series.iter().enumerate() {
        let x = LABEL_W + i as f64 * 130.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="22" width="10" height="10" fill="{colour}"/><text x="{}" y="31">{name}</text>"#,
            x + 14.0
        );
    }
    for tick in [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0] {
        let x = x_of(tick);
        let stroke = if tick == 1.0 { "#000" } else { "#ccc" };
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{tick}</text>"#,
            height - 30.0,
            height - 16.0
        );
    }
    for (row, (w, cols)) in rows.iter().enumerate() {
        let y = TOP + row as f64 * ROW_H;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y + 1.6 * BAR_H,
            w.title
        );
        for (i, ratio) in figures.ratios(w, cols).iter().enumerate() {
            let Some(ratio) = ratio else { continue };
            let (x0, x1) = (x_of(1.0), x_of(*ratio));
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{BAR_H}" fill="{}"><title>{}: {ratio:.2}</title></rect>"#,
                x0.min(x1),
                y + i as f64 * BAR_H,
                (x1 - x0).abs().max(1.0),
                series[i].1,
                series[i].0
            );
        }
    }
    let _ = writeln!(out, "</svg>");
    out
}

/// `report ROWS.csv OUTDIR "ABOUT"`: writes `OUTDIR/results.md`, `results.csv` and
/// `ratios.svg`.
pub(crate) fn report(rows: &str, outdir: &str, about: &str) -> Res {
    let text = fs::read_to_string(rows).map_err(|e| format!("read {rows}: {e}"))?;
    let table = parse(&text)?;
    if table.is_empty() {
        return Err(format!("{rows} has no figures"));
    }
    let figures = Figures::new(&table);
    let write = |name: &str, contents: String| {
        fs::write(format!("{outdir}/{name}"), contents)
            .map_err(|e| format!("write {outdir}/{name}: {e}"))
    };
    write("results.md", markdown(&figures, about))?;
    write("results.csv", csv(&figures))?;
    write("ratios.svg", svg(&figures))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let runs = Runs(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!(runs.median(), Some(2.5));
        assert_eq!(runs.spread_percent(), Some(9.0 / 2.0 / 2.5 * 100.0));
        assert_eq!(Runs(vec![]).median(), None);
    }

    #[test]
    fn ratios_point_the_same_way_for_rates_and_times() {
        let rows = "fs,run,workload,value\n\
                    daxfs,1,touch-4k,200\next4,1,touch-4k,100\nxfs,1,touch-4k,400\n\
                    daxfs,1,truncate-1g,10\next4,1,truncate-1g,30\nxfs,1,truncate-1g,5\n\
                    memory,1,memcpy,1000\n";
        let figures = Figures::new(&parse(rows).unwrap());
        let find = |key: &str| figures.rows.iter().find(|(w, _)| w.key == key).unwrap();
        let (w, cols) = find("touch-4k");
        assert_eq!(figures.ratios(w, cols), [Some(2.0), Some(0.5), Some(0.2)]);
        let (w, cols) = find("truncate-1g");
        assert_eq!(figures.ratios(w, cols), [Some(3.0), Some(0.5), None]);
        let (w, cols) = find("pmd-share");
        assert_eq!(figures.ratios(w, cols), [None, None, None]);
        assert!(markdown(&figures, "about").contains("| 2.00 | 0.50 | 0.20 |"));
        assert!(csv(&figures).contains("touch-4k,MiB/s,ext4,100.000,0.00,1,2.0000"));
        assert!(svg(&figures).starts_with("<svg"));
    }

    #[test]
    fn bad_rows_are_refused() {
        assert!(parse("daxfs,1,touch-4k").is_err());
        assert!(parse("daxfs,1,touch-4k,fast").is_err());
    }
}
