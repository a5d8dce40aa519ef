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

/// <summary>
/// One event of the log, exactly as an SSE frame's <c>data:</c> carries it. <see cref="TraceParent"/> (live frames
/// only, never stored or replayed) is the W3C trace context of the API's dispatch span, so that a consumer's own
/// span joins the trace that began with the request that caused the event.
/// </summary>
public sealed record OsirisEvent(
    long Id,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? TaskId,
    DateTimeOffset Timestamp,
    JsonElement Payload)
{
    [JsonPropertyName("traceparent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }
}

public sealed record TaskUpdatePayload(
    string Status,
    int Step,
    long Tokens,
    decimal CostUsd,
    string? Brain,
    string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ApprovalRequest? Approval = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Result = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PausedFor = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? BudgetUsd = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long UnpricedTokens = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PendingReply? Reply = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReplayReport? Replay = null)
{
}

public sealed record NewMessagePayload(
    Guid MessageId,
    string Role,
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delta,
    bool Final,
    string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Retracted = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] System.Text.Json.JsonElement? Data = null);

public static class MessageRoles
{
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";
    public const string System = "system";
}

public static class MessageKinds
{
    public const string Text = "text";
    public const string Plan = "plan";
    public const string Thought = "thought";
    public const string ToolCall = "tool_call";
    public const string ToolResult = "tool_result";

    /// <summary>A system message: a person restored the workspace to a checkpoint. The agent reads it at its next turn.</summary>
    public const string Restore = "restore";
}

public sealed record SystemNotificationPayload(string Level, string Text);

public static class NotificationLevels
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Error = "error";
}

/// <summary>In <c>task_update</c> while a task awaits approval.</summary>
/// <remarks><paramref name="Preview"/>: for <c>write_file</c>, the unified diff the write would make against the file as it is now.</remarks>
public sealed record ApprovalRequest(
    string Id, string Tool, JsonElement Arguments,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Preview = null);

/// <summary><c>artifact_stream</c>: a file in the workspace changed.</summary>
/// <remarks>
/// While the model is still writing a file (arguments streamed by OpenAI and compatible endpoints) the agent sends
/// <c>partial: true</c> updates with <c>version</c> 0: <c>delta</c> is the text appended since the previous one and
/// <c>size</c> the characters so far. The written version follows; <c>discarded: true</c> ends a draft that was
/// never written (the call was denied or failed, or the model's turn broke off).
/// </remarks>
public sealed record ArtifactStreamPayload(
    string Path,
    string Diff,
    int Version,
    long Size,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Partial = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delta = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CallId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Discarded = false);

/// <summary><c>terminal_log</c>: a command printed a line, or ended (then ExitCode and DurationMs are set).</summary>
public sealed record TerminalLogPayload(
    string CommandId,
    string Command,
    string Stream,
    string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ExitCode = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DurationMs = null);

public static class OsirisJson
{
    /// <summary>The one JSON shape of OSIRIS: camelCase, as ASP.NET Core's web defaults.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
