using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace Osiris.McpServer.Tools;

/// <summary>How every tool answers: readable text for the model, the same facts as JSON for programs.</summary>
internal static class ToolResults
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static CallToolResult Error(string reason) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = reason }],
    };

    public static CallToolResult Success<T>(string text, T structured, bool isError = false) => new()
    {
        IsError = isError ? true : null,
        Content = [new TextContentBlock { Text = text }],
        StructuredContent = JsonSerializer.SerializeToElement(structured, Json),
    };
}
