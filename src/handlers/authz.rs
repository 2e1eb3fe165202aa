//! The handlers' side of the authorizer: one action of the request's principal, from its
//! address, on one resource. Always allowed without `--authorizer`.

use kafka_protocol::error::ResponseError;

use crate::acl::{Action, Denied, Operation, ResourceType};
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

pub(crate) fn check(
    broker: &Broker,
    ctx: &RequestContext,
    operation: Operation,
    resource_type: ResourceType,
    name: &str,
) -> Result<(), Denied> {
    broker.authorize(
        &ctx.principal,
        ctx.peer,
        Action {
            operation,
            resource_type,
            name,
        },
    )
}

pub(crate) fn topic(
    broker: &Broker,
    ctx: &RequestContext,
    op: Operation,
    name: &str,
) -> Result<(), Denied> {
    check(broker, ctx, op, ResourceType::Topic, name)
}

pub(crate) fn group(
    broker: &Broker,
    ctx: &RequestContext,
    op: Operation,
    name: &str,
) -> Result<(), Denied> {
    check(broker, ctx, op, ResourceType::Group, name)
}

pub(crate) fn txn_id(
    broker: &Broker,
    ctx: &RequestContext,
    op: Operation,
    name: &str,
) -> Result<(), Denied> {
    check(broker, ctx, op, ResourceType::TransactionalId, name)
}

pub(crate) fn cluster(broker: &Broker, ctx: &RequestContext, op: Operation) -> Result<(), Denied> {
    check(
        broker,
        ctx,
        op,
        ResourceType::Cluster,
        crate::acl::CLUSTER_NAME,
    )
}

/// Whether the principal may do `op` on at least one resource of the type.
pub(crate) fn any(broker: &Broker, ctx: &RequestContext, op: Operation, rt: ResourceType) -> bool {
    broker.authorize_any(&ctx.principal, ctx.peer, op, rt)
}

/// TOPIC_AUTHORIZATION_FAILED, for answers built without a `Denied` at hand.
pub(crate) fn topic_denied() -> i16 {
    ResponseError::TopicAuthorizationFailed.code()
}
