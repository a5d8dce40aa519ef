using Osiris.Shared.Knowledge;
using Osiris.Shared.Contracts;

namespace Osiris.Shared.Storage;

public sealed class TaskRecord
{
    public Guid Id { get; set; }
    public required string Title { get; set; }
    public required string Description { get; set; }
    public required string Source { get; set; }
    public string? ExternalId { get; set; }
    public required string Status { get; set; }
    public string? Brain { get; set; }
    public string? Model { get; set; }
    public bool RequireApproval { get; set; }
    public long Tokens { get; set; }
    public decimal CostUsd { get; set; }
    public string? Result { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The agent worker holding the task, and until when (a lease renewed while it works).</summary>
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    public int Step { get; set; }

    /// <summary>Who sent the work (a WhatsApp profile name, an e-mail From), for people to read.</summary>
    public string? Sender { get; set; }

    /// <summary>Where the final answer goes back: a WhatsApp wa_id or an e-mail address.</summary>
    public string? ReplyAddress { get; set; }

    /// <summary>E-mail only: the Message-ID and subject the reply threads onto.</summary>
    public string? ReplyThread { get; set; }
    public string? ReplySubject { get; set; }

    /// <summary>The task's own cost budget in US dollars (null: <c>Agent:MaxCostUsdPerTask</c>); raised by a resume.</summary>
    public decimal? BudgetUsd { get; set; }

    /// <summary>The task's own token budget (null: <c>Agent:MaxTokensPerTask</c>); raised by a resume.</summary>
    public long? BudgetTokens { get; set; }

    /// <summary>Tokens spent on models missing from the price table: counted, never priced as 0 USD.</summary>
    public long UnpricedTokens { get; set; }

    /// <summary>Why the task is paused (<c>PauseReasons</c>); null otherwise.</summary>
    public string? PausedFor { get; set; }

    /// <summary><c>ToolModes</c>; null in tasks an earlier release stored: then <see cref="RequireApproval"/> decides.</summary>
    public string? ToolMode { get; set; }

    /// <summary><c>ReplyModes</c> for a channel task's answer; null (earlier releases): sent by itself.</summary>
    public string? ReplyMode { get; set; }

    /// <summary>A channel task's sender as the trust policy saw them when the task opened (<c>SenderLevels</c>).</summary>
    public string? SenderLevel { get; set; }

    /// <summary>The client's <c>Idempotency-Key</c> of the create request: the same key gives the same task.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>
    /// The knowledge collections its agent may search, comma-separated names (<c>*</c>: all), fixed when the task opens;
    /// null: all for tasks people create, only the built-in docs for channel tasks (see <see cref="KnowledgeScopes"/>).
    /// </summary>
    public string? KnowledgeCollections { get; set; }

    /// <summary><c>OriginKinds</c>: a fork of another task at a checkpoint, or a replay of a finished run; null for new work.</summary>
    public string? OriginKind { get; set; }
    public Guid? OriginTaskId { get; set; }
    public string? OriginCheckpointId { get; set; }

    /// <summary>A replay's finding (<c>ReplayReport</c> as JSON), written when the replay ends.</summary>
    public string? ReplayReport { get; set; }

    public string EffectiveToolMode => ToolMode ?? (RequireApproval ? ToolModes.ApproveRisky : ToolModes.Autonomous);
}

/// <summary>One model call: what the provider reported it used, and what that cost (null: the model has no price).</summary>
public sealed class ModelCallRecord
{
    public long Id { get; set; }
    public Guid TaskId { get; set; }
    public int Step { get; set; }
    public required string Source { get; set; }
    public required string Brain { get; set; }
    public required string Model { get; set; }
    public long InputTokens { get; set; }
    public long CachedInputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long ReasoningTokens { get; set; }
    public decimal? CostUsd { get; set; }
    public string? FinishReason { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// Every message a channel delivered, once: the unique (channel, external id) index makes webhook retries and
/// concurrent duplicates count once. Outbound e-mail Message-IDs are recorded too, so replies to them thread.
/// </summary>
public sealed class ChannelMessageRecord
{
    public long Id { get; set; }
    public required string Channel { get; set; }
    public required string ExternalId { get; set; }
    public required string Kind { get; set; }
    public Guid? TaskId { get; set; }
    public string? Sender { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary><see cref="ChannelMessageRecord.Kind"/>.</summary>
public static class ChannelMessageKinds
{
    /// <summary>A message taken in: it opened or joined a task.</summary>
    public const string Message = "message";

    /// <summary>From a blocked sender: recorded, nothing else.</summary>
    public const string Blocked = "blocked";

    /// <summary>Over the sender's limits: recorded and shown, not worked on.</summary>
    public const string OverLimit = "over_limit";

    /// <summary>A WhatsApp delivery status.</summary>
    public const string Status = "status";

    /// <summary>Our own reply's e-mail Message-ID, so answers to it thread.</summary>
    public const string Outbound = "outbound";
}

/// <summary>The reply to a task's sender: one per task, with its attempts and final status.</summary>
public sealed class DeliveryRecord
{
    public Guid Id { get; set; }
    public Guid TaskId { get; set; }
    public required string Channel { get; set; }
    public required string Recipient { get; set; }
    public required string Status { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public string? ExternalId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The text to send (a person may have edited it in review); null in earlier releases' rows: the task's result.</summary>
    public string? Text { get; set; }
}

/// <summary>
/// <see cref="DeliveryRecord.Status"/>: review → queued (a person said send) or discarded; queued or new → sending →
/// sent, or retrying → … → failed.
/// </summary>
public static class DeliveryStatuses
{
    public const string Review = "review";
    public const string Queued = "queued";
    public const string Discarded = "discarded";
    public const string Sending = "sending";
    public const string Retrying = "retrying";
    public const string Sent = "sent";
    public const string Failed = "failed";
}

public sealed class MessageRecord
{
    public Guid Id { get; set; }
    public Guid TaskId { get; set; }
    public required string Role { get; set; }
    public required string Kind { get; set; }
    public required string Text { get; set; }
    public string? Model { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Machine-readable content (a tool call's id, name and arguments; a tool result), so a task can resume.</summary>
    public string? Data { get; set; }
}

/// <summary>A tool call waiting for a person's yes or no.</summary>
public sealed class ApprovalRecord
{
    public Guid Id { get; set; }
    public Guid TaskId { get; set; }
    public required string Tool { get; set; }
    public required string Arguments { get; set; }
    public required string Status { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DecidedAt { get; set; }

    /// <summary>Who decided (a person's name, a token's, or "api-key"); null while pending and in approvals an earlier release stored.</summary>
    public string? DecidedBy { get; set; }
}

/// <summary><see cref="ApprovalRecord.Status"/>: pending until a person decides.</summary>
public static class ApprovalStatuses
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
}

/// <summary>Who changed what, when and from where: every audited action (see <c>AuditActions</c>).</summary>
public sealed class AuditRecord
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Actor { get; set; }

    /// <summary>The client's address as the API saw it; null in entries an earlier release stored.</summary>
    public string? Address { get; set; }
    public required string Action { get; set; }
    public string? Target { get; set; }

    /// <summary>The change as JSON (the new policy, the sender's level, the reply's decision).</summary>
    public string? Details { get; set; }
}

/// <summary>Global settings (the default brain, the trust policy), as JSON values.</summary>
public sealed class SettingRecord
{
    public required string Key { get; set; }
    public required string Value { get; set; }
}

/// <summary>One version of one file a task touched.</summary>
public sealed class ArtifactRecord
{
    public long Id { get; set; }
    public Guid TaskId { get; set; }
    public required string Path { get; set; }
    public int Version { get; set; }
    public required string Diff { get; set; }
    public long Size { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The event log: the single source of truth that SSE replays from.</summary>
public sealed class EventRecord
{
    public long Id { get; set; }
    public required string Type { get; set; }
    public Guid? TaskId { get; set; }
    public DateTimeOffset Timestamp { get; set; }
    public required string Payload { get; set; }
}

/// <summary>
/// A person (ASP.NET Core Identity keeps the password hash, lockout and external logins). One role each, kept on the
/// user: <c>Roles.Viewer</c>, <c>Roles.Operator</c> or <c>Roles.Admin</c>.
/// </summary>
public sealed class OsirisUser : Microsoft.AspNetCore.Identity.IdentityUser
{
    public string Role { get; set; } = "viewer";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A bearer credential the API issued: a sign-in session (short-lived, what the web app carries for a person) or a
/// personal access token. Only the SHA-256 of the token is stored; the token itself is shown once.
/// </summary>
public sealed class AccessTokenRecord
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public required string Kind { get; set; }
    public required string Name { get; set; }

    /// <summary>The most the token may do; the owner's current role caps it at every use.</summary>
    public required string Role { get; set; }
    public required byte[] Hash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>Kinds of <see cref="AccessTokenRecord"/>.</summary>
public static class AccessTokenKinds
{
    public const string Session = "session";
    public const string Personal = "personal";
}

/// <summary>
/// A single-use, 60-second ticket for <c>GET /api/v1/stream?ticket=…</c> (a browser's EventSource cannot send a header).
/// Stored so that any API replica accepts each ticket exactly once.
/// </summary>
public sealed class StreamTicketRecord
{
    public required byte[] Hash { get; set; }
    public required string Actor { get; set; }
    public required string Role { get; set; }
    public string? UserId { get; set; }

    /// <summary>The session or personal token the ticket was asked for with; the stream lives no longer than it.</summary>
    public Guid? TokenId { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
}

/// <summary>A named set of documents the agent may search; tasks and trust levels name the collections they may see.</summary>
public sealed class KnowledgeCollectionRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }

    /// <summary>The documentation that ships with OSIRIS: kept in sync with the MCP server's docs folder, not editable.</summary>
    public bool BuiltIn { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
}

/// <summary>An uploaded document: its bytes as uploaded (so it can be indexed again) and where indexing stands.</summary>
public sealed class KnowledgeDocumentRecord
{
    public Guid Id { get; set; }

    /// <summary>Eight hex characters, unique: the stable prefix of the source ids cited from this document.</summary>
    public required string Key { get; set; }
    public Guid CollectionId { get; set; }
    public required string Name { get; set; }
    public required string ContentType { get; set; }
    public long Size { get; set; }
    public required byte[] Content { get; set; }

    /// <summary>SHA-256 of the content (hex): the built-in docs are re-indexed only when a file really changed.</summary>
    public required string ContentHash { get; set; }
    public required string Status { get; set; }
    public string? Error { get; set; }
    public int Chunks { get; set; }
    public int Pages { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? IndexedAt { get; set; }
    public string? UploadedBy { get; set; }

    /// <summary>The indexer working on it and until when: another indexer takes over a claim that ran out (a crash).</summary>
    public string? ClaimedBy { get; set; }
    public DateTimeOffset? ClaimedUntil { get; set; }
}

/// <summary>
/// A passage of a document, cut along its structure. The lexical index over it is provider-specific and lives outside
/// the model (an FTS5 table on SQLite, a generated tsvector column on PostgreSQL; see the Knowledge migrations).
/// </summary>
public sealed class KnowledgeChunkRecord
{
    public long Id { get; set; }
    public Guid DocumentId { get; set; }
    public Guid CollectionId { get; set; }
    public int Ordinal { get; set; }

    /// <summary>The document's name and the headings above the passage, joined with " › ".</summary>
    public required string TitlePath { get; set; }
    public int? Page { get; set; }
    public required string Text { get; set; }

    /// <summary>The passage's embedding (little-endian float32, L2-normalised) and the model that made it; null until embedded.</summary>
    public byte[]? Embedding { get; set; }
    public string? EmbeddingModel { get; set; }
}
