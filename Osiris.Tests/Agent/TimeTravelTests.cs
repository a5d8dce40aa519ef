using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

/// <summary>
/// Checkpoints, restore, fork and replay through the API, on the whole app: the offline brain drives the real agent loop,
/// MCP server and sandbox, so every checkpoint comes from a real tool call.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class TimeTravelTests(AgentFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private void RequireSandbox()
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
    }

    private async Task<TaskDto> RunOfflineAsync(string title)
    {
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title, description = "Write a greeting script and run it", brain = "offline" }, Ct);
        response.EnsureSuccessStatusCode();
        var task = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        return await FinishedAsync(task.Id);
    }

    private async Task<TaskDto> FinishedAsync(Guid id)
    {
        for (var i = 0; ; i++)
        {
            var task = (await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{id}", OsirisJson.Options, Ct))!;
            if (!TaskStatuses.IsOpen(task.Status))
            {
                return task;
            }
            Assert.True(i < 600, $"task {id} still {task.Status} after 2 minutes");
            await Task.Delay(200, Ct);
        }
    }

    private async Task<List<CheckpointDto>> CheckpointsAsync(Guid id) =>
        [.. (await fixture.Api.GetFromJsonAsync<CheckpointList>($"/api/v1/tasks/{id}/checkpoints", OsirisJson.Options, Ct))!.Items];

    private async Task<TaskHistory> HistoryAsync(Guid id) =>
        (await fixture.Api.GetFromJsonAsync<TaskHistory>($"/api/v1/tasks/{id}/history", OsirisJson.Options, Ct))!;

    private static string? CallId(StoredMessage message) =>
        message.Data is { } data && data.TryGetProperty("callId", out var id) ? id.GetString() : null;

    [Fact]
    public async Task ARunLeavesCheckpointsToDiffRestoreAndForkFromAndItsHistoryOutlivesItsEvents()
    {
        RequireSandbox();
        var task = await RunOfflineAsync("Checkpoints of a greeting");
        Assert.Equal(TaskStatuses.Completed, task.Status);

        // The start, then one checkpoint per write; `sh greet.sh` changed no file and made none.
        var checkpoints = await CheckpointsAsync(task.Id);
        Assert.Equal([null, "write_file", "write_file"], checkpoints.Select(c => c.Tool));
        Assert.Equal(["offline-2", "offline-2", "offline-4"], checkpoints.Select(c => c.CallId));
        Assert.Equal("start", checkpoints[0].Note);
        var history = await HistoryAsync(task.Id);
        var written = history.Messages.Single(m => m.Kind == MessageKinds.ToolResult && CallId(m) == "offline-2");
        Assert.Equal(checkpoints[1].Id, written.Data!.Value.GetProperty("checkpoint").GetProperty("id").GetString());

        var diff = (await fixture.Api.GetFromJsonAsync<CheckpointDiff>(
            $"/api/v1/tasks/{task.Id}/checkpoints/{checkpoints[1].Id}/diff?to={checkpoints[2].Id}", OsirisJson.Options, Ct))!;
        var change = Assert.Single(diff.Files);
        Assert.Equal(("greet.sh", FileChanges.Modified), (change.Path, change.Change));
        Assert.Contains("-show_date", change.Diff);
        Assert.Contains("+date -u", change.Diff);

        // Back to the broken script: the workspace matches that checkpoint, and the conversation says who did it.
        using (var restore = await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/checkpoints/{checkpoints[1].Id}/restore", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
            var result = (await restore.Content.ReadFromJsonAsync<RestoreResult>(OsirisJson.Options, Ct))!;
            var same = (await fixture.Api.GetFromJsonAsync<CheckpointDiff>(
                $"/api/v1/tasks/{task.Id}/checkpoints/{checkpoints[1].Id}/diff?to={result.Checkpoint.Id}", OsirisJson.Options, Ct))!;
            Assert.Empty(same.Files);
        }
        var note = Assert.Single((await HistoryAsync(task.Id)).Messages, m => m.Kind == MessageKinds.Restore);
        Assert.Contains($"restored the workspace to checkpoint {checkpoints[1].Id}", note.Text);

        // A fork from the broken script: same files, the conversation up to that write; its agent goes on from there.
        using var forked = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/checkpoints/{checkpoints[1].Id}/fork", new { }, Ct);
        Assert.Equal(HttpStatusCode.Created, forked.StatusCode);
        var fork = (await forked.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        Assert.Equal(new TaskOrigin(OriginKinds.Fork, task.Id, checkpoints[1].Id), fork.Origin);
        Assert.Null(fork.SenderAddress);
        var forkStart = (await CheckpointsAsync(fork.Id))[0];
        Assert.Equal($"forked from task {task.Id} at {checkpoints[1].Id}", forkStart.Note);
        var forkDone = await FinishedAsync(fork.Id);
        Assert.Equal(TaskStatuses.Completed, forkDone.Status);
        var forkCalls = (await HistoryAsync(fork.Id)).Messages.Where(m => m.Kind == MessageKinds.ToolCall).Select(CallId).ToList();
        // Two calls copied (list_dir, the broken write), three made by the fork: run (fails), fix, run.
        Assert.Equal(["offline-1", "offline-2", "offline-3", "offline-4", "offline-5"], forkCalls);
        Assert.DoesNotContain((await HistoryAsync(fork.Id)).Messages, m => m.Kind == MessageKinds.Restore);

        // Retention deletes the events; the stored history still has the conversation, the files and the command output.
        await using (var db = fixture.CreateDbContext())
        {
            await db.Events.Where(e => e.TaskId == task.Id).ExecuteDeleteAsync(Ct);
        }
        Assert.Empty((await fixture.Api.GetFromJsonAsync<List<OsirisEvent>>($"/api/v1/tasks/{task.Id}/events", OsirisJson.Options, Ct))!);
        var kept = await HistoryAsync(task.Id);
        Assert.Contains(kept.Messages, m => m.Kind == MessageKinds.Plan);
        Assert.Equal(5, kept.Messages.Count(m => m.Kind == MessageKinds.ToolCall));
        Assert.Equal([1, 2], kept.Artifacts.Where(a => a.Path == "greet.sh").Select(a => a.Version));
        Assert.Contains(kept.Messages, m => m.Kind == MessageKinds.ToolResult && m.Text.Contains("Hello, world!"));
    }

    [Fact]
    public async Task AReplayReproducesARecordedRunAndReportsTheFirstToolResultThatDiffers()
    {
        RequireSandbox();
        var original = await RunOfflineAsync("A run to replay");
        var originalDuration = original.UpdatedAt - original.CreatedAt;
        Assert.Equal(TaskStatuses.Completed, original.Status);

        // The replay answers from the recording; the tools run again, for real, in a fresh workspace.
        using var replayed = await fixture.Api.PostAsync($"/api/v1/tasks/{original.Id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        var replay = (await replayed.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        Assert.Equal(new TaskOrigin(OriginKinds.Replay, original.Id), replay.Origin);
        Assert.Equal(BrainNames.Replay, replay.Brain);
        replay = await FinishedAsync(replay.Id);
        Assert.Equal(TaskStatuses.Completed, replay.Status);
        Assert.Equal(new ReplayReport(true, 7, 5), replay.Replay);
        Assert.StartsWith("Replay reproduced the recorded run", replay.Result);
        // Shown in the test run (diagnostic messages are on): the closing note's replay-against-original figure.
        TestContext.Current.SendDiagnosticMessage(
            $"replay timing: original run {originalDuration.TotalMilliseconds:0} ms, replay {(replay.UpdatedAt - replay.CreatedAt).TotalMilliseconds:0} ms");
        // The replay's own workspace got the same checkpoints from the same calls.
        Assert.Equal([null, "write_file", "write_file"], (await CheckpointsAsync(replay.Id)).Select(c => c.Tool));
        // The brain list never offers it.
        Assert.DoesNotContain("\"replay\"", await fixture.Api.GetStringAsync("/api/v1/brains", Ct));

        // The environment changed since the recording: its first command printed something else then.
        await using (var db = fixture.CreateDbContext())
        {
            var results = await db.Messages.Where(m => m.TaskId == original.Id && m.Kind == MessageKinds.ToolResult).OrderBy(m => m.CreatedAt).ToListAsync(Ct);
            var run = results.Single(m => JsonNode.Parse(m.Data!)!["callId"]!.GetValue<string>() == "offline-3");
            var data = JsonNode.Parse(run.Data!)!;
            data["result"] = "exit code 127, 4 ms\ngreet.sh: 5: show_date: not found (recorded on the old image)";
            run.Data = data.ToJsonString();
            await db.SaveChangesAsync(Ct);
        }
        using var again = await fixture.Api.PostAsync($"/api/v1/tasks/{original.Id}/replay", null, Ct);
        var second = await FinishedAsync((await again.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!.Id);
        var report = second.Replay!;
        Assert.False(report.Reproduced);
        Assert.Equal((4, "run_command"), (report.Step, report.Tool));
        Assert.Equal("sh greet.sh", report.Arguments!.Value.GetProperty("command").GetString());
        Assert.Contains("recorded on the old image", report.Recorded);
        Assert.Contains("show_date", report.Replayed);
        Assert.DoesNotContain("old image", report.Replayed);
        Assert.StartsWith("Replay diverged at step 4", second.Result);
        // It stopped there: the fix and the second run were not replayed.
        Assert.Equal(3, (await HistoryAsync(second.Id)).Messages.Count(m => m.Kind == MessageKinds.ToolCall));
    }

    [Fact]
    public async Task AReplayOfAChannelTaskNeverRepliesToTheSender()
    {
        fixture.RequireAvailable();
        var now = DateTimeOffset.UtcNow;
        var original = new TaskRecord
        {
            Id = Guid.CreateVersion7(), Title = "Opening hours?", Description = "When are you open on Sunday?", Source = TaskSources.WhatsApp,
            Status = TaskStatuses.Completed, Result = "We are closed on Sundays.", ReplyAddress = "15550009999", Sender = "Ana",
            SenderLevel = SenderLevels.Trusted, ToolMode = ToolModes.NoTools, CreatedAt = now, UpdatedAt = now,
        };
        await using (var db = fixture.CreateDbContext())
        {
            db.Tasks.Add(original);
            db.Messages.Add(new MessageRecord { Id = Guid.CreateVersion7(), TaskId = original.Id, Role = MessageRoles.Assistant, Kind = MessageKinds.Plan, Text = "1. Answer.", CreatedAt = now });
            db.Messages.Add(new MessageRecord { Id = Guid.CreateVersion7(), TaskId = original.Id, Role = MessageRoles.Assistant, Kind = MessageKinds.Text, Text = "We are closed on Sundays.", CreatedAt = now.AddSeconds(1) });
            // Its own reply went out long ago.
            db.Deliveries.Add(new DeliveryRecord { Id = Guid.NewGuid(), TaskId = original.Id, Channel = TaskSources.WhatsApp, Recipient = "15550009999", Status = DeliveryStatuses.Sent, CreatedAt = now, UpdatedAt = now });
            await db.SaveChangesAsync(Ct);
        }

        using var response = await fixture.Api.PostAsync($"/api/v1/tasks/{original.Id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var replay = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        Assert.Equal((TaskSources.WhatsApp, (string?)null, ToolModes.NoTools), (replay.Source, replay.SenderAddress, replay.ToolMode));
        replay = await FinishedAsync(replay.Id);
        Assert.Equal(TaskStatuses.Completed, replay.Status);
        Assert.True(replay.Replay!.Reproduced);

        // The dispatcher scans for answered channel tasks at every completion: give it time to (wrongly) pick this one up.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        await using var check = fixture.CreateDbContext();
        Assert.False(await check.Deliveries.AnyAsync(d => d.TaskId == replay.Id, Ct));
        Assert.DoesNotContain(fixture.Graph.Requests, r => r.Body.GetRawText().Contains("Replay reproduced", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARestoreIsRefusedWhileACommandRunsAndTheAgentIsToldOfItAtItsNextTurn()
    {
        RequireSandbox();
        var marker = $"restore-{Guid.NewGuid():N}"[..20];
        Guid taskId = default;
        var restored = 0;
        fixture.OpenAI.Script(marker, results => results switch
        {
            0 => new Turn("Writing the notes.", [("write_file", new { path = "notes.txt", content = "first\n" })]),
            1 => new Turn(null, [("run_command", new { command = "echo started; sleep 3; echo second > notes.txt" })]),
            // While the model thinks after the command, a person takes the workspace back to the first write.
            _ => new Turn("Done.", Before: async () =>
            {
                if (Interlocked.Exchange(ref restored, 1) == 0)
                {
                    using var response = await fixture.Api.PostAsync($"/api/v1/tasks/{taskId}/checkpoints/cp-2/restore", null, Ct);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
            }),
        });
        using var created = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = $"{marker} task", description = "Keep notes.", brain = "openai" }, Ct);
        var task = (await created.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        taskId = task.Id;
        await using var stream = await SseClient.ConnectAsync(fixture.Api, $"?taskId={task.Id}&lastEventId=0");
        var events = await stream.ReadTaskAsync(e => e.Type == "terminal_log" && e.Payload.GetProperty("text").GetString()!.Contains("started"));

        // The command is running in the workspace: no restore now.
        using (var refused = await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/checkpoints/cp-2/restore", null, Ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }
        await stream.ReadTaskAsync(e => e.Ends(), events);
        Assert.Equal("completed", events[^1].Status());

        var checkpoints = await CheckpointsAsync(task.Id);
        Assert.Equal(["start", null, null, "restored to cp-2 by api-key"], checkpoints.Select(c => c.Note));
        Assert.Equal([null, "write_file", "run_command", null], checkpoints.Select(c => c.Tool));
        var back = (await fixture.Api.GetFromJsonAsync<CheckpointDiff>($"/api/v1/tasks/{task.Id}/checkpoints/cp-2/diff", OsirisJson.Options, Ct))!;
        Assert.Empty(back.Files);
        // The model's next turn after the restore carried the note, after the command's result.
        var last = fixture.OpenAI.RequestsFor(marker)[^1].GetProperty("messages").EnumerateArray().ToList();
        Assert.Contains("restored the workspace to checkpoint cp-2", last[^1].GetProperty("content").ToString());
        Assert.Equal("user", last[^1].GetProperty("role").GetString());
        Assert.Contains(events, e => e.Type == "system_notification" && e.Payload.GetProperty("text").GetString()!.Contains("workspace restored to checkpoint cp-2"));
    }
}
