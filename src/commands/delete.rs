use anyhow::Result;

use crate::cli::DeleteArgs;
use crate::container;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &DeleteArgs) -> Result<i32> {
    container::delete(root, &args.id, args.force)?;
    Ok(0)
}
