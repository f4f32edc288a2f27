// The link order (.cargo/config.toml, scripts/link-order.txt) is an input of
// the link that cargo does not see: a new list links hull again.
fn main() {
    println!("cargo:rerun-if-changed=scripts/link-order.txt");
}
