use anyhow::Result;

use crate::container::{self, Container};
use crate::state::StateRoot;

pub fn pause(root: &StateRoot, id: &str) -> Result<i32> {
    container::pause(&Container::load(root, id)?)?;
    Ok(0)
}

pub fn resume(root: &StateRoot, id: &str) -> Result<i32> {
    container::resume(&Container::load(root, id)?)?;
    Ok(0)
}
