using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osiris.Shared.Contracts;

/// <summary>
/// One snapshot of a task's workspace (docs/tasks-api.md "Checkpoints"): taken by the MCP server after every change
/// the agent makes (<c>write_file</c>, a <c>run_command</c> that changed files), before its first change
/// (<c>tool: null</c>, "start"), and around a restore. <paramref name="Files"/>: files and links in it;
/// <paramref name="Changed"/>: files added, changed or deleted since the checkpoint before it.
/// </summary>
public sealed record CheckpointDto(
    string Id,
    int? Step,
    string? Tool,
    DateTimeOffset CreatedAt,
    int Files,
    int Changed = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CallId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

public sealed record CheckpointList(IReadOnlyList<CheckpointDto> Items);

/// <summary>What changed in one file between two checkpoints.</summary>
/// <param name="Change"><see cref="FileChanges"/>.</param>
/// <param name="Kind">file or link, after the change (before it for a deletion).</param>
/// <param name="Diff">A unified diff for text files; null for binary files, links and mode-only changes.</param>
public sealed record FileChange(
    string Path,
    string Change,
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Diff = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Binary = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ExecutableBefore = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ExecutableAfter = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LinkBefore = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LinkAfter = null);

public static class FileChanges
{
    public const string Added = "added";
    public const string Deleted = "deleted";
    public const string Modified = "modified";

    /// <summary>Only the executable bit changed.</summary>
    public const string Mode = "mode";
}

/// <summary><c>GET …/checkpoints/{from}/diff?to={to}</c>; <paramref name="Truncated"/>: more files changed than are listed.</summary>
public sealed record CheckpointDiff(string From, string To, IReadOnlyList<FileChange> Files, bool Truncated = false);

/// <summary><c>POST …/checkpoints/{cid}/restore</c>: the checkpoint the workspace returned to, and the new checkpoint recording it.</summary>
public sealed record RestoreResult(CheckpointDto RestoredTo, CheckpointDto Checkpoint);

/// <summary><c>POST …/checkpoints/{cid}/fork</c>: optional words for the agent to continue with, and its brain.</summary>
public sealed record ForkRequest(string? Message = null, string? Brain = null, string? Model = null) : IValidatable
{
    public const int MaxMessageLength = 20_000;

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Message is { Length: > MaxMessageLength })
        {
            errors["message"] = [$"The message has at most {MaxMessageLength:N0} characters."];
        }
        if (Brain is not null && !BrainNames.All.Contains(Brain))
        {
            errors["brain"] = [$"Unknown brain '{Brain}'. Allowed: {string.Join(", ", BrainNames.All)}."];
        }
        if (Model is { Length: 0 or > BrainChoice.MaxModelLength })
        {
            errors["model"] = [$"The model name must have 1 to {BrainChoice.MaxModelLength} characters."];
        }
        return errors;
    }
}

/// <summary>Where a task came from when it is not new work: a fork of another task at a checkpoint, or a replay of a finished run.</summary>
public sealed record TaskOrigin(
    string Kind,
    Guid TaskId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CheckpointId = null);

public static class OriginKinds
{
    public const string Fork = "fork";
    public const string Replay = "replay";
}

/// <summary>
/// What a replay found (docs/tasks-api.md "Replay"): the whole recorded run reproduced, or the first step whose tool
/// result differs from the recording, with both results.
/// </summary>
public sealed record ReplayReport(
    bool Reproduced,
    int Turns,
    int ToolCalls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Step = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Tool = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Arguments = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Recorded = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Replayed = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>
/// <c>GET /api/v1/tasks/{id}/history</c>: a task's stored conversation and files. The event log is deleted after the
/// retention period; these stay with the task, so an old task still opens with everything it said and wrote.
/// </summary>
public sealed record TaskHistory(IReadOnlyList<StoredMessage> Messages, IReadOnlyList<StoredArtifact> Artifacts);

public sealed record StoredMessage(
    Guid Id, string Role, string Kind, string Text, string? Model, DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Data = null);

public sealed record StoredArtifact(string Path, int Version, string Diff, long Size, DateTimeOffset CreatedAt);

/// <summary>The <c>_meta</c> keys the agent and the MCP server use to tie a tool call to its checkpoint.</summary>
public static class CheckpointMeta
{
    /// <summary>Request <c>_meta</c>: the task's step (model turn) of the call.</summary>
    public const string Step = "osiris/step";

    /// <summary>Request <c>_meta</c>: the model's call id.</summary>
    public const string CallId = "osiris/callId";

    /// <summary>Result <c>_meta</c>: the checkpoint the call made, <c>{id, files, changed}</c>.</summary>
    public const string Checkpoint = "osiris/checkpoint";
}
