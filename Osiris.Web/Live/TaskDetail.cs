using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>
/// One chat message, its text accumulated from deltas until a final text replaces it. <paramref name="Data"/>: the
/// message's structured data as JSON when its event carries it (a <c>search_knowledge</c> result's hits).
/// </summary>
public sealed record ChatMessage(Guid Id, string Role, string Kind, string Text, bool Final, string? Model, DateTimeOffset At, string? Data = null);

public sealed record ArtifactVersion(int Version, string Diff, long Size, DateTimeOffset At);

/// <summary>A workspace file and every version the agent wrote, oldest first; <paramref name="Draft"/> while the model is still writing it.</summary>
public sealed record Artifact(string Path, ImmutableList<ArtifactVersion> Versions, string? Draft = null)
{
    public ArtifactVersion? Latest => Versions.Count > 0 ? Versions[^1] : null;
}

public sealed record TerminalChunk(string Stream, string Text);

/// <summary>One command run in the sandbox: its output so far and, once it ended, exit code and duration.</summary>
public sealed record TerminalSession(string CommandId, string Command, ImmutableList<TerminalChunk> Output, int? ExitCode, long? DurationMs, DateTimeOffset StartedAt)
{
    public bool Running => ExitCode is null;
}

/// <summary>What a task view shows besides the task itself; immutable, replaced as a whole on every event.</summary>
public sealed record TaskDetail(
    ImmutableList<ChatMessage> Messages,
    ImmutableList<Artifact> Artifacts,
    ImmutableList<TerminalSession> Terminals,
    ApprovalRequest? Approval,
    long LastEventId,
    PendingReply? Reply = null)
{
    public static readonly TaskDetail Empty = new([], [], [], null, 0);
}

/// <summary>Folds one task's events, in id order, into its <see cref="TaskDetail"/>. Pure: no I/O, no clock.</summary>
public static class TaskDetailReducer
{
    public static TaskDetail Apply(TaskDetail detail, OsirisEvent e)
    {
        if (e.Id <= detail.LastEventId)
        {
            return detail; // already applied: history and the live stream overlap by design
        }
        detail = detail with { LastEventId = e.Id };
        return e.Type switch
        {
            EventTypes.NewMessage => AddMessage(detail, e.Payload.Deserialize<NewMessagePayload>(OsirisJson.Options)!, DataOf(e.Payload), e.Timestamp),
            EventTypes.ArtifactStream => AddArtifact(detail, e.Payload.Deserialize<ArtifactStreamPayload>(OsirisJson.Options)!, e.Timestamp),
            EventTypes.TerminalLog => AddTerminal(detail, e.Payload.Deserialize<TerminalLogPayload>(OsirisJson.Options)!, e.Timestamp),
            EventTypes.TaskUpdate => UpdateApproval(detail, e.Payload.Deserialize<TaskUpdatePayload>(OsirisJson.Options)!),
            _ => detail,
        };
    }

    /// <summary>
    /// A message's <c>data</c>, read from the payload as sent (an object, or JSON in a string) so it reaches the view
    /// whichever way the API carries it.
    /// </summary>
    private static string? DataOf(JsonElement payload) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("data", out var data)
            ? data.ValueKind switch
            {
                JsonValueKind.Object => data.GetRawText(),
                JsonValueKind.String => data.GetString(),
                _ => null,
            }
            : null;

    private static TaskDetail AddMessage(TaskDetail detail, NewMessagePayload m, string? data, DateTimeOffset at)
    {
        var index = detail.Messages.FindIndex(x => x.Id == m.MessageId);
        if (m.Retracted)
        {
            // A model turn that broke off: what it showed is withdrawn; the retried answer comes as a new message.
            return index < 0 ? detail : detail with { Messages = detail.Messages.RemoveAt(index) };
        }
        if (index < 0)
        {
            var message = new ChatMessage(m.MessageId, m.Role, m.Kind, m.Text ?? m.Delta ?? "", m.Final, m.Model, at, data);
            return detail with { Messages = detail.Messages.Add(message) };
        }
        var old = detail.Messages[index];
        // A whole text replaces what the deltas built up; a delta appends.
        var text = m.Text ?? old.Text + m.Delta;
        var updated = old with { Text = text, Final = old.Final || m.Final, Model = m.Model ?? old.Model, Data = data ?? old.Data };
        return detail with { Messages = detail.Messages.SetItem(index, updated) };
    }

    private static TaskDetail AddArtifact(TaskDetail detail, ArtifactStreamPayload a, DateTimeOffset at)
    {
        var index = detail.Artifacts.FindIndex(x => x.Path == a.Path);
        var artifact = index < 0 ? new Artifact(a.Path, []) : detail.Artifacts[index];
        if (a.Partial)
        {
            // The model is still writing this file: the draft grows until the written version replaces it.
            artifact = artifact with { Draft = a.Discarded ? null : (artifact.Draft ?? "") + a.Delta };
            if (artifact.Versions.Count == 0 && artifact.Draft is null)
            {
                return index < 0 ? detail : detail with { Artifacts = detail.Artifacts.RemoveAt(index) };
            }
        }
        else
        {
            var version = new ArtifactVersion(a.Version, a.Diff, a.Size, at);
            var versions = artifact.Versions.RemoveAll(v => v.Version == a.Version).Add(version).Sort((x, y) => x.Version.CompareTo(y.Version));
            artifact = artifact with { Versions = versions, Draft = null };
        }
        // The file changed last moves to the top of the panel.
        return detail with { Artifacts = (index < 0 ? detail.Artifacts : detail.Artifacts.RemoveAt(index)).Add(artifact) };
    }

