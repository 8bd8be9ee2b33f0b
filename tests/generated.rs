//! The documents made from the parameter table stay in step with it: the committed
//! metadata/FloatIP.xml, the PARAMETERS section of packaging/floatip.8 and README.md's
//! parameter table are exactly what the generators write (`make generate` rewrites them).

use floatip::ocf::{manpage, metadata, readme};
use floatip::params::PARAMETERS;
use std::path::PathBuf;

fn repo_file(path: &str) -> (PathBuf, String) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    (full, text)
}

/// A line diff (longest common subsequence), `-` for the committed file and `+` for what the
/// generator writes, with two lines of context around each change.
fn diff(committed: &str, generated: &str) -> String {
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    // lcs[i][j]: length of the common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', i + 1, old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', i + 1, old[i]));
            i += 1;
        } else {
            lines.push(('+', j + 1, new[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let near_change = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 2);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, line_no, text)) in lines.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{mark}{line_no:5} {text}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("   ...\n");
            skipped = true;
        }
    }
    out
}

fn assert_current(path: &str, committed: &str, generated: &str) {
    assert!(
        committed == generated,
        "{path} is not what the parameter table generates; run `make generate` \
         (- committed, + generated):\n{}",
        diff(committed, generated)
    );
}

#[test]
fn diff_shows_changed_lines_with_context() {
    let shown = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
    assert!(shown.contains("-    4 d\n+    4 D\n"), "{shown}");
    assert!(shown.contains("     2 b\n"), "{shown}");
    assert!(!shown.contains(" a\n"), "{shown}");
}

#[test]
fn committed_meta_data_is_generated_from_the_table() {
    let (_, committed) = repo_file("metadata/FloatIP.xml");
    assert_current("metadata/FloatIP.xml", &committed, &metadata::meta_data());
}

#[test]
fn the_agent_prints_the_committed_meta_data() {
    let (_, committed) = repo_file("metadata/FloatIP.xml");
    assert_eq!(floatip::ocf::META_DATA, committed);
}

#[test]
fn man_page_parameters_section_is_generated_from_the_table() {
    let (_, committed) = repo_file("packaging/floatip.8");
    let generated = manpage::splice(&committed, &manpage::parameters_section())
        .unwrap_or_else(|why| panic!("packaging/floatip.8: {why}"));
    assert_current("packaging/floatip.8", &committed, &generated);
}

#[test]
fn readme_parameter_table_is_generated_from_the_table() {
    let (_, committed) = repo_file("README.md");
    let generated = readme::splice(&committed).unwrap_or_else(|why| panic!("README.md: {why}"));
    assert_current("README.md", &committed, &generated);
}

#[test]
fn the_readme_table_has_a_row_per_parameter_in_table_order() {
    let (_, committed) = repo_file("README.md");
    let table = committed
        .split_once(readme::BEGIN_MARK)
        .and_then(|(_, rest)| rest.split_once(readme::END_MARK))
        .map(|(table, _)| table)
        .expect("README.md has the generated table's marks");
    let rows: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let names: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
    assert_eq!(rows, names);
}
