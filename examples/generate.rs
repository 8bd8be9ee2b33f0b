//! `make generate`: writes the documents made from the parameter table, metadata/FloatIP.xml,
//! the PARAMETERS section of packaging/floatip.8 and README.md's parameter table. tests/generated.rs fails while the
//! committed files differ from what this writes.

use floatip::ocf::{manpage, metadata, readme};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xml = root.join("metadata/FloatIP.xml");
    let page = root.join("packaging/floatip.8");
    let readme_md = root.join("README.md");
    let result = std::fs::write(&xml, metadata::meta_data())
        .map_err(|e| format!("cannot write {}: {e}", xml.display()))
        .and_then(|()| {
            std::fs::read_to_string(&page)
                .map_err(|e| format!("cannot read {}: {e}", page.display()))
        })
        .and_then(|text| manpage::splice(&text, &manpage::parameters_section()))
        .and_then(|text| {
            std::fs::write(&page, text).map_err(|e| format!("cannot write {}: {e}", page.display()))
        })
        .and_then(|()| {
            std::fs::read_to_string(&readme_md)
                .map_err(|e| format!("cannot read {}: {e}", readme_md.display()))
        })
        .and_then(|text| readme::splice(&text))
        .and_then(|text| {
            std::fs::write(&readme_md, text)
                .map_err(|e| format!("cannot write {}: {e}", readme_md.display()))
        });
    match result {
        Ok(()) => {
            println!(
                "wrote {}, {} and {}",
                xml.display(),
                page.display(),
                readme_md.display()
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("generate: {why}");
            ExitCode::FAILURE
        }
    }
}
