//! Enishi's benchmark harness: every workload runs side by side, in one
//! invocation, on Enishi and on what a user would pick instead — DataFusion 55
//! in process, DuckDB and PostgreSQL 15 — and is reported as Markdown with
//! medians, ratios and peak memory. `scripts/bench` builds and runs it; see
//! BENCHMARKS.md.

mod bulk;
mod report;
mod servers;
mod small;
mod tpch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

use report::{Report, Table, fig, geomean, median, mib, ratio};
use servers::{Enishi, Postgres, Result, connect};
use tpch::EngineRun;

#[derive(Parser)]
#[command(about = "Enishi side by side with DataFusion, DuckDB and PostgreSQL")]
struct Args {
    /// TPC-H scale factor of the generated data.
    #[arg(long, default_value = "1")]
    scale: String,
    /// Timed runs of each query after its first (cold) run.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The workloads to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "load,tpch,small,cache,stream,files"
    )]
    workloads: Vec<Workload>,
    /// The Enishi server binary (default: `enishi` next to this binary).
    #[arg(long)]
    enishi: Option<PathBuf>,
    /// Where generated data (kept between runs) and the servers' files go.
    #[arg(long, default_value = "/var/tmp/enishi-bench")]
    work: PathBuf,
    /// Seconds each pgbench run lasts.
    #[arg(long, default_value_t = 15)]
    pgbench_seconds: u32,
    /// Also write the report to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Fail unless every engine gives PostgreSQL's answer to every TPC-H query.
    #[arg(long)]
    check: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Load,
    Tpch,
    Small,
    Cache,
    Stream,
    Files,
}

fn main() -> Result<()> {
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(run(&args))
}

async fn run(args: &Args) -> Result<()> {
    let enishi_binary = match &args.enishi {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("enishi"),
    };
    std::fs::create_dir_all(&args.work)?;
    let work = args.work.canonicalize()?;
    let data = tpch::ensure_data(&work, &args.scale)?;
    let run_dir = work.join("run");
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir)?;

    let mut report = Report::default();
    report.section("Machine and versions", &machine(&args.scale, args.runs));

    let mut enishi = Enishi::start(&enishi_binary, &run_dir.join("enishi"), &work, 0).await?;
    let mut postgres = Postgres::start(&run_dir.join("postgres")).await?;
    let wants = |w: Workload| args.workloads.contains(&w);

    let loaded = wants(Workload::Load)
        || wants(Workload::Tpch)
        || wants(Workload::Cache)
        || wants(Workload::Stream);
    if loaded {
        let body = load(&enishi, &postgres, &data).await?;
        report.section("Bulk load: COPY FROM STDIN and multi-row INSERT", &body);
    }
    let mut disagreements = Vec::new();
    if wants(Workload::Tpch) {
        let (body, differing) = tpch_workload(args, &mut enishi, &mut postgres, &data).await?;
        report.section(&format!("TPC-H SF{}, 22 queries", args.scale), &body);
        disagreements = differing;
    }
    if wants(Workload::Small) {
        let body = small_queries(args, &enishi, &postgres, &run_dir).await?;
        report.section("Small queries", &body);
    }
    if wants(Workload::Cache) {
        let body = cache_hits(&enishi, &postgres).await?;
        report.section("Result-cache hits: TPC-H Q1 repeated", &body);
    }
    if wants(Workload::Stream) {
        let body = streaming(&enishi, &postgres).await?;
        report.section("Large results: SELECT * FROM lineitem", &body);
    }
    if wants(Workload::Files) {
        drop(enishi);
        let body = small_files(args, &enishi_binary, &work, &run_dir, &postgres).await?;
        report.section("Small files: 1,000 single-row INSERTs", &body);
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report.text())?;
    }
    if args.check && !disagreements.is_empty() {
        return Err(format!(
            "answers differ from PostgreSQL's: {}",
            disagreements.join("; ")
        )
        .into());
    }
    Ok(())
}

