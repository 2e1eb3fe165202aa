//! Inputs, outputs, configuration and error codes of the classic group coordinator.
//! Plain Rust data: the handlers translate Kafka wire types to and from these.

use bytes::Bytes;

/// What the group coordinator answers, by Kafka's error names. The coordinator never sees
/// Kafka's numbers: `handlers::errors` maps each to its code (the one place codes are
/// chosen). The `SCREAMING_CASE` constants name the same values, as Kafka's docs do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupCode {
    #[default]
    None,
    UnknownServerError,
    CoordinatorNotAvailable,
    NotCoordinator,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidGroupId,
    UnknownMemberId,
    InvalidSessionTimeout,
    RebalanceInProgress,
    NonEmptyGroup,
    GroupIdNotFound,
    MemberIdRequired,
    GroupMaxSizeReached,
    FencedInstanceId,
    GroupSubscribedToTopic,
    UnsupportedVersion,
    InvalidRequest,
    FencedMemberEpoch,
    UnreleasedInstanceId,
    UnsupportedAssignor,
    StaleMemberEpoch,
    InvalidRegularExpression,
}

pub const NONE: GroupCode = GroupCode::None;
pub const UNKNOWN_SERVER_ERROR: GroupCode = GroupCode::UnknownServerError;
pub const COORDINATOR_NOT_AVAILABLE: GroupCode = GroupCode::CoordinatorNotAvailable;
pub const NOT_COORDINATOR: GroupCode = GroupCode::NotCoordinator;
pub const ILLEGAL_GENERATION: GroupCode = GroupCode::IllegalGeneration;
pub const INCONSISTENT_GROUP_PROTOCOL: GroupCode = GroupCode::InconsistentGroupProtocol;
pub const INVALID_GROUP_ID: GroupCode = GroupCode::InvalidGroupId;
pub const UNKNOWN_MEMBER_ID: GroupCode = GroupCode::UnknownMemberId;
pub const INVALID_SESSION_TIMEOUT: GroupCode = GroupCode::InvalidSessionTimeout;
pub const REBALANCE_IN_PROGRESS: GroupCode = GroupCode::RebalanceInProgress;
pub const NON_EMPTY_GROUP: GroupCode = GroupCode::NonEmptyGroup;
pub const GROUP_ID_NOT_FOUND: GroupCode = GroupCode::GroupIdNotFound;
pub const MEMBER_ID_REQUIRED: GroupCode = GroupCode::MemberIdRequired;
pub const GROUP_MAX_SIZE_REACHED: GroupCode = GroupCode::GroupMaxSizeReached;
pub const FENCED_INSTANCE_ID: GroupCode = GroupCode::FencedInstanceId;
pub const GROUP_SUBSCRIBED_TO_TOPIC: GroupCode = GroupCode::GroupSubscribedToTopic;
pub const UNSUPPORTED_VERSION: GroupCode = GroupCode::UnsupportedVersion;
pub const INVALID_REQUEST: GroupCode = GroupCode::InvalidRequest;
pub const FENCED_MEMBER_EPOCH: GroupCode = GroupCode::FencedMemberEpoch;
pub const UNRELEASED_INSTANCE_ID: GroupCode = GroupCode::UnreleasedInstanceId;
pub const UNSUPPORTED_ASSIGNOR: GroupCode = GroupCode::UnsupportedAssignor;
pub const STALE_MEMBER_EPOCH: GroupCode = GroupCode::StaleMemberEpoch;
pub const INVALID_REGULAR_EXPRESSION: GroupCode = GroupCode::InvalidRegularExpression;

/// Chosen by the caller for each JoinGroup / SyncGroup / Heartbeat / LeaveGroup request;
/// the answer comes back as an [`Output`] carrying the same id, exactly once.
pub type ReplyId = u64;

/// The protocol type of Java consumers; only these groups have parseable subscriptions.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The group type classic groups report in ListGroups (KIP-848 type filter).
pub const CLASSIC_GROUP_TYPE: &str = "classic";

