use anyhow::Result;

use crate::container::{self, Container};
use crate::state::StateRoot;

pub fn run(root: &StateRoot, id: &str) -> Result<i32> {
    let c = Container::load(root, id)?;
    container::start(&c, None, None)?;
    Ok(0)
}