/// The machine, the date and the versions compared.
fn machine(scale: &str, runs: usize) -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| format!("{} GiB", kib / 1024 / 1024))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(tpch::bench_dir())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = output("git", &["describe", "--always", "--dirty"]);
    let duckdb = output(
        "python3",
        &["-c", "import duckdb; print(duckdb.__version__)"],
    );
    let datafusion = output(
        "python3",
        &["-c", "import datafusion; print(datafusion.__version__)"],
    );
    let postgres = output("/usr/lib/postgresql/15/bin/postgres", &["--version"]);
    format!(
        "- {date}; {cores} cores ({cpu}), {memory} memory\n\
         - Enishi at commit {commit} (release build of the checkout `scripts/bench` runs \
         from), DataFusion {datafusion} in process (its Python bindings, default \
         settings), DuckDB {duckdb} (Python, `threads = {cores}`), {postgres} \
         (shared_buffers 4GB, work_mem 256MB, parallel workers 2, TPC-H keys and foreign-key/date indexes)\n\
         - TPC-H SF{scale} from `tpchgen-cli`; every query runs once cold (first run after a \
         restart) then {runs} times; figures are medians of those runs\n"
    )
}

async fn load(enishi: &Enishi, postgres: &Postgres, data: &tpch::Data) -> Result<String> {
    let servers = [("Enishi", enishi.port), ("PostgreSQL", postgres.port)];
    let mut copies = Vec::new();
    for (name, port) in servers {
        let client = connect(port).await?;
        let start = Instant::now();
        let tables = tpch::load(&client, data).await?;
        let total = start.elapsed().as_secs_f64();
        let (seconds, rows) = tables["lineitem"];
        copies.push((name, total, seconds, rows as f64 / seconds));
    }
    let client = connect(postgres.port).await?;
    let start = Instant::now();
    for statement in tpch::statements(&tpch::bench_dir().join("tpch/postgres_indexes.sql"))? {
        client.batch_execute(&statement).await?;
    }
    let indexes = start.elapsed().as_secs_f64();

    let rows = 100_000;
    let lineitem = tpch::schema_statements()?
        .into_iter()
        .find(|s| s.to_lowercase().starts_with("create table lineitem"))
        .ok_or("no lineitem in the schema")?;
    let mut inserts = Vec::new();
    for (name, port) in servers {
        let client = connect(port).await?;
        client
            .batch_execute(&lineitem.replacen("lineitem", "lineitem_insert", 1))
            .await?;
        let csv = data.csv.join("lineitem.csv");
        let rate = bulk::multi_row_insert(&client, "lineitem_insert", &csv, rows, 1000).await?;
        inserts.push((name, rate));
    }

    let mut copy_table = Table::new(&[
        "server",
        "all 8 tables",
        "lineitem",
        "lineitem rows/s",
        "Enishi / PostgreSQL",
    ]);
    for (name, total, seconds, rate) in &copies {
        copy_table.row([
            name.to_string(),
            format!("{total:.1} s"),
            format!("{seconds:.1} s"),
            format!("{rate:.0}"),
            if *name == "Enishi" {
                ratio(copies[0].3, copies[1].3)
            } else {
                String::new()
            },
        ]);
    }
    let mut insert_table = Table::new(&["server", "rows/s", "Enishi / PostgreSQL"]);
    for (name, rate) in &inserts {
        insert_table.row([
            name.to_string(),
            format!("{rate:.0}"),
            if *name == "Enishi" {
                ratio(inserts[0].1, inserts[1].1)
            } else {
                String::new()
            },
        ]);
    }
    Ok(format!(
        "COPY … FROM STDIN (FORMAT csv, HEADER) of the generated CSV files over one \
         connection (tokio-postgres `copy_in`), wall time per table.\n\n{}\n\
         PostgreSQL then built its keys and indexes and analyzed in {indexes:.1} s (not \
         included above).\n\n\
         Multi-row INSERT: the first {rows} lineitem rows as INSERT statements of 1,000 \
         rows each (string literals cast to the columns' types).\n\n{}",
        copy_table.finish(),
        insert_table.finish()
    ))
}

