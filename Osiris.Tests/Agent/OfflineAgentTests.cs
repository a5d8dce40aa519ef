using System.Net.Http.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

/// <summary>The whole loop with no keys: the offline brain drives the real MCP server and sandbox.</summary>
[Collection(AgentCollection.Name)]
public sealed class OfflineAgentTests(AgentFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ATaskCreatedThroughTheApiRunsOnTheOfflineBrainWithPlanArtifactAndTerminalOutput()
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = "Greet me", description = "Write a greeting script and run it", brain = "offline" }, Ct);
        response.EnsureSuccessStatusCode();
        var task = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;

        await using var stream = await SseClient.ConnectAsync(fixture.Api, $"?taskId={task.Id}&lastEventId=0");
        var events = new List<OsirisEvent>();
        try
        {
            while (!events.Any(e => e.Type == "task_update" && e.Payload.GetProperty("status").GetString() is "completed" or "failed"))
            {
                events.Add(await stream.NextEventAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("stream ended"));
            }
        }
        finally
        {
            foreach (var e in events)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{e.Id} {e.Type} {e.Payload.ToString()[..Math.Min(200, e.Payload.ToString().Length)]}");
            }
        }

        var final = events.Last(e => e.Type == "task_update");
        Assert.Equal("completed", final.Payload.GetProperty("status").GetString());
        Assert.Contains(events, e => e.Type == "new_message" && e.Payload.GetProperty("kind").GetString() == "plan" && e.Payload.TryGetProperty("delta", out _));
        Assert.Contains(events, e => e.Type == "new_message" && e.Payload.GetProperty("kind").GetString() == "tool_call");
        // The plan ticks itself off as the steps finish: its last version has all five steps done.
        var plan = events.Last(e => e.Type == "new_message" && e.Payload.GetProperty("kind").GetString() == "plan");
        Assert.Equal(5, plan.Payload.GetProperty("text").GetString()!.Split('\n').Count(l => l.StartsWith("- [x] ", StringComparison.Ordinal)));
        var artifacts = events.Where(e => e.Type == "artifact_stream").ToList();
        Assert.Equal([1, 2], artifacts.Select(a => a.Payload.GetProperty("version").GetInt32()));
        Assert.Contains("+date -u", artifacts[1].Payload.GetProperty("diff").GetString());
        var terminal = events.Where(e => e.Type == "terminal_log").ToList();
        Assert.Contains(terminal, t => t.Payload.GetProperty("text").GetString()!.Contains("Hello, world!"));
        Assert.Contains(terminal, t => t.Payload.TryGetProperty("exitCode", out var code) && code.GetInt32() != 0);
        Assert.Contains(terminal, t => t.Payload.TryGetProperty("exitCode", out var code) && code.GetInt32() == 0);
        Assert.All(events.Where(e => e.Type == "new_message" && e.Payload.GetProperty("role").GetString() == "assistant"),
            e => Assert.Equal("offline-scripted", e.Payload.GetProperty("model").GetString()));

        var done = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{task.Id}", OsirisJson.Options, Ct);
        Assert.Equal(("completed", "offline"), (done!.Status, done.Brain));
        Assert.Contains("[offline brain", done.Result);
    }
}

