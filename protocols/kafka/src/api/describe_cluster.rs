//! DescribeCluster (v0–2): the one broker, the cluster id, and this node as the controller (Kafka 4.x brokers
//! report some live broker as the "controller" since KRaft controllers are not reachable by clients; with one
//! node that is us).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use strait_access::Resource;

use super::Ctx;
use super::authz::{self, OPS_OMITTED, ResourceKind};

/// `endpoint_type` values (v1+).
const ENDPOINT_BROKERS: i8 = 1;
const ENDPOINT_CONTROLLERS: i8 = 2;

pub fn handle(ctx: &mut Ctx<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let cfg = ctx.broker.config();
    // v0 has no endpoint type on the wire and decodes as BROKERS. Clients ask for controllers only when
    // bootstrapped with bootstrap.controllers; Strait's listener is a broker endpoint, as Kafka's would say.
    if req.endpoint_type != ENDPOINT_BROKERS {
        let (code, message) = if req.endpoint_type == ENDPOINT_CONTROLLERS {
            (
                ResponseError::MismatchedEndpointType,
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                    .to_string(),
            )
        } else {
            (
                ResponseError::UnsupportedEndpointType,
                format!("Unsupported endpoint type {}", req.endpoint_type),
            )
        };
        return DescribeClusterResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(message)))
            .with_endpoint_type(req.endpoint_type);
    }
    let brokers = super::cluster::brokers(ctx.broker)
        .into_iter()
        .map(|n| {
            DescribeClusterBroker::default()
                .with_broker_id(n.id)
                .with_host(StrBytes::from_string(n.host))
                .with_port(n.port)
                .with_rack(n.rack.map(StrBytes::from_string))
                .with_is_fenced(false)
        })
        .collect();
    let ops = if req.include_cluster_authorized_operations {
        authz::authorized_operations(ctx, ResourceKind::Cluster, Resource::Cluster)
    } else {
        OPS_OMITTED
    };
    DescribeClusterResponse::default()
        .with_error_code(0)
        .with_error_message(None)
        .with_endpoint_type(ENDPOINT_BROKERS)
        .with_cluster_id(StrBytes::from_string(cfg.cluster_id.clone()))
        .with_controller_id(super::cluster::controller(ctx.broker))
        .with_brokers(brokers)
        .with_cluster_authorized_operations(ops)
}