async fn tpch_workload(
    args: &Args,
    enishi: &mut Enishi,
    postgres: &mut Postgres,
    data: &tpch::Data,
) -> Result<(String, Vec<String>)> {
    let queries = tpch::queries()?;
    enishi.restart().await?;
    let client = connect(enishi.port).await?;
    client
        .batch_execute("set enishi.result_cache = off")
        .await?;
    let mut enishi_run = tpch::run_queries(&client, &queries, args.runs, "enishi").await;
    enishi_run.peak_rss_kib = enishi.peak_rss_kib();

    let runner = |engine: &str, mode: &str| {
        let mut command = Command::new("python3");
        command
            .arg(tpch::bench_dir().join("tpch/runner.py"))
            .args(["--engine", engine, "--mode", mode, "--threads", "2"])
            .arg("--data")
            .arg(&data.parquet)
            .arg("--queries")
            .arg(tpch::bench_dir().join("tpch/queries"))
            .args(["--runs", &args.runs.to_string()]);
        let name = match engine {
            "duckdb" => format!("duckdb-{mode}"),
            _ => engine.to_string(),
        };
        tpch::run_external(command, &name)
    };
    let datafusion = runner("datafusion", "parquet");
    let duckdb_parquet = runner("duckdb", "parquet");
    let duckdb_native = runner("duckdb", "native");

    postgres.restart().await?;
    let client = connect(postgres.port).await?;
    client
        .batch_execute("set statement_timeout = '600s'")
        .await?;
    let backend: i32 = client
        .query_one("select pg_backend_pid()", &[])
        .await?
        .get(0);
    let mut postgres_run = tpch::run_queries(&client, &queries, args.runs, "postgres").await;
    postgres_run.peak_rss_kib = servers::peak_rss_kib(backend as u32);

    Ok(tpch_table(
        &queries,
        &[
            &enishi_run,
            &datafusion,
            &duckdb_parquet,
            &duckdb_native,
            &postgres_run,
        ],
    ))
}

