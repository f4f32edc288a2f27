use anyhow::Result;

use crate::container::Container;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, id: &str) -> Result<i32> {
    let c = Container::load(root, id)?;
    println!("{}", serde_json::to_string_pretty(&c.oci_state())?);
    Ok(0)
}
