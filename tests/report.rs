//! `moneytrail report` and the graph exports on a real trace: the anvil chain of
//! tests/trace_anvil.rs traced with `--graph-formats gexf,dot,json`, a label file whose entity is
//! a script injection, the HTML report opened in headless Chromium (playwright-core, Debian
//! `chromium`), GraphML / GEXF re-parsed with quick-xml, node-link JSON and DOT checked against
//! flows.csv, Markdown against summary.json. Hand-written directories: tests/report_input.rs.

mod common;

use common::ok;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alloy_primitives::U256;
use moneytrail::model::Amount;
use quick_xml::events::Event;

const EVIL: &str = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>";
const PIPE_LABEL: &str = "Hot|wallet `1`";

fn moneytrail(db: &Path, args: &[&str]) -> Output {
    common::moneytrail(db, None, args)
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// Σ tainted_amount of flows.csv per asset (base units), distinct (from, to, asset) edges and
/// distinct nodes.
struct FlowTruth {
    tainted: BTreeMap<String, U256>,
    edges: BTreeSet<(String, String, String)>,
    nodes: BTreeSet<String>,
}

fn flow_truth(dir: &Path) -> FlowTruth {
    let s = summary(dir);
    let mut r = csv::Reader::from_path(dir.join("flows.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cf, ct, ca, cta) = (c("from"), c("to"), c("asset"), c("tainted_amount"));
    let mut t = FlowTruth {
        tainted: BTreeMap::new(),
        edges: BTreeSet::new(),
        nodes: BTreeSet::new(),
    };
    for rec in r.records() {
        let rec = rec.unwrap();
        let asset = rec[ca].to_string();
        let d = s["assets"][&asset]["decimals"].as_u64().unwrap() as u8;
        let v = Amount::parse_decimal(&rec[cta], d).unwrap().0;
        *t.tainted.entry(asset.clone()).or_default() += v;
        let to = if rec[ct].is_empty() { "fee" } else { &rec[ct] };
        t.nodes.insert(rec[cf].to_lowercase());
        t.nodes.insert(to.to_lowercase());
        t.edges
            .insert((rec[cf].to_lowercase(), to.to_lowercase(), asset));
    }
    t
}

/// A parsed XML element (enough for GraphML / GEXF).
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a El>) {
        if self.name == name {
            out.push(self);
        }
        for c in &self.children {
            c.all(name, out);
        }
    }
    fn find(&self, name: &str) -> Vec<&El> {
        let mut v = Vec::new();
        self.all(name, &mut v);
        v
    }
}

fn parse_xml(text: &str) -> El {
    let mut r = quick_xml::Reader::from_str(text);
    let mut stack: Vec<El> = vec![El::default()];
    let open = |e: &quick_xml::events::BytesStart| El {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().expect("attribute value").into_owned(),
                )
            })
            .collect(),
        ..El::default()
    };
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let el = open(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Text(t) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&t.decode().unwrap()),
            Event::GeneralRef(g) => {
                let name = g.decode().unwrap().into_owned();
                let ch = quick_xml::escape::resolve_predefined_entity(&name)
                    .unwrap_or_else(|| panic!("unknown entity &{name};"));
                stack.last_mut().unwrap().text.push_str(ch);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unbalanced XML");
    stack.pop().unwrap()
}

fn parse_dec(s: &serde_json::Value, asset: &str, v: &str) -> U256 {
    let d = s["assets"][asset]["decimals"].as_u64().unwrap() as u8;
    Amount::parse_decimal(v, d)
        .unwrap_or_else(|e| panic!("{asset} {v}: {e}"))
        .0
}

