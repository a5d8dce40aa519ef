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
