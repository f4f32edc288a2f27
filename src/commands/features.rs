use anyhow::Result;

pub fn run() -> Result<i32> {
    let text = serde_json::to_string_pretty(&crate::features::document())?;
    println!("{text}");
    Ok(0)
}