/// The per-query table: cold and warm for Enishi, warm for the others,
/// Enishi's ratios, and which engines' answers differ from PostgreSQL's;
/// also the list of those differences.
fn tpch_table(queries: &[(String, String)], runs: &[&EngineRun; 5]) -> (String, Vec<String>) {
    let [enishi, datafusion, duck_parquet, duck_native, postgres] = *runs;
    let warm = |run: &EngineRun, q: &str| {
        run.queries
            .get(q)
            .filter(|r| r.error.is_none() && !r.runs_ms.is_empty())
            .map(|r| median(&r.runs_ms))
            .unwrap_or(f64::NAN)
    };
    let cold = |run: &EngineRun, q: &str| {
        run.queries
            .get(q)
            .filter(|r| r.error.is_none())
            .map(|r| r.cold_ms)
            .unwrap_or(f64::NAN)
    };
    let mut table = Table::new(&[
        "query",
        "Enishi cold",
        "Enishi",
        "DataFusion",
        "DuckDB Parquet",
        "DuckDB native",
        "PostgreSQL cold",
        "PostgreSQL",
        "Enishi / DataFusion",
        "Enishi / DuckDB best",
        "answers",
    ]);
    let mut geo: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for (q, _) in queries {
        let reference = postgres.queries.get(q).map(|r| r.checksum.as_str());
        let differing: Vec<&str> = runs
            .iter()
            .filter(|run| {
                let mine = run.queries.get(q);
                mine.is_none_or(|r| r.error.is_some() || Some(r.checksum.as_str()) != reference)
            })
            .map(|run| run.engine.as_str())
            .collect();
        if !differing.is_empty() {
            disagreements.push(format!("{q}: {}", differing.join(", ")));
        }
        let e = warm(enishi, q);
        let d = warm(datafusion, q);
        let best_duck = warm(duck_parquet, q).min(warm(duck_native, q));
        let all = [
            e,
            d,
            warm(duck_parquet, q),
            warm(duck_native, q),
            warm(postgres, q),
            cold(enishi, q),
            cold(postgres, q),
        ];
        if all.iter().all(|v| v.is_finite() && *v > 0.0) {
            for (name, v) in [
                ("enishi", e),
                ("datafusion", d),
                ("duck_parquet", all[2]),
                ("duck_native", all[3]),
                ("postgres", all[4]),
                ("enishi_cold", all[5]),
                ("postgres_cold", all[6]),
            ] {
                geo.entry(name).or_default().push(v);
            }
        }
        let errors: Vec<String> = runs
            .iter()
            .filter_map(|run| {
                let e = run.queries.get(q)?.error.as_ref()?;
                Some(format!(
                    "{}: {}",
                    run.engine,
                    e.chars().take(80).collect::<String>()
                ))
            })
            .collect();
        table.row([
            q.clone(),
            fig(cold(enishi, q)),
            fig(e),
            fig(d),
            fig(all[2]),
            fig(all[3]),
            fig(cold(postgres, q)),
            fig(all[4]),
            ratio(e, d),
            ratio(e, best_duck),
            if differing.is_empty() {
                "same".to_string()
            } else if errors.is_empty() {
                format!("differ: {}", differing.join(", "))
            } else {
                errors.join("; ")
            },
        ]);
    }
    let g = |name: &str| geo.get(name).map(|v| geomean(v)).unwrap_or(f64::NAN);
    let counted = geo.get("enishi").map_or(0, Vec::len);
    let duck_best = g("duck_parquet").min(g("duck_native"));
    table.row([
        format!("**geomean** ({counted} queries)"),
        fig(g("enishi_cold")),
        fig(g("enishi")),
        fig(g("datafusion")),
        fig(g("duck_parquet")),
        fig(g("duck_native")),
        fig(g("postgres_cold")),
        fig(g("postgres")),
        format!("**{}**", ratio(g("enishi"), g("datafusion"))),
        format!("**{}**", ratio(g("enishi"), duck_best)),
        String::new(),
    ]);
    table.row([
        "peak RSS".into(),
        String::new(),
        mib(enishi.peak_rss_kib),
        mib(datafusion.peak_rss_kib),
        mib(duck_parquet.peak_rss_kib),
        mib(duck_native.peak_rss_kib),
        String::new(),
        mib(postgres.peak_rss_kib),
        String::new(),
        String::new(),
        String::new(),
    ]);
    let body = format!(
        "Milliseconds. Enishi and PostgreSQL through the pg wire (tokio-postgres, simple \
         protocol, text results; Enishi's result cache off); DataFusion and DuckDB in \
         process on the generated Parquet files (DuckDB native: loaded into its own \
         tables first, load {} s). \"answers\" compares each engine's answer with \
         PostgreSQL's (numbers to 2 decimals). Peak RSS: the Enishi server process, the \
         DataFusion and DuckDB processes, the PostgreSQL backend (its shared buffers \
         included as touched; parallel workers not).\n\n{}",
        duck_native.load_s.map(fig).unwrap_or_else(|| "–".into()),
        table.finish()
    );
    (body, disagreements)
}

