//! `rill cluster info`: cluster id, controller, brokers, and the API versions the
//! bootstrap broker supports (with the version this client would use).

use std::io::Write;

use clap::{Args, Subcommand};

use super::{AdminError, Connection};
use crate::client::versions::{self, api_key_name};

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Cluster id, controller, brokers and the broker's API versions.
    Info(InfoArgs),
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    pub conn: Connection,
}

pub fn run(args: ClusterArgs) -> Result<(), AdminError> {
    match args.command {
        ClusterCommand::Info(a) => info(a),
    }
}

fn info(a: InfoArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let meta = cluster.metadata(Some(&[]))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Cluster ID: {}",
        meta.cluster_id.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "Controller: {}", meta.controller_id.0)?;
    writeln!(out, "Brokers:")?;
    let mut brokers = meta.brokers.clone();
    brokers.sort_by_key(|b| b.node_id.0);
    for b in &brokers {
        writeln!(
            out,
            "  {}\t{}:{}\track: {}",
            b.node_id.0,
            b.host,
            b.port,
            b.rack.as_deref().unwrap_or("-")
        )?;
    }
    let conn = cluster.any();
    writeln!(out, "API versions of {}:", conn.addr)?;
    for (key, (lo, hi)) in conn.broker_versions().0 {
        let ours = versions::CLIENT_VERSIONS
            .iter()
            .find(|(k, _, _)| *k as i16 == key)
            .and_then(|(_, l, h)| versions::negotiate((*l, *h), Some((lo, hi))));
        writeln!(
            out,
            "  {}({key}): {lo} to {hi}{}",
            api_key_name(key),
            ours.map_or(String::new(), |v| format!(" [usable: {v}]"))
        )?;
    }
    Ok(())
}