fn check_graphml_and_gexf(dir: &Path, truth: &FlowTruth) {
    let s = summary(dir);
    // GraphML (the trace's own export)
    let g = parse_xml(&std::fs::read_to_string(dir.join("graph.graphml")).unwrap());
    let graphml = &g.find("graphml")[0];
    assert_eq!(
        graphml.find("node").len(),
        truth.nodes.len(),
        "graphml nodes"
    );
    let edges = graphml.find("edge");
    assert_eq!(edges.len(), truth.edges.len(), "graphml edges");
    let mut sums: BTreeMap<String, U256> = BTreeMap::new();
    for e in &edges {
        let data = |k: &str| {
            e.children
                .iter()
                .find(|d| d.attrs.get("key").map(String::as_str) == Some(k))
                .map(|d| d.text.clone())
                .unwrap()
        };
        let asset = data("e_asset");
        *sums.entry(asset.clone()).or_default() += parse_dec(&s, &asset, &data("e_tainted"));
    }
    assert_eq!(sums, truth.tainted, "graphml Σ tainted = flows.csv");

    // GEXF
    let g = parse_xml(&std::fs::read_to_string(dir.join("graph.gexf")).unwrap());
    let gexf = g.find("gexf")[0];
    assert_eq!(gexf.attrs["version"], "1.3");
    assert_eq!(gexf.attrs["xmlns"], "http://gexf.net/1.3");
    let graph = gexf.find("graph")[0];
    assert_eq!(graph.attrs["defaultedgetype"], "directed");
    let node_attrs: BTreeSet<String> = graph
        .find("attributes")
        .iter()
        .filter(|a| a.attrs["class"] == "node")
        .flat_map(|a| a.find("attribute"))
        .map(|a| a.attrs["title"].clone())
        .collect();
    for want in ["category", "role", "entity", "hop"] {
        assert!(node_attrs.contains(want), "gexf node attribute {want}");
    }
    let nodes = graph.find("node");
    assert_eq!(nodes.len(), truth.nodes.len(), "gexf nodes");
    let ids: BTreeSet<String> = nodes.iter().map(|n| n.attrs["id"].to_lowercase()).collect();
    assert_eq!(&ids, &truth.nodes, "gexf node ids are the addresses");
    for n in &nodes {
        assert_eq!(n.find("viz:color").len(), 1, "a colour per node");
    }
    let entities: Vec<String> = nodes
        .iter()
        .flat_map(|n| n.find("attvalue"))
        .filter(|a| a.attrs["for"] == "entity")
        .map(|a| a.attrs["value"].clone())
        .collect();
    assert!(
        entities.iter().any(|e| e == EVIL),
        "the entity round-trips: {entities:?}"
    );
    let edges = graph.find("edge");
    assert_eq!(edges.len(), truth.edges.len(), "gexf edges");
    let mut sums: BTreeMap<String, U256> = BTreeMap::new();
    for e in &edges {
        let att = |k: &str| {
            e.find("attvalue")
                .iter()
                .find(|a| a.attrs["for"] == k)
                .map(|a| a.attrs["value"].clone())
                .unwrap()
        };
        let asset = att("asset");
        let t = att("tainted_amount");
        assert_eq!(
            e.attrs["weight"], t,
            "weight = tainted amount in whole units"
        );
        assert!(e.attrs["weight"].parse::<f64>().is_ok());
        *sums.entry(asset.clone()).or_default() += parse_dec(&s, &asset, &t);
        assert!(ids.contains(&e.attrs["source"].to_lowercase()));
        assert!(ids.contains(&e.attrs["target"].to_lowercase()));
    }
    assert_eq!(sums, truth.tainted, "gexf Σ tainted = flows.csv");
}

fn check_nodelink(dir: &Path, truth: &FlowTruth) {
    let s = summary(dir);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("graph.json")).unwrap()).unwrap();
    assert_eq!(v["directed"], true);
    assert_eq!(v["multigraph"], false);
    assert_eq!(v["graph"]["model"], s["model"]);
    let nodes = v["nodes"].as_array().unwrap();
    let ids: BTreeSet<String> = nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(ids, truth.nodes);
    assert!(nodes.iter().any(|n| n["entity"] == EVIL));
    let links = v["links"].as_array().unwrap();
    assert_eq!(links.len(), truth.edges.len());
    let mut sums: BTreeMap<String, U256> = BTreeMap::new();
    for l in links {
        assert!(ids.contains(&l["source"].as_str().unwrap().to_lowercase()));
        assert!(ids.contains(&l["target"].as_str().unwrap().to_lowercase()));
        let asset = l["asset"].as_str().unwrap();
        *sums.entry(asset.into()).or_default() +=
            parse_dec(&s, asset, l["tainted_amount"].as_str().unwrap());
    }
    assert_eq!(sums, truth.tainted, "node-link Σ tainted = flows.csv");
}

/// Every statement's double-quoted strings are closed (escaped quotes skipped) and braces
/// balance outside them; returns the unescaped string contents.
fn dot_strings(dot: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut chars = dot.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => s.push(chars.next().expect("escape at end")),
                        Some('"') => break,
                        Some('\n') | None => panic!("unterminated DOT string: {s}"),
                        Some(x) => s.push(x),
                    }
                }
                out.push(s);
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced braces");
            }
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced braces");
    out
}

fn check_dot(dir: &Path, truth: &FlowTruth) {
    let dot = std::fs::read_to_string(dir.join("graph.dot")).unwrap();
    assert!(dot.starts_with("digraph "));
    let strings = dot_strings(&dot);
    assert!(strings.iter().any(|s| s == EVIL), "the entity round-trips");
    assert!(
        strings.iter().any(|s| s == PIPE_LABEL),
        "the pipe label round-trips"
    );
    assert_eq!(
        dot.matches(" -> ").count(),
        truth.edges.len(),
        "one edge line per edge"
    );
}