async fn small_queries(
    args: &Args,
    enishi: &Enishi,
    postgres: &Postgres,
    run_dir: &Path,
) -> Result<String> {
    for (port, is_postgres) in [(enishi.port, false), (postgres.port, true)] {
        small::create_point_table(&connect(port).await?, is_postgres).await?;
    }
    let mut latency = Table::new(&[
        "protocol",
        "Enishi p50",
        "PostgreSQL p50",
        "ratio",
        "Enishi p99",
        "PostgreSQL p99",
    ]);
    let e = small::select_one(&connect(enishi.port).await?, 5000).await?;
    let p = small::select_one(&connect(postgres.port).await?, 5000).await?;
    for (i, mode) in ["simple", "extended, prepared"].iter().enumerate() {
        latency.row([
            mode.to_string(),
            fig(e[i].0),
            fig(p[i].0),
            ratio(e[i].0, p[i].0),
            fig(e[i].1),
            fig(p[i].1),
        ]);
    }
    let mut tps = Table::new(&[
        "script",
        "mode",
        "Enishi TPS",
        "PostgreSQL TPS",
        "Enishi / PostgreSQL",
        "Enishi latency",
        "PostgreSQL latency",
    ]);
    for (name, script) in small::SCRIPTS {
        for mode in ["simple", "prepared"] {
            let e = small::pgbench(enishi.port, script, mode, args.pgbench_seconds, run_dir);
            let p = small::pgbench(postgres.port, script, mode, args.pgbench_seconds, run_dir);
            let failure = [("Enishi", &e.failed), ("PostgreSQL", &p.failed)]
                .iter()
                .filter_map(|(who, f)| f.as_ref().map(|f| format!(" ({who}: {f})")))
                .collect::<String>();
            tps.row([
                format!("{name}{failure}"),
                mode.to_string(),
                format!("{:.0}", e.tps),
                format!("{:.0}", p.tps),
                ratio(e.tps, p.tps),
                format!("{} ms", fig(e.latency_ms)),
                format!("{} ms", fig(p.latency_ms)),
            ]);
        }
    }
    Ok(format!(
        "`SELECT 1` latency over one connection (tokio-postgres), 5,000 times each, in \
         milliseconds:\n\n{}\npgbench, 8 clients on 2 threads, {} s per run, over a \
         {}-row table `pt(k, v, s)` (PostgreSQL with a primary key on `k`; Enishi's \
         result cache on, as a user would run it):\n\n{}",
        latency.finish(),
        args.pgbench_seconds,
        small::POINT_ROWS,
        tps.finish()
    ))
}

async fn cache_hits(enishi: &Enishi, postgres: &Postgres) -> Result<String> {
    let q1 = tpch::queries()?
        .into_iter()
        .next()
        .ok_or("no TPC-H queries")?
        .1;
    let (first, p50, p99) = small::repeated(&connect(enishi.port).await?, &q1, 1000).await?;
    let (_, pg_p50, pg_p99) =
        small::repeated(&connect(postgres.port).await?, "select 1", 1000).await?;
    let mut table = Table::new(&["", "first run", "p50", "p99"]);
    table.row([
        "Enishi, TPC-H Q1 repeated".into(),
        fig(first),
        fig(p50),
        fig(p99),
    ]);
    table.row([
        "PostgreSQL, `select 1`".into(),
        String::new(),
        fig(pg_p50),
        fig(pg_p99),
    ]);
    Ok(format!(
        "TPC-H Q1 sent 1,001 times over one connection (tokio-postgres, simple protocol), \
         Enishi's result cache on; milliseconds. Cache-hit p50 / PostgreSQL `select 1` \
         p50 = **{}**.\n\n{}",
        ratio(p50, pg_p50),
        table.finish()
    ))
}

async fn streaming(enishi: &Enishi, postgres: &Postgres) -> Result<String> {
    let sql = "select * from lineitem";
    let mut table = Table::new(&[
        "client",
        "server",
        "rows/s",
        "MB/s",
        "seconds",
        "ratio to PostgreSQL",
    ]);
    let rows: i64 = connect(postgres.port)
        .await?
        .query_one("select count(*) from lineitem", &[])
        .await?
        .get(0);
    let mut text = Vec::new();
    let mut binary = Vec::new();
    for (name, port) in [("Enishi", enishi.port), ("PostgreSQL", postgres.port)] {
        let (seconds, bytes) = bulk::stream_to_psql(port, sql)?;
        text.push((
            name,
            seconds,
            rows as f64 / seconds,
            bytes as f64 / seconds / 1e6,
        ));
        let client = connect(port).await?;
        if name == "Enishi" {
            client
                .batch_execute("set enishi.result_cache = off")
                .await?;
        }
        let (seconds, n, bytes) = bulk::stream_binary(&client, sql).await?;
        binary.push((
            name,
            seconds,
            n as f64 / seconds,
            bytes as f64 / seconds / 1e6,
        ));
    }
    for (client, results) in [("psql, text", &text), ("tokio-postgres, binary", &binary)] {
        for (name, seconds, rate, mbs) in results.iter() {
            table.row([
                client.to_string(),
                name.to_string(),
                format!("{rate:.0}"),
                format!("{mbs:.1}"),
                format!("{seconds:.2}"),
                ratio(*rate, results[1].2),
            ]);
        }
    }
    Ok(format!(
        "All {rows} rows of lineitem, to psql (`-A -t`, unaligned text; bytes counted as \
         they arrive) and to tokio-postgres with binary results (bytes of values).\n\n{}",
        table.finish()
    ))
}

