namespace Osiris.McpServer.Sandbox;

public sealed record CommandResult(
    int? ExitCode,
    long DurationMs,
    string Output,
    bool TimedOut,
    bool OutputTruncated,
    bool Sandboxed,
    string? Note);

public sealed record OutputLine(string Stream, string Text);