    private static TaskDetail AddTerminal(TaskDetail detail, TerminalLogPayload t, DateTimeOffset at)
    {
        var index = detail.Terminals.FindIndex(x => x.CommandId == t.CommandId);
        var session = index < 0 ? new TerminalSession(t.CommandId, t.Command, [], null, null, at) : detail.Terminals[index];
        if (!string.IsNullOrEmpty(t.Text))
        {
            session = session with { Output = session.Output.Add(new TerminalChunk(t.Stream, t.Text)) };
        }
        if (t.ExitCode is not null)
        {
            session = session with { ExitCode = t.ExitCode, DurationMs = t.DurationMs };
        }
        return detail with { Terminals = index < 0 ? detail.Terminals.Add(session) : detail.Terminals.SetItem(index, session) };
    }

    /// <summary>
    /// Adds what the task stored to what its events showed: the messages, file versions and commands whose events the
    /// retention period deleted (a command's output then comes from its stored result). What an event showed stays as
    /// the event made it, so a task with its whole event log looks exactly as before.
    /// </summary>
    public static TaskDetail WithStored(TaskDetail detail, TaskHistory stored)
    {
        var shown = detail.Messages.Select(m => m.Id).ToHashSet();
        var missing = stored.Messages.Where(m => !shown.Contains(m.Id)).ToList();
        if (missing.Count > 0)
        {
            var added = missing.Select(m => new ChatMessage(m.Id, m.Role, m.Kind, m.Text, true, m.Model, m.CreatedAt,
                m.Kind == MessageKinds.ToolResult && m.Data is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("hits", out var hits)
                    && hits.ValueKind == JsonValueKind.Array ? data.GetRawText() : null));
            detail = detail with { Messages = [.. detail.Messages.Concat(added).OrderBy(m => m.At)] };
        }

        var artifacts = detail.Artifacts;
        foreach (var version in stored.Artifacts)
        {
            var index = artifacts.FindIndex(a => a.Path == version.Path);
            var artifact = index < 0 ? new Artifact(version.Path, []) : artifacts[index];
            if (artifact.Versions.Any(v => v.Version == version.Version))
            {
                continue;
            }
            artifact = artifact with
            {
                Versions = artifact.Versions.Add(new ArtifactVersion(version.Version, version.Diff, version.Size, version.CreatedAt))
                    .Sort((x, y) => x.Version.CompareTo(y.Version)),
            };
            artifacts = index < 0 ? artifacts.Add(artifact) : artifacts.SetItem(index, artifact);
        }
        detail = detail with { Artifacts = artifacts };

        var terminals = detail.Terminals;
        var results = stored.Messages.Where(m => m.Kind == MessageKinds.ToolResult && m.Data is { ValueKind: JsonValueKind.Object })
            .Select(m => m.Data!.Value).Where(d => d.TryGetProperty("callId", out _))
            .GroupBy(d => d.GetProperty("callId").GetString() ?? "").ToDictionary(g => g.Key, g => g.Last());
        foreach (var call in stored.Messages.Where(m => m.Kind == MessageKinds.ToolCall && m.Data is { ValueKind: JsonValueKind.Object }))
        {
            var data = call.Data!.Value;
            if (!data.TryGetProperty("name", out var name) || name.GetString() != "run_command" || !data.TryGetProperty("callId", out var id)
                || id.GetString() is not { } callId || terminals.Any(t => t.CommandId == callId))
            {
                continue;
            }
            var command = data.TryGetProperty("arguments", out var arguments) && arguments.ValueKind == JsonValueKind.Object
                && arguments.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
            var (exitCode, duration, output) = results.TryGetValue(callId, out var result) && result.TryGetProperty("result", out var text)
                ? ParseResult(text.GetString() ?? "") : (-1, 0L, "[no result was recorded]");
            terminals = terminals.Add(new TerminalSession(callId, command, [new TerminalChunk("stdout", output)], exitCode, duration, call.CreatedAt));
        }
        return detail with { Terminals = [.. terminals.OrderBy(t => t.StartedAt)] };
    }

    /// <summary>A stored run_command result: its head (exit code, -1 when stopped; duration), then the output.</summary>
    private static (int ExitCode, long DurationMs, string Output) ParseResult(string text)
    {
        if (!CommandResultText.TryParseHead(text, out var exitCode, out var durationMs, out _))
        {
            return (-1, 0, text);
        }
        var lines = text.Split('\n', 2);
        return (exitCode ?? -1, durationMs, lines.Length > 1 ? lines[1] : "");
    }

    /// <summary>An approval shows while the task awaits it; a reply in review shows until an update without it arrives.</summary>
    private static TaskDetail UpdateApproval(TaskDetail detail, TaskUpdatePayload update) => detail with
    {
        Approval = update.Status == TaskStatuses.AwaitingApproval ? update.Approval ?? detail.Approval : null,
        Reply = update.Reply,
    };
}
