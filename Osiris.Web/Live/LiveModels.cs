using System.Collections.Immutable;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>The web instance's link to the API's event stream, as the connection indicator shows it.</summary>
public enum ConnectionState
{
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

/// <summary>One chat message, its text accumulated from deltas until a final text replaces it.</summary>
public sealed record ChatMessage(Guid Id, string Role, string Kind, string Text, bool Final, string? Model, DateTimeOffset At);

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
    long LastEventId)
{
    public static readonly TaskDetail Empty = new([], [], [], null, 0);
}

/// <summary>A <c>system_notification</c>, shown as a toast.</summary>
public sealed record Notification(long EventId, string Level, string Text, Guid? TaskId, DateTimeOffset At);
