namespace Osiris.Shared.Contracts;

/// <summary><c>GET/PUT /api/v1/settings/brain</c> and <c>PUT /api/v1/tasks/{id}/brain</c>.</summary>
public sealed record BrainChoice(string Brain, string? Model);

/// <summary>One entry of <c>GET /api/v1/brains</c>: a provider, whether it is configured, and its models.</summary>
public sealed record BrainInfo(string Brain, bool Configured, string DefaultModel, IReadOnlyList<string> Models, bool Offline);

/// <summary><c>GET /api/v1/brains</c>: the providers and the global default.</summary>
public sealed record BrainCatalog(IReadOnlyList<BrainInfo> Brains, BrainChoice Default);

/// <summary><c>POST /api/v1/tasks/{id}/approvals/{approvalId}</c>.</summary>
public sealed record ApprovalDecision(bool Approve);

/// <summary>In <c>task_update</c> while a task awaits approval.</summary>
public sealed record ApprovalRequest(string Id, string Tool, System.Text.Json.JsonElement Arguments);

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
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)] bool Partial = false,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Delta = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? CallId = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)] bool Discarded = false);

/// <summary><c>terminal_log</c>: a command printed a line, or ended (then ExitCode and DurationMs are set).</summary>
public sealed record TerminalLogPayload(
    string CommandId,
    string Command,
    string Stream,
    string Text,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? ExitCode = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] long? DurationMs = null);