fn cells(line: &str) -> Vec<String> {
    // split on unescaped pipes
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut esc = false;
    for c in line.trim().trim_start_matches('|').chars() {
        if esc {
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            cur.push(c);
            esc = true;
        } else if c == '|' {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    out
}

fn check_markdown(md: &str, dir: &Path) {
    let s = summary(dir);
    let assets: Vec<String> = {
        let mut k: Vec<String> = s["assets"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let row = |first: &str| -> Vec<String> {
        let line = md
            .lines()
            .find(|l| cells(l).first().map(String::as_str) == Some(first))
            .unwrap_or_else(|| panic!("no row {first} in\n{md}"));
        cells(line)
    };
    let inj = row("**injected**");
    for (i, a) in assets.iter().enumerate() {
        assert_eq!(inj[i + 1], s["assets"][a]["injected"].as_str().unwrap());
    }
    for (cat, _) in s["assets"][&assets[0]]["by_category"].as_object().unwrap() {
        let r = row(cat);
        for (i, a) in assets.iter().enumerate() {
            assert_eq!(
                r[i + 1],
                s["assets"][a]["by_category"][cat].as_str().unwrap(),
                "{cat} {a}"
            );
        }
    }
    // the endpoints table: 9 columns on every row, the pipe of the label escaped
    let header = md
        .lines()
        .position(|l| l.starts_with("| address | entity |"))
        .unwrap();
    let mut n = 0;
    for l in md
        .lines()
        .skip(header + 2)
        .take_while(|l| l.starts_with('|'))
    {
        assert_eq!(cells(l).len(), 9, "row {l}");
        n += 1;
    }
    assert_eq!(n, s["stats"]["endpoints"].as_u64().unwrap() as usize);
    assert!(
        md.contains("Hot\\|wallet \\`1\\`"),
        "pipe and backtick escaped"
    );
    assert!(md.contains("&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;"));
    assert!(!md.contains("<script"));
    assert!(md.contains("no totals: run `moneytrail totals`"));
}

fn chromium_check(report: &Path, work: &Path) -> serde_json::Value {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium not found: install it (DEBIAN_FRONTEND=noninteractive apt-get install -y \
         --no-install-recommends chromium; scripts/test does)"
    );
    common::npm_tool("playwright-core/package.json");
    let png = work.join("report.png");
    let udd = work.join("chromium-profile");
    let o = Command::new("node")
        .arg(common::repo().join("tests/browser/check_report.js"))
        .arg(report)
        .arg(&png)
        .arg(&udd)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "check_report.js printed no JSON ({e}); stdout: {stdout}; stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    if let Some(err) = v.get("launch_error") {
        panic!("headless Chromium could not start: {err}");
    }
    assert!(o.status.success(), "check_report.js failed: {v}");
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "screenshot too small ({size} bytes)");
    let head = std::fs::read(&png).unwrap();
    assert_eq!(&head[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    v
}

#[test]
fn report_and_exports_of_a_real_trace() {
    let c = common::trace_chain::build();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "address,label,category\n{},\"{PIPE_LABEL}\",exchange\n{},\"{EVIL}\",mixer\n",
            c.hot, c.pool
        ),
    )
    .unwrap();
    ok(&moneytrail(
        &db,
        &["-q", "labels", "import", labels.to_str().unwrap()],
    ));
    let out = dir.path().join("trace");
    let o = moneytrail(
        &db,
        &[
            "-q",
            "trace",
            "--chain",
            "ethereum",
            "--rpc-url",
            &c.anvil.url,
            "--seed",
            &c.s,
            "--model",
            "haircut",
            "--graph-formats",
            "gexf,dot,json",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    ok(&o);
    let s = summary(&out);
    assert_eq!(s["assets"]["ETH"]["by_category"]["mixer"], "70");
    let truth = flow_truth(&out);
    assert!(truth.edges.len() >= 6, "{:?}", truth.edges);
    check_graphml_and_gexf(&out, &truth);
    check_nodelink(&out, &truth);
    check_dot(&out, &truth);

    // report --format gexf|dot|graph-json = the files trace wrote (one code path)
    for (fmt, file) in [
        ("gexf", "graph.gexf"),
        ("dot", "graph.dot"),
        ("graph-json", "graph.json"),
    ] {
        let o = moneytrail(
            &db,
            &[
                "report",
                "--trace",
                out.to_str().unwrap(),
                "--format",
                fmt,
                "--out",
                "-",
            ],
        );
        ok(&o);
        assert_eq!(o.stdout, std::fs::read(out.join(file)).unwrap(), "{fmt}");
    }

    // HTML: written to DIR/report.html by default and said so; deterministic
    let o = moneytrail(
        &db,
        &[
            "report",
            "--trace",
            out.to_str().unwrap(),
            "--title",
            "Case 42 <b>draft</b>",
        ],
    );
    ok(&o);
    let report = out.join("report.html");
    assert!(String::from_utf8_lossy(&o.stderr).contains("report.html"));
    let html = std::fs::read_to_string(&report).unwrap();
    let again = dir.path().join("again.html");
    ok(&moneytrail(
        &db,
        &[
            "report",
            "--trace",
            out.to_str().unwrap(),
            "--title",
            "Case 42 <b>draft</b>",
            "--format",
            "html",
            "--out",
            again.to_str().unwrap(),
        ],
    ));
    assert_eq!(html, std::fs::read_to_string(&again).unwrap(), "same bytes");
    assert!(html.contains(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    ));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no URL at all"
    );
    assert!(!html.contains("<img") && !html.contains("<script>window"));
    assert_eq!(
        html.matches("<script").count(),
        2,
        "the graph data and report.js only"
    );
    assert!(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"));
    assert!(html.contains("Case 42 &lt;b&gt;draft&lt;/b&gt;"));
    assert!(html.contains("no totals: run <code>moneytrail totals</code>"));
    for id in [
        "summary",
        "flow",
        "graph",
        "timeline",
        "endpoints",
        "links",
        "estimates",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    // the figures of summary.json are in the HTML
    assert!(html.contains("<td>9.375</td>") && html.contains("<td>70</td>"));
    // every tx of the largest path of the mixer endpoint is listed
    let paths = std::fs::read_to_string(out.join("paths.jsonl")).unwrap();
    for l in paths.lines() {
        let p: serde_json::Value = serde_json::from_str(l).unwrap();
        for st in p["steps"].as_array().unwrap() {
            assert!(html.contains(st["tx_hash"].as_str().unwrap()));
        }
    }

    let b = chromium_check(&report, dir.path());
    // MONEYTRAIL_KEEP_REPORT=DIR keeps the report and its screenshot for a look
    if let Some(keep) = std::env::var_os("MONEYTRAIL_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&report, keep.join("report.html")).unwrap();
        std::fs::copy(dir.path().join("report.png"), keep.join("report.png")).unwrap();
        std::fs::write(keep.join("browser.json"), b.to_string()).unwrap();
    }
    assert_eq!(b["console_errors"], serde_json::json!([]), "{b}");
    assert_eq!(b["page_errors"], serde_json::json!([]), "{b}");
    assert_eq!(
        b["requests"],
        serde_json::json!([]),
        "no network request: {b}"
    );
    assert_eq!(b["pwned_undefined"], true, "{b}");
    assert_eq!(b["pwned_after_hover"], true, "{b}");
    assert_eq!(b["literal_shown"], true, "the label shows as text: {b}");
    assert_eq!(b["injected_elements"], 0, "{b}");
    assert_eq!(b["title"], "Case 42 <b>draft</b>", "{b}");
    assert!(b["svg_count"].as_u64().unwrap() >= 3, "{b}");
    assert_eq!(
        b["graph_nodes"].as_u64().unwrap() as usize,
        truth.nodes.len(),
        "{b}"
    );
    assert_ne!(
        b["viewbox_after_wheel"], b["viewbox_initial"],
        "wheel zooms: {b}"
    );
    assert_ne!(
        b["viewbox_after_drag"], b["viewbox_after_wheel"],
        "drag pans: {b}"
    );
    assert_ne!(
        b["viewbox_after_button"], b["viewbox_initial"],
        "+ zooms: {b}"
    );
    assert_eq!(b["tooltip"]["display"], "block", "{b}");
    let tip = b["tooltip"]["text"].as_str().unwrap();
    assert!(
        tip.contains(EVIL),
        "tooltip shows the entity as text: {tip}"
    );
    assert!(tip.contains("mixer") && tip.contains("70 ETH"), "{tip}");

    // Markdown
    let o = moneytrail(
        &db,
        &["report", "--trace", out.to_str().unwrap(), "--format", "md"],
    );
    ok(&o);
    check_markdown(
        &std::fs::read_to_string(out.join("report.md")).unwrap(),
        &out,
    );

    // JSON figures on stdout
    let o = moneytrail(
        &db,
        &[
            "report",
            "--trace",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    ok(&o);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["summary"]["assets"][0]["injected"], "100");
    assert_eq!(
        j["graph"]["edges"].as_u64().unwrap() as usize,
        truth.edges.len()
    );
    let t = truth.tainted["ETH"];
    assert_eq!(
        parse_dec(
            &s,
            "ETH",
            j["graph"]["tainted_by_asset"]["ETH"].as_str().unwrap()
        ),
        t
    );
}
