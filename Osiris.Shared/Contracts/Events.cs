using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osiris.Shared.Contracts;

public static class EventTypes
{
    public const string TaskCreated = "task_created";
    public const string TaskUpdate = "task_update";
    public const string NewMessage = "new_message";
    public const string ArtifactStream = "artifact_stream";
    public const string TerminalLog = "terminal_log";
    public const string SystemNotification = "system_notification";

    public static readonly string[] All = [TaskCreated, TaskUpdate, NewMessage, ArtifactStream, TerminalLog, SystemNotification];
}

/// <summary>One event of the log, exactly as an SSE frame's <c>data:</c> carries it.</summary>
public sealed record OsirisEvent(
    long Id,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? TaskId,
    DateTimeOffset Timestamp,
    JsonElement Payload);

public sealed record TaskUpdatePayload(
    string Status,
    int Step,
    long Tokens,
    decimal CostUsd,
    string? Brain,
    string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ApprovalRequest? Approval = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Result = null);

public sealed record NewMessagePayload(
    Guid MessageId,
    string Role,
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delta,
    bool Final,
    string? Model);

public sealed record SystemNotificationPayload(string Level, string Text);

public static class OsirisJson
{
    /// <summary>The one JSON shape of OSIRIS: camelCase, as ASP.NET Core's web defaults.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
