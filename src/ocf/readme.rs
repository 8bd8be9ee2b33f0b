//! README.md's parameter table, generated from the parameter table like the meta-data and the
//! man page. The prose around it is written by hand; the table sits between two comment
//! lines, and `make generate` puts a fresh copy there.

use crate::ocf::manpage::splice_between;
use crate::params::{ParamSpec, PARAMETERS};

pub const BEGIN_MARK: &str =
    "<!-- BEGIN GENERATED PARAMETERS: `make generate` rewrites this from src/params/table.rs -->";
pub const END_MARK: &str = "<!-- END GENERATED PARAMETERS -->";

/// The table, header included, one row per parameter in table order.
pub fn parameters_table() -> String {
    let mut out = String::from(
        "| parameter | default | reloadable | upstream | meaning |\n|---|---|---|---|---|\n",
    );
    for spec in PARAMETERS {
        out.push_str(&row(spec));
    }
    out
}

fn row(spec: &ParamSpec) -> String {
    let cells = [
        format!("`{}`", spec.name),
        spec.default.unwrap_or(spec.unset).to_string(),
        if spec.reloadable { "yes" } else { "" }.to_string(),
        spec.upstream.to_string(),
        // README ranges read 1–1000, as prose elsewhere in it does.
        spec.with_range(spec.readme, "–"),
    ];
    let cells: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.is_empty() {
                " ".to_string()
            } else {
                format!(" {c} ")
            }
        })
        .collect();
    format!("|{}|\n", cells.join("|"))
}

/// README.md with its generated table replaced by a fresh one.
pub fn splice(readme: &str) -> Result<String, String> {
    splice_between(readme, BEGIN_MARK, END_MARK, &parameters_table())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_five_cells_and_empty_ones_stay_narrow() {
        let table = parameters_table();
        let iflabel = table
            .lines()
            .find(|l| l.starts_with("| `iflabel` |"))
            .expect("an iflabel row");
        assert!(
            iflabel.starts_with("| `iflabel` | | | IPaddr2 4.12 | "),
            "{iflabel}"
        );
        let arp_count = table
            .lines()
            .find(|l| l.starts_with("| `arp_count` |"))
            .expect("an arp_count row");
        assert!(arp_count.contains("(1–1000)"), "{arp_count}");
        for line in table.lines() {
            assert_eq!(line.matches('|').count(), 6, "{line}");
        }
    }

    #[test]
    fn every_parameter_has_a_meaning_without_a_pipe() {
        for spec in PARAMETERS {
            assert!(!spec.readme.is_empty(), "{}", spec.name);
            assert!(!spec.readme.contains('|'), "{}", spec.name);
            let placeholders = spec.readme.matches("{range}").count();
            assert_eq!(
                placeholders,
                usize::from(spec.kind.range().is_some()),
                "{}",
                spec.name
            );
        }
    }
}
