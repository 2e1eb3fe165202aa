//! CreateAcls, DescribeAcls and DeleteAcls (v1–3): wire filters and creations become
//! `acl` types, the broker stores and matches them (`broker/acls.rs`). Creating or
//! deleting needs ALTER on the cluster, describing DESCRIBE, as in Kafka. Without
//! `--authorizer` these still store and list bindings (Kafka answers SECURITY_DISABLED).

use std::sync::Arc;

use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::errors::KafkaCode;
use super::{authz, str_bytes};
use crate::acl::{
    code, AclBinding, AclCreation, AclFilter, Operation, PatternType, Permission, ResourceType,
};
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

fn opt(s: Option<StrBytes>) -> Option<String> {
    s.map(|s| s.to_string())
}

pub async fn create_acls(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: CreateAclsRequest,
) -> CreateAclsResponse {
    if let Err(d) = authz::cluster(broker, ctx, Operation::Alter) {
        let r = AclCreationResult::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
        return CreateAclsResponse::default().with_results(vec![r; req.creations.len()]);
    }
    let creations = req
        .creations
        .into_iter()
        .map(|c| AclCreation {
            resource_type: code(c.resource_type, ResourceType::from_code),
            resource_name: c.resource_name.to_string(),
            pattern_type: code(c.resource_pattern_type, PatternType::from_code),
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: code(c.operation, Operation::from_code),
            permission: code(c.permission_type, Permission::from_code),
        })
        .collect();
    let b = broker.clone();
    let results = match tokio::task::spawn_blocking(move || b.create_acls(creations)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "CreateAcls task failed");
            Vec::new()
        }
    };
    let results = results
        .into_iter()
        .map(|r| match r {
            Ok(()) => AclCreationResult::default(),
            Err(e) => AclCreationResult::default()
                .with_error_code(e.kafka_code())
                .with_error_message(Some(str_bytes(&e.to_string()))),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

fn filter(
    resource_type: i8,
    name: Option<StrBytes>,
    pattern_type: i8,
    principal: Option<StrBytes>,
    host: Option<StrBytes>,
    operation: i8,
    permission: i8,
) -> AclFilter {
    AclFilter {
        resource_type: code(resource_type, ResourceType::from_code),
        resource_name: opt(name),
        pattern_type: code(pattern_type, PatternType::from_code),
        principal: opt(principal),
        host: opt(host),
        operation: code(operation, Operation::from_code),
        permission: code(permission, Permission::from_code),
    }
}

/// Bindings grouped by resource pattern, as DescribeAclsResponse carries them (the
/// bindings come sorted, so one pattern's are adjacent).
fn resources(bindings: Vec<AclBinding>) -> Vec<DescribeAclsResource> {
    let mut out: Vec<DescribeAclsResource> = Vec::new();
    for b in bindings {
        let acl = AclDescription::default()
            .with_principal(str_bytes(&b.principal))
            .with_host(str_bytes(&b.host))
            .with_operation(b.operation.code())
            .with_permission_type(b.permission.code());
        match out.last_mut() {
            Some(r)
                if r.resource_type == b.resource_type.code()
                    && r.pattern_type == b.pattern_type.code()
                    && r.resource_name.as_str() == b.resource_name =>
            {
                r.acls.push(acl)
            }
            _ => out.push(
                DescribeAclsResource::default()
                    .with_resource_type(b.resource_type.code())
                    .with_resource_name(str_bytes(&b.resource_name))
                    .with_pattern_type(b.pattern_type.code())
                    .with_acls(vec![acl]),
            ),
        }
    }
    out
}

pub async fn describe_acls(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeAclsRequest,
) -> DescribeAclsResponse {
    let result = authz::cluster(broker, ctx, Operation::Describe)
        .map_err(|d| (d.kafka_code(), d.to_string()))
        .and_then(|()| {
            let f = filter(
                req.resource_type_filter,
                req.resource_name_filter,
                req.pattern_type_filter,
                req.principal_filter,
                req.host_filter,
                req.operation,
                req.permission_type,
            );
            broker
                .describe_acls(&f)
                .map_err(|e| (e.kafka_code(), e.to_string()))
        });
    match result {
        Ok(bindings) => DescribeAclsResponse::default()
            .with_error_message(None)
            .with_resources(resources(bindings)),
        Err((code, msg)) => DescribeAclsResponse::default()
            .with_error_code(code)
            .with_error_message(Some(str_bytes(&msg))),
    }
}

pub async fn delete_acls(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DeleteAclsRequest,
) -> DeleteAclsResponse {
    if let Err(d) = authz::cluster(broker, ctx, Operation::Alter) {
        let r = DeleteAclsFilterResult::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
        return DeleteAclsResponse::default().with_filter_results(vec![r; req.filters.len()]);
    }
    let filters: Vec<AclFilter> = req
        .filters
        .into_iter()
        .map(|f| {
            filter(
                f.resource_type_filter,
                f.resource_name_filter,
                f.pattern_type_filter,
                f.principal_filter,
                f.host_filter,
                f.operation,
                f.permission_type,
            )
        })
        .collect();
    let b = broker.clone();
    let results = match tokio::task::spawn_blocking(move || b.delete_acls(&filters)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "DeleteAcls task failed");
            Vec::new()
        }
    };
    let results = results
        .into_iter()
        .map(|r| match r {
            Ok(bindings) => DeleteAclsFilterResult::default()
                .with_error_message(None)
                .with_matching_acls(
                    bindings
                        .into_iter()
                        .map(|b| {
                            DeleteAclsMatchingAcl::default()
                                .with_error_message(None)
                                .with_resource_type(b.resource_type.code())
                                .with_resource_name(str_bytes(&b.resource_name))
                                .with_pattern_type(b.pattern_type.code())
                                .with_principal(str_bytes(&b.principal))
                                .with_host(str_bytes(&b.host))
                                .with_operation(b.operation.code())
                                .with_permission_type(b.permission.code())
                        })
                        .collect(),
                ),
            Err(e) => DeleteAclsFilterResult::default()
                .with_error_code(e.kafka_code())
                .with_error_message(Some(str_bytes(&e.to_string()))),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
