// The link order (.cargo/config.toml, scripts/link-order.txt) is an input of
// the link that cargo does not see: a new list links hull again.
//
// On x86_64 Linux the hull binary's entry point is the exe guard's re-exec
// (src/security/exe_guard_entry.c), which runs before the C library's
// start-up: it is built here and named with `-e`.
fn main() {
    println!("cargo:rerun-if-changed=scripts/link-order.txt");
    println!("cargo:rerun-if-changed=src/security/exe_guard_entry.c");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        return;
    }
    cc::Build::new()
        .file("src/security/exe_guard_entry.c")
        // It runs before TLS (the canary) and before the relocation of
        // the binary's own pointers: no stack protector, no libc calls.
        .flag("-fno-stack-protector")
        .flag("-ffreestanding")
        .flag("-fno-builtin")
        .flag("-fPIE")
        .opt_level(2)
        .compile("hull_entry");
    println!("cargo:rustc-link-arg-bin=hull=-Wl,-e,hull_entry");
}
