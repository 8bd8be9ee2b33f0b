// Records the git revision the binary is built from, for `floatip --version`.
use std::process::Command;

fn main() {
    let revision = std::env::var("FLOATIP_GIT_REVISION").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    let revision = match revision {
        Some(r) if dirty => format!("{r}-dirty"),
        Some(r) => r,
        None => "unknown revision".to_string(),
    };
    println!("cargo:rustc-env=FLOATIP_GIT_REVISION={revision}");
    // Only inside a checkout: a release tarball has no .git, and naming missing files would
    // rerun this script on every build.
    if std::path::Path::new(".git/HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        println!("cargo:rerun-if-changed=.git/index");
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
    println!("cargo:rerun-if-env-changed=FLOATIP_GIT_REVISION");
}
