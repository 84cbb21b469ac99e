//! `strait cluster info`: one Metadata request.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::args::Global;
use crate::error::Result;
use crate::kafka::Client;
use crate::output::{Table, emit, opt};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Shows the cluster id, the controller, the brokers and the number of topics.
    Info,
}

pub(crate) async fn run(args: ClusterArgs) -> Result<()> {
    let g = args.global;
    let ClusterCommand::Info = args.command;
    let mut client = Client::connect(&g.brokers).await?;
    let md = client.metadata(None).await?;
    let mut brokers: Vec<_> = md.brokers.iter().collect();
    brokers.sort_by_key(|b| b.node_id.0);
    let topics = md.topics.iter().filter(|t| !t.is_internal).count();
    let internal = md.topics.len() - topics;
    let cluster_id = md.cluster_id.as_deref().map(str::to_string);
    let controller = md.controller_id.0;
    let json = json!({
        "cluster_id": cluster_id,
        "controller": controller,
        "brokers": brokers.iter().map(|b| json!({
            "node_id": b.node_id.0, "host": b.host.as_str(), "port": b.port,
            "rack": b.rack.as_deref(),
        })).collect::<Vec<_>>(),
        "topics": topics,
        "internal_topics": internal,
    });
    emit(g.output, &json, || {
        let mut out = format!(
            "CLUSTER-ID  {}\nCONTROLLER  {controller}\nTOPICS      {topics} (+{internal} internal)\n\n",
            opt(cluster_id.as_deref())
        );
        let mut t = Table::new(&["ID", "HOST", "PORT", "RACK", "CONTROLLER"]);
        for b in &brokers {
            let is = if b.node_id.0 == controller { "*" } else { "" };
            t.row(vec![
                b.node_id.0.to_string(),
                b.host.as_str().to_string(),
                b.port.to_string(),
                opt(b.rack.as_deref()),
                is.to_string(),
            ]);
        }
        out.push_str(&t.render());
        out
    })
}
