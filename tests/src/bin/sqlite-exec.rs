//! `sqlite-exec PATH SQL`: runs SQL against the SQLite file at PATH and exits; a writer in a
//! process of its own, for the change tracker's tests (a change made by another process must
//! reach the tracker too).

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(sql)) = (args.next(), args.next()) else {
        return Err("usage: sqlite-exec PATH SQL".into());
    };
    let mut connection = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await?;
    sqlx::raw_sql(&sql).execute(&mut connection).await?;
    connection.close().await?;
    Ok(())
}
