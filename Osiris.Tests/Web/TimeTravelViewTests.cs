using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>The checkpoint timeline of the task view, and a task whose events retention deleted.</summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class TimeTravelViewTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private Uri Web => fixture.Osiris.App.GetEndpoint("web", "http");

    /// <summary>Calls the MCP server's tools for a task as the agent does (its token, the task header, the step and call id).</summary>
    private async Task WriteAsync(McpClient client, string path, string content, int step)
    {
        var result = await client.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = path, ["content"] = content }, null,
            new RequestOptions { Meta = new JsonObject { [CheckpointMeta.Step] = step, [CheckpointMeta.CallId] = $"call-{step}" } }, Ct);
        Assert.True(result.IsError is not true);
    }

    private async Task<McpClient> ConnectAsync(Guid task)
    {
        var endpoint = fixture.Osiris.App.GetEndpoint("mcpserver", "http");
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(endpoint, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {fixture.McpToken}", ["X-Osiris-Task"] = task.ToString() },
        });
        return await McpClient.CreateAsync(transport, cancellationToken: Ct);
    }

    [Fact]
    public async Task TheTimelineShowsEachCheckpointWithItsChangesAndRestoresAndForks()
    {
        var task = await fixture.CreateTaskAsync("Price list for the spring catalogue");
        var events = new TaskEvents(fixture, task.Id);
        await events.MessageAsync(Guid.NewGuid(), "- [x] Write prices.csv\n- [x] Write the summary\n- Check the totals", kind: "plan");
        await using (var mcp = await ConnectAsync(task.Id))
        {
            await WriteAsync(mcp, "prices.csv", "item,price\nchair,49.00\ntable,129.00\n", 2);
            await WriteAsync(mcp, "summary.md", "# Spring catalogue\n\nTwo items, from 49.00.\n", 3);
            await WriteAsync(mcp, "prices.csv", "item,price\nchair,45.00\ntable,129.00\nlamp,19.90\n", 4);
        }
        await events.PublishAsync(EventTypes.ArtifactStream, new ArtifactStreamPayload("prices.csv",
            "--- a/prices.csv\n+++ b/prices.csv\n@@ -1,3 +1,4 @@\n item,price\n-chair,49.00\n+chair,45.00\n table,129.00\n+lamp,19.90\n", 2, 52));
        await events.MessageAsync(Guid.NewGuid(), "The chair is now 45.00 and the lamp is new; the summary still says 49.00, so I will fix it next.");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        var checkpoints = page.Locator("[data-testid=checkpoint]");
        await Assertions.Expect(checkpoints).ToHaveCountAsync(4);
        await Assertions.Expect(checkpoints.Nth(0)).ToContainTextAsync("start");
        await Assertions.Expect(checkpoints.Nth(3)).ToContainTextAsync("step 4 · write_file");

        // What step 4 changed: the price list, with its diff.
        await checkpoints.Nth(3).Locator("[data-testid=checkpoint-diff]").ClickAsync();
        var file = checkpoints.Nth(3).Locator("[data-testid=checkpoint-file][data-path='prices.csv']");
        await Assertions.Expect(file).ToContainTextAsync("modified");
        await Assertions.Expect(file.Locator("tr.add", new() { HasTextString = "lamp,19.90" })).ToHaveCountAsync(1);
        await Screenshots.SaveAsync(page, "checkpoints.png", forReadme: true);

        // Back to step 2: one price list, no summary.
        await checkpoints.Nth(1).Locator("[data-testid=checkpoint-restore]").ClickAsync();
        await checkpoints.Nth(1).Locator("[data-testid=checkpoint-restore-confirm]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=checkpoint-notice]")).ToContainTextAsync("back at cp-2");
        await Assertions.Expect(checkpoints).ToHaveCountAsync(5);
        await Assertions.Expect(checkpoints.Nth(4)).ToContainTextAsync("restored to cp-2");
        await Assertions.Expect(page.Locator("[data-testid=message]", new() { HasTextString = "restored the workspace to checkpoint cp-2" })).ToHaveCountAsync(1);
        await checkpoints.Nth(4).Locator("[data-testid=checkpoint-diff]").ClickAsync();
        await Assertions.Expect(checkpoints.Nth(4).Locator("[data-testid=checkpoint-file][data-path='summary.md']")).ToContainTextAsync("deleted");

        // A fork from step 3 opens as its own task, which says where it came from.
        await checkpoints.Nth(2).Locator("[data-testid=checkpoint-fork]").ClickAsync();
        await checkpoints.Nth(2).Locator("[data-testid=fork-message]").FillAsync("Keep the chair at 49.00; only add the lamp.");
        await checkpoints.Nth(2).Locator("[data-testid=checkpoint-fork-confirm]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=task-origin]")).ToContainTextAsync("Fork of an earlier task at cp-3");
        await Assertions.Expect(page.Locator("[data-testid=task-heading]")).ToHaveTextAsync("Fork of Price list for the spring catalogue");
        await Assertions.Expect(page.Locator("[data-testid=checkpoint]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-testid=checkpoint]")).ToContainTextAsync("2 files");
        // The conversation up to the fork point came along, and the person's words to continue with follow it.
        await Assertions.Expect(page.Locator("[data-testid=message]", new() { HasTextString = "Keep the chair at 49.00; only add the lamp." })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task ATaskWhoseEventsWereDeletedStillOpensWithItsConversationFilesAndCommands()
    {
        var task = await fixture.CreateTaskAsync("An old task from last spring");
        var at = DateTimeOffset.UtcNow.AddDays(-200);
        await using (var db = fixture.CreateDbContext())
        {
            // What the agent stored, with no event left for any of it (retention deleted them).
            db.Messages.AddRange(
                new MessageRecord { Id = Guid.CreateVersion7(at), TaskId = task.Id, Role = "assistant", Kind = "plan", Text = "1. Count the rows\n2. Report", CreatedAt = at },
                new MessageRecord
                {
                    Id = Guid.CreateVersion7(at.AddSeconds(1)), TaskId = task.Id, Role = "assistant", Kind = "tool_call", Text = "run_command {\"command\":\"wc -l rows.csv\"}",
                    CreatedAt = at.AddSeconds(1),
                    Data = JsonSerializer.Serialize(new { callId = "call-old-1", name = "run_command", arguments = new { command = "wc -l rows.csv" }, step = 2 }),
                },
                new MessageRecord
                {
                    Id = Guid.CreateVersion7(at.AddSeconds(2)), TaskId = task.Id, Role = "tool", Kind = "tool_result", Text = "exit code 0, 12 ms\n1204 rows.csv",
                    CreatedAt = at.AddSeconds(2),
                    Data = JsonSerializer.Serialize(new { callId = "call-old-1", name = "run_command", result = "exit code 0, 12 ms\n1204 rows.csv", failed = false }),
                },
                new MessageRecord { Id = Guid.CreateVersion7(at.AddSeconds(3)), TaskId = task.Id, Role = "assistant", Kind = "text", Text = "The file has 1,204 rows.", CreatedAt = at.AddSeconds(3) });
            db.Artifacts.Add(new ArtifactRecord { TaskId = task.Id, Path = "report.md", Version = 1, Diff = "--- a/report.md\n+++ b/report.md\n@@ -0,0 +1 @@\n+1,204 rows\n", Size = 11, CreatedAt = at });
            await db.SaveChangesAsync(Ct);
        }

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{task.Id}");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=message]", new() { HasTextString = "The file has 1,204 rows." })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator(".plan li")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("[data-testid=artifact][data-path='report.md'] tr.add")).ToHaveCountAsync(1);
        var terminal = page.Locator("[data-testid=terminal][data-command-id='call-old-1']");
        await Assertions.Expect(terminal.Locator("[data-testid=exit-code]")).ToHaveTextAsync("exit 0");
        await Assertions.Expect(terminal.Locator(".xterm-rows")).ToContainTextAsync("1204 rows.csv");
    }

    [Fact]
    public async Task AFinishedTaskOffersAReplayAndAReplayShowsWhereItDivergedSideBySide()
    {
        var original = await fixture.CreateTaskAsync("Nightly export");
        var at = DateTimeOffset.UtcNow;
        var finding = new ReplayReport(false, 4, 2, Step: 3, Tool: "run_command", Arguments: JsonSerializer.SerializeToElement(new { command = "python3 --version" }),
            Recorded: "exit code 0, 20 ms\nPython 3.11.2", Replayed: "exit code 0, 18 ms\nPython 3.13.1");
        var replayed = new TaskRecord
        {
            Id = Guid.CreateVersion7(), Title = "Replay of Nightly export", Description = "from a test", Source = "api", Status = "completed",
            Brain = BrainNames.Replay, Model = BrainNames.ReplayModel, OriginKind = OriginKinds.Replay, OriginTaskId = original.Id,
            ReplayReport = JsonSerializer.Serialize(finding, OsirisJson.Options), Result = "Replay diverged at step 3", CreatedAt = at, UpdatedAt = at,
        };
        await using (var db = fixture.CreateDbContext())
        {
            db.Messages.Add(new MessageRecord { Id = Guid.CreateVersion7(), TaskId = original.Id, Role = "assistant", Kind = "plan", Text = "1. Export", CreatedAt = at });
            db.Tasks.Add(replayed);
            await db.SaveChangesAsync(Ct);
        }
        await fixture.CompleteTaskAsync(original.Id, "Exported.");

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(Web, $"/tasks/{replayed.Id}");
        await Chromium.WaitLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=task-origin]")).ToContainTextAsync("Replay of an earlier task");
        await Assertions.Expect(page.Locator("[data-testid=replay-report]")).ToContainTextAsync("Diverged at step 3");
        await Assertions.Expect(page.Locator("[data-testid=replay-recorded]")).ToContainTextAsync("Python 3.11.2");
        await Assertions.Expect(page.Locator("[data-testid=replay-replayed]")).ToContainTextAsync("Python 3.13.1");
        // A replay is not replayed again from the page.
        await Assertions.Expect(page.Locator("[data-testid=replay-task]")).ToHaveCountAsync(0);

        // The original offers a replay; it opens as a new task on the replay brain.
        await page.GotoAsync(new Uri(Web, $"/tasks/{original.Id}").ToString());
        await Chromium.WaitLiveAsync(page);
        await page.Locator("[data-testid=replay-task]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=task-heading]")).ToHaveTextAsync("Replay of Nightly export");
        await Assertions.Expect(page.Locator("[data-testid=task-origin]")).ToContainTextAsync("Replay of an earlier task");
        Assert.DoesNotContain(replayed.Id.ToString(), page.Url);
        Assert.DoesNotContain(original.Id.ToString(), page.Url);
    }
}
