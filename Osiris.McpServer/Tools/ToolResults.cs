using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace Osiris.McpServer.Tools;

/// <summary>How every tool answers: readable text for the model, the same facts as JSON for programs.</summary>
internal static class ToolResults
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Kinds of failure, in <c>structuredContent.errorKind</c>, so a client can tell which ones a change can fix.</summary>
    public static class Kinds
    {
        /// <summary>A wrong path, a missing file, a bad argument: the caller can correct it.</summary>
        public const string Invalid = "invalid";

        /// <summary>Refused by policy (a destructive command, a path outside the workspace): do not repeat it.</summary>
        public const string Refused = "refused";

        /// <summary>The sandbox cannot run commands on this server (bubblewrap missing): no command will run.</summary>
        public const string SandboxUnavailable = "sandbox_unavailable";
    }

    public static CallToolResult Error(string reason, string kind = Kinds.Invalid) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = reason }],
        StructuredContent = JsonSerializer.SerializeToElement(new { error = reason, errorKind = kind }, Json),
    };

    public static CallToolResult Success<T>(string text, T structured, bool isError = false) => new()
    {
        IsError = isError ? true : null,
        Content = [new TextContentBlock { Text = text }],
        StructuredContent = JsonSerializer.SerializeToElement(structured, Json),
    };
}