async fn small_files(
    args: &Args,
    binary: &Path,
    work: &Path,
    run_dir: &Path,
    postgres: &Postgres,
) -> Result<String> {
    let dir = run_dir.join("files");
    let mut enishi = Enishi::start(binary, &dir, work, 0).await?;
    let n = 1000;
    let client = connect(enishi.port).await?;
    let inserts = bulk::single_row_inserts(&client, "many", n).await?;
    client
        .batch_execute(&format!(
            "create table once (id bigint, v double precision, s text);
             insert into once select value, value * 1.5, concat('row ', value % 100)
             from generate_series(1, {n})"
        ))
        .await?;
    let pg = connect(postgres.port).await?;
    let pg_inserts = bulk::single_row_inserts(&pg, "many", n).await?;

    let query = |table: &str| format!("select count(*), sum(v), count(distinct s) from {table}");
    let time = |client: tokio_postgres::Client, sql: String, runs: usize| async move {
        client
            .batch_execute("set enishi.result_cache = off")
            .await
            .ok();
        let mut times = Vec::new();
        for _ in 0..=runs {
            let start = Instant::now();
            client.simple_query(&sql).await?;
            times.push(report::ms(start.elapsed()));
        }
        Result::Ok(median(&times[1..]))
    };
    let before = time(client, query("many"), args.runs).await?;
    let once = time(connect(enishi.port).await?, query("once"), args.runs).await?;
    let pg_time = time(pg, query("many"), args.runs).await?;

    // Let background maintenance compact the table, then measure again.
    let config = dir.join("enishi.toml");
    let text = std::fs::read_to_string(&config)?;
    std::fs::write(
        &config,
        text.replace(
            "maintenance_interval_secs = 0",
            "maintenance_interval_secs = 1",
        ),
    )?;
    enishi.restart().await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !bulk::compacted(&dir.join("data")) {
        if Instant::now() > deadline {
            return Err("no compaction within 300 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = time(connect(enishi.port).await?, query("many"), args.runs).await?;

    let mut table = Table::new(&["table", "scan (ms)", "ratio to one INSERT"]);
    table.row([
        "Enishi, 1,000 INSERTs, before compaction".into(),
        fig(before),
        ratio(before, once),
    ]);
    table.row([
        "Enishi, 1,000 INSERTs, after compaction".into(),
        fig(after),
        ratio(after, once),
    ]);
    table.row(["Enishi, one INSERT".into(), fig(once), String::new()]);
    table.row([
        "PostgreSQL, 1,000 INSERTs".into(),
        fig(pg_time),
        String::new(),
    ]);
    Ok(format!(
        "A table built by {n} single-row INSERTs (autocommit: Enishi {:.1} s, {:.1} ms \
         each; PostgreSQL {:.1} s), then `{}` (median of {} runs, result cache off), before \
         and after Enishi's background compaction, against the same rows written by one \
         INSERT.\n\n{}",
        inserts,
        inserts * 1000.0 / n as f64,
        pg_inserts,
        query("many"),
        args.runs,
        table.finish()
    ))
}
