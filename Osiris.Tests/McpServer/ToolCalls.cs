using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Osiris.Tests.McpServer;

/// <summary>Small conveniences over <see cref="McpClient.CallToolAsync"/> for reading results in assertions.</summary>
public static class ToolCalls
{
    public static Task<CallToolResult> CallAsync(this McpClient client, string tool, object arguments, IProgress<ProgressNotificationValue>? progress = null) =>
        client.CallToolAsync(tool, JsonSerializer.SerializeToElement(arguments).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value),
            progress, cancellationToken: TestContext.Current.CancellationToken).AsTask();

    public static string Text(this CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    public static JsonElement Structured(this CallToolResult result) =>
        result.StructuredContent ?? throw new InvalidOperationException("The result has no structured content: " + result.Text());

    public static void AssertRefused(this CallToolResult result, string because)
    {
        Assert.True(result.IsError, $"expected a refusal, got: {result.Text()}");
        Assert.Contains(because, result.Text(), StringComparison.OrdinalIgnoreCase);
    }

    public static void AssertSucceeded(this CallToolResult result) =>
        Assert.True(result.IsError is not true, $"expected success, got: {result.Text()}");
}

/// <summary>Records every progress notification with the moment it arrived.</summary>
public sealed class ProgressLog : IProgress<ProgressNotificationValue>
{
    private readonly List<(DateTimeOffset At, ProgressNotificationValue Value)> _items = [];

    public void Report(ProgressNotificationValue value)
    {
        lock (_items)
        {
            _items.Add((DateTimeOffset.UtcNow, value));
        }
    }

    public IReadOnlyList<(DateTimeOffset At, ProgressNotificationValue Value)> Items
    {
        get
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }
}
