//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554): SCRAM users
//! managed at run time. The rules are the broker's (`broker/users.rs`).

use std::sync::Arc;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, str_bytes};
use crate::acl::Operation;
use crate::auth::ScramMechanism;
use crate::broker::users::{ScramAlteration, Upsertion};
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

pub async fn describe_user_scram_credentials(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    // DESCRIBE on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Describe) {
        return DescribeUserScramCredentialsResponse::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
    }
    let users = req
        .users
        .map(|list| list.into_iter().map(|u| u.name.to_string()).collect());
    let results = broker
        .describe_scram_users(users)
        .into_iter()
        .map(|(user, r)| {
            let res = DescribeUserScramCredentialsResult::default().with_user(str_bytes(&user));
            match r {
                Ok(infos) => res.with_credential_infos(
                    infos
                        .into_iter()
                        .map(|(m, iterations)| {
                            CredentialInfo::default()
                                .with_mechanism(m.kafka_type())
                                .with_iterations(iterations as i32)
                        })
                        .collect(),
                ),
                Err(e) => res
                    .with_error_code(e.kafka_code())
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}

pub async fn alter_user_scram_credentials(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // ALTER on the cluster; every user named is refused otherwise.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Alter) {
        let users = req
            .deletions
            .iter()
            .map(|x| x.name.clone())
            .chain(req.upsertions.iter().map(|x| x.name.clone()));
        let mut seen = std::collections::HashSet::new();
        let results = users
            .filter(|u| seen.insert(u.clone()))
            .map(|u| {
                AlterUserScramCredentialsResult::default()
                    .with_user(u)
                    .with_error_code(d.kafka_code())
                    .with_error_message(Some(str_bytes(&d.to_string())))
            })
            .collect();
        return AlterUserScramCredentialsResponse::default().with_results(results);
    }
    let deletions = req
        .deletions
        .into_iter()
        .map(|d| ScramAlteration {
            user: d.name.to_string(),
            mechanism: ScramMechanism::from_kafka_type(d.mechanism),
            upsert: None,
        })
        .collect();
    let upsertions = req
        .upsertions
        .into_iter()
        .map(|u| ScramAlteration {
            user: u.name.to_string(),
            mechanism: ScramMechanism::from_kafka_type(u.mechanism),
            upsert: Some(Upsertion {
                iterations: u.iterations,
                salt: u.salt.to_vec(),
                salted_password: u.salted_password.to_vec(),
            }),
        })
        .collect();
    // The PBKDF2 was done by the client; deriving the two keys is a few HMACs.
    let b = broker.clone();
    let results =
        match tokio::task::spawn_blocking(move || b.alter_scram_users(deletions, upsertions)).await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "AlterUserScramCredentials task failed");
                Vec::new()
            }
        };
    let results = results
        .into_iter()
        .map(|(user, r)| {
            let res = AlterUserScramCredentialsResult::default().with_user(str_bytes(&user));
            match r {
                // Kafka's controller sets a null message on success.
                Ok(()) => res.with_error_message(None),
                Err(e) => res
                    .with_error_code(e.kafka_code())
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}