/// Coordinator settings, Kafka's broker configs of the same meaning.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (Kafka's default is 3000; Rill's is 0).
    pub initial_rebalance_delay_ms: u64,
    /// How long a new member's pending JoinGroup may wait before it is dropped
    /// (`group.classic.new.member.join.timeout.ms` in Kafka, 5 minutes).
    pub new_member_join_timeout_ms: u64,
    /// `group.max.size`
    pub max_group_size: usize,
    /// `group.consumer.heartbeat.interval.ms` (KIP-848 groups; Kafka's default 5000).
    pub consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.session.timeout.ms` (KIP-848 groups; Kafka's default 45000).
    pub consumer_session_timeout_ms: u64,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 0,
            new_member_join_timeout_ms: 300_000,
            max_group_size: usize::MAX,
            consumer_heartbeat_interval_ms: 5_000,
            consumer_session_timeout_ms: 45_000,
        }
    }
}

/// The states of a classic group, as Kafka names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members (the group may still have pending members and offsets).
    Empty,
    /// Waiting for the members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment in SyncGroup.
    CompletingRebalance,
    /// Assignment distributed; members heartbeat.
    Stable,
    /// Deleted or unknown.
    Dead,
}

impl GroupState {
    /// The name Kafka uses on the wire (DescribeGroups, ListGroups).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A JoinGroup request.
#[derive(Debug, Clone, Default)]
pub struct JoinGroup {
    pub group_id: String,
    /// Empty for a member that does not have an id yet.
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    /// JoinGroup v0 has none: pass the session timeout, as Kafka does.
    pub rebalance_timeout_ms: i32,
    /// JoinGroup v4+ (KIP-394): an unknown dynamic member first gets MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
    /// JoinGroup v9+ (KIP-814): a static leader replaced in a Stable group gets the member
    /// list with `skip_assignment` set.
    pub supports_skip_assignment: bool,
    pub reason: Option<String>,
    pub client_id: String,
    pub client_host: String,
}

/// A SyncGroup request.
#[derive(Debug, Clone, Default)]
pub struct SyncGroup {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+: checked against the group's when both are known.
    pub protocol_type: Option<String>,
    /// v5+: checked against the group's when both are known.
    pub protocol_name: Option<String>,
    /// Only the leader's are used: (member id, assignment).
    pub assignments: Vec<(String, Bytes)>,
}

/// A Heartbeat request.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One member leaving in a LeaveGroup request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeavingMember {
    /// May be empty when `group_instance_id` names a static member (admin removal).
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// A LeaveGroup request (v3+ batch; v0-2 is a batch of one).
#[derive(Debug, Clone, Default)]
pub struct LeaveGroup {
    pub group_id: String,
    pub members: Vec<LeavingMember>,
}

/// One member of the leader's JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the selected protocol.
    pub metadata: Bytes,
}

/// The answer to a JoinGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error_code: GroupCode,
    /// -1 on error.
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    /// The selected protocol (None on error; JoinGroup v0-6 encode it as "").
    pub protocol_name: Option<String>,
    /// The leader's member id ("" on error).
    pub leader: String,
    pub skip_assignment: bool,
    /// The id the member must use from now on (the new id with MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// The members with their metadata, for the leader only; empty for followers.
    pub members: Vec<JoinMember>,
}

impl JoinResult {
    pub(crate) fn error(member_id: impl Into<String>, error_code: GroupCode) -> Self {
        JoinResult {
            error_code,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.into(),
            members: Vec::new(),
        }
    }
}

/// The answer to a SyncGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error_code: GroupCode,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// Always present; empty on error or when the leader assigned nothing.
    pub assignment: Bytes,
}

impl SyncResult {
    pub(crate) fn error(error_code: GroupCode) -> Self {
        SyncResult {
            error_code,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// The answer for one member of a LeaveGroup request (echoes the request's ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveMemberResult {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error_code: GroupCode,
}

/// The answer to a LeaveGroup request. For LeaveGroup v0-2, use the single member's code
/// as the top-level error when the top-level one is NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveResult {
    pub error_code: GroupCode,
    pub members: Vec<LeaveMemberResult>,
}

/// Something the coordinator answers: a reply to a request, now or later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Join(ReplyId, JoinResult),
    Sync(ReplyId, SyncResult),
    Heartbeat(ReplyId, GroupCode),
    Leave(ReplyId, LeaveResult),
}

impl Output {
    /// The request this output answers.
    pub fn reply_id(&self) -> ReplyId {
        match self {
            Output::Join(id, _)
            | Output::Sync(id, _)
            | Output::Heartbeat(id, _)
            | Output::Leave(id, _) => *id,
        }
    }
}

/// One member in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Metadata of the selected protocol; empty unless the group is Stable (as Kafka).
    pub metadata: Bytes,
    /// Empty unless the group is Stable (as Kafka).
    pub assignment: Bytes,
}

/// One group in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    pub group_id: String,
    /// NONE, or COORDINATOR_NOT_AVAILABLE after shutdown. An unknown group is described
    /// as Dead with NONE (`exists == false`); DescribeGroups v6+ answers
    /// GROUP_ID_NOT_FOUND for it instead.
    pub error_code: GroupCode,
    pub exists: bool,
    pub state: GroupState,
    /// "" when unknown.
    pub protocol_type: String,
    /// The selected protocol when Stable, else "".
    pub protocol_data: String,
    pub members: Vec<DescribedMember>,
}

/// One group in ListGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    /// "" when unknown (e.g. a group created by a simple offset commit).
    pub protocol_type: String,
    /// The state's name: a classic [`GroupState`] or a consumer group's
    /// (`Empty`/`Assigning`/`Reconciling`/`Stable`).
    pub state: &'static str,
    /// [`CLASSIC_GROUP_TYPE`] or `consumer` (KIP-848 groups).
    pub group_type: &'static str,
}
