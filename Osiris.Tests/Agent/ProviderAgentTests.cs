using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Agent.Gemini;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

/// <summary>The agent loop against OpenAI's and Gemini's real wire formats, through the real MCP server and sandbox.</summary>
[Collection(AgentCollection.Name)]
public sealed class ProviderAgentTests(AgentFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(TaskDto Task, SseClient Stream)> StartAsync(string marker, string description, string brain = "openai", bool requireApproval = false)
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks",
            new { title = $"{marker} task", description, brain, requireApproval }, Ct);
        response.EnsureSuccessStatusCode();
        var task = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        return (task, await SseClient.ConnectAsync(fixture.Api, $"?taskId={task.Id}&lastEventId=0"));
    }

    private static string NewMarker(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task OpenAIWorksThroughAComplexInstructionFixingItsOwnFailingTest()
    {
        var marker = NewMarker("e2e");
        fixture.OpenAI.Script(marker, results => results switch
        {
            0 => new Turn("Writing the function.", [("write_file", new { path = "calc.sh", content = "add() { echo $(( $1 - $2 )); }\n" })]),
            1 => new Turn("Writing its test.", [("write_file", new { path = "test_calc.sh", content = ". ./calc.sh\nr=$(add 2 3)\nif [ \"$r\" = 5 ]; then echo PASS; else echo \"FAIL: add 2 3 gave $r\"; exit 1; fi\n" })]),
            2 => new Turn(null, [("run_command", new { command = "sh test_calc.sh" })]),
            3 => new Turn("The test failed: add subtracts. Fixing it.", [("write_file", new { path = "calc.sh", content = "add() { echo $(( $1 + $2 )); }\n" })]),
            4 => new Turn(null, [("run_command", new { command = "sh test_calc.sh" })]),
            _ => new Turn("All tests pass: add 2 3 = 5. I fixed a subtraction that should have been an addition."),
        });
        var (task, stream) = await StartAsync(marker, "Create a shell function add and its test, run the test, fix any failure, and report.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Contains("All tests pass", events[^1].Payload.GetProperty("result").GetString());
        Assert.Contains(events, e => e.Kind() == "plan");
        Assert.DoesNotContain(fixture.OpenAI.Refused, r => r.Marker == marker);
        Assert.Equal(["calc.sh:1", "test_calc.sh:1", "calc.sh:2"], events.Where(e => e.Type == "artifact_stream" && !e.Payload.TryGetProperty("partial", out _))
            .Select(e => $"{e.Payload.GetProperty("path").GetString()}:{e.Payload.GetProperty("version").GetInt32()}"));
        Assert.Equal([1, 0], events.Where(e => e.Type == "terminal_log" && e.Payload.TryGetProperty("exitCode", out _))
            .Select(e => e.Payload.GetProperty("exitCode").GetInt32()));
        Assert.Contains(events, e => e.Type == "terminal_log" && e.Payload.GetProperty("text").GetString()!.Contains("FAIL: add 2 3 gave -1"));
        Assert.All(events.Where(e => e.Type == "new_message" && e.Payload.GetProperty("role").GetString() == "assistant"),
            e => Assert.Equal("gpt-4o", e.Payload.GetProperty("model").GetString()));

        var requests = fixture.OpenAI.Requests.Where(r => r.Marker == marker).ToList();
        Assert.All(requests, r => Assert.Equal("Bearer test-openai-key", r.Authorization));
        Assert.All(requests, r => Assert.Equal("gpt-4o", r.Body.GetProperty("model").GetString()));
        Assert.False(requests[0].Body.TryGetProperty("tools", out _), "the plan turn offers no tools");
        var tools = requests[1].Body.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("function").GetProperty("name").GetString()!);
        Assert.Superset(new HashSet<string> { "read_file", "write_file", "list_dir", "run_command", "search_knowledge" }, tools.Keys.ToHashSet());
        Assert.Equal("string", tools["run_command"].GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("command").GetProperty("type").GetString());
        Assert.True(requests[1].Body.GetProperty("stream").GetBoolean());
        var afterFailure = requests.Single(r => r.Body.GetProperty("messages").EnumerateArray().Count(m => m.GetProperty("role").GetString() == "tool") == 3);
        var failed = afterFailure.Body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == "tool").GetProperty("content").ToString();
        Assert.Contains("FAIL: add 2 3 gave -1", failed);
        Assert.Contains("This step failed", failed);
    }

    [Fact]
    public async Task AKnowledgeSearchShowsItsSourcesLiveAndTheAnswerCitesThem()
    {
        var marker = NewMarker("cite");
        fixture.RequireAvailable();
        var search = (await fixture.Api.GetFromJsonAsync<KnowledgeSearchResult>(
            $"/api/v1/knowledge/search?q={Uri.EscapeDataString("DNS rebinding Origin Host")}&limit=3", OsirisJson.Options, Ct))!;
        var source = search.Hits[0].SourceId;
        fixture.OpenAI.Script(marker, results => results == 0
            ? new Turn("Looking it up.", [("search_knowledge", new { query = "DNS rebinding Origin Host", limit = 3 })])
            : new Turn($"The MCP endpoint refuses requests whose Origin or Host is not its own, against DNS rebinding [{source}]."));
        var (task, stream) = await StartAsync(marker, "How does the MCP endpoint protect against DNS rebinding? Cite the documentation.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Contains($"[{source}]", events[^1].Payload.GetProperty("result").GetString());
        var result = events.Single(e => e.Kind() == "tool_result");
        var hits = result.Payload.GetProperty("data").GetProperty("hits");
        Assert.Equal("search_knowledge", result.Payload.GetProperty("data").GetProperty("name").GetString());
        Assert.Equal(source, hits[0].GetProperty("sourceId").GetString());
        Assert.Equal("mcp-server.md", hits[0].GetProperty("document").GetString());
        Assert.Equal(CollectionNames.BuiltIn, hits[0].GetProperty("collection").GetString());

        var requests = fixture.OpenAI.Requests.Where(r => r.Marker == marker).ToList();
        Assert.DoesNotContain(fixture.OpenAI.Refused, r => r.Marker == marker);
        var system = requests[^1].Body.GetProperty("messages")[0].GetProperty("content").ToString();
        Assert.Contains("cite each by its source id in square brackets", system);
        var toolMessage = requests[^1].Body.GetProperty("messages").EnumerateArray().Last(m => m.GetProperty("role").GetString() == "tool");
        Assert.Contains($"[{source}]", toolMessage.GetProperty("content").ToString());
    }

    [Fact]
    public async Task SwitchingTheBrainMidTaskSendsTheNextTurnToTheOtherProvider()
    {
        var marker = NewMarker("switch");
        fixture.OpenAI.Script(marker, results => results == 0
            ? new Turn("Working.", [("run_command", new { command = "sleep 1; echo slept" })])
            : new Turn("OpenAI should not be asked again."));
        fixture.Gemini.ReplyStream(GeminiReplies.Text("Gemini here: the command slept and I am done.", "STOP"));
        var (task, stream) = await StartAsync(marker, "Sleep a second, then report.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Kind() == "tool_call");
        using var put = await fixture.Api.PutAsJsonAsync($"/api/v1/tasks/{task.Id}/brain", new { brain = "gemini" }, Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        await stream.ReadTaskAsync(e => e.Ends(), events);

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("Gemini here: the command slept and I am done.", events[^1].Payload.GetProperty("result").GetString());
        Assert.Equal(2, fixture.OpenAI.RequestsFor(marker).Count);
        var final = events.Last(e => e.Kind() == "text" && e.Payload.GetProperty("final").GetBoolean());
        Assert.Equal("gemini-2.5-pro", final.Payload.GetProperty("model").GetString());
        var geminiRequest = fixture.Gemini.Requests.Last();
        Assert.Equal("test-gemini-key", geminiRequest.ApiKey);
        Assert.Contains("functionResponse", geminiRequest.Body.GetRawText());
        Assert.Contains("slept", geminiRequest.Body.GetRawText());
    }

    [Fact]
    public async Task CancellingStopsTheRunningCommandAtOnce()
    {
        var marker = NewMarker("cancel");
        fixture.OpenAI.Script(marker, _ => new Turn(null, [("run_command", new { command = $"sleep 45 # {marker}" })]));
        var (task, stream) = await StartAsync(marker, "Run a very long command.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Kind() == "tool_call");
        await Task.Delay(500, Ct);
        var stopwatch = Stopwatch.StartNew();
        using var cancel = await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        await stream.ReadTaskAsync(e => e.Status() == "cancelled", events);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (SleepRuns(marker) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"cancel → command gone in {stopwatch.ElapsedMilliseconds} ms");
        Assert.False(SleepRuns(marker), "the sandboxed command was killed");
        await Task.Delay(1000, Ct);
        var after = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{task.Id}", OsirisJson.Options, Ct);
        Assert.Equal("cancelled", after!.Status);
    }

    [Fact]
    public async Task ApprovalModeWaitsForAPersonWhoApprovesOneCallAndDeniesAnother()
    {
        var marker = NewMarker("approve");
        fixture.OpenAI.Script(marker, results => results switch
        {
            0 => new Turn(null, [("write_file", new { path = "note.txt", content = "approved content\n" })]),
            1 => new Turn(null, [("run_command", new { command = "echo should-not-run" })]),
            _ => new Turn("Wrote the note; the command was denied."),
        });
        var (task, stream) = await StartAsync(marker, "Write a note, then run a command.", requireApproval: true);
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Status() == "awaiting_approval");
        var first = events[^1].Payload.GetProperty("approval");
        Assert.Equal("write_file", first.GetProperty("tool").GetString());
        Assert.Equal("note.txt", first.GetProperty("arguments").GetProperty("path").GetString());
        (await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/approvals/{first.GetProperty("id").GetString()}", new { approve = true }, Ct)).EnsureSuccessStatusCode();

        await stream.ReadTaskAsync(e => e.Status() == "awaiting_approval", events);
        var second = events[^1].Payload.GetProperty("approval");
        Assert.Equal("run_command", second.GetProperty("tool").GetString());
        (await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/approvals/{second.GetProperty("id").GetString()}", new { approve = false }, Ct)).EnsureSuccessStatusCode();
        await stream.ReadTaskAsync(e => e.Ends(), events);

        Assert.Equal("completed", events[^1].Status());
        Assert.Single(events, e => e.Type == "artifact_stream" && e.Payload.GetProperty("path").GetString() == "note.txt" && e.Payload.GetProperty("version").GetInt32() > 0);
        Assert.DoesNotContain(events, e => e.Type == "terminal_log");
        Assert.Contains(events, e => e.Kind() == "tool_result" && e.Payload.GetProperty("text").GetString()!.Contains("denied"));
    }

    [Fact]
    public async Task TasksWaitingForApprovalLeaveTheirWorkerSlotsToOtherWork()
    {
        // The agent takes two tasks at once (Agent:Concurrency=2); two that wait for a person must not block a third.
        var waiting = NewMarker("slots");
        fixture.OpenAI.Script(waiting, _ => new Turn(null, [("write_file", new { path = "w.txt", content = "waits\n" })]));
        var (first, firstStream) = await StartAsync(waiting, "Write a file, with approval.", requireApproval: true);
        await using var firstScope = firstStream;
        var (second, secondStream) = await StartAsync(waiting, "Write another file, with approval.", requireApproval: true);
        await using var secondScope = secondStream;
        await firstStream.ReadTaskAsync(e => e.Status() == "awaiting_approval");
        await secondStream.ReadTaskAsync(e => e.Status() == "awaiting_approval");

        var free = NewMarker("free");
        fixture.OpenAI.Script(free, _ => new Turn("Answered while two others wait for a person."));
        var (_, freeStream) = await StartAsync(free, "Answer at once.");
        await using var freeScope = freeStream;
        var events = await freeStream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        foreach (var task in new[] { first, second })
        {
            (await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct)).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task RepeatedProviderFailuresFallBackToTheNextProviderAndSaySo()
    {
        var marker = NewMarker("fallback");
        fixture.OpenAI.Script(marker, _ => new Turn(Status: 500));
        fixture.Gemini.ReplyStream(GeminiReplies.Text("Gemini took over and finished.", "STOP"));
        var (task, stream) = await StartAsync(marker, "Do something while OpenAI is down.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Contains(events, e => e.Type == "system_notification" && e.Payload.GetProperty("level").GetString() == "warning"
            && e.Payload.GetProperty("text").GetString()!.Contains("falls back to gemini"));
        Assert.Equal("gemini", events[^1].Payload.GetProperty("brain").GetString());
    }

    [Fact]
    public async Task ATaskWhoseWorkerIsKilledIsFinishedByAnotherWithoutRepeatingRecordedSideEffects()
    {
        var marker = NewMarker("resume");
        fixture.OpenAI.Script(marker, results => results switch
        {
            0 => new Turn(null, [("write_file", new { path = "once.txt", content = "written once\n" })]),
            1 => new Turn(null, [("run_command", new { command = $"sleep 20 # {marker}" })]),
            _ => new Turn("Resumed after my worker died, and finished."),
        });
        var (task, stream) = await StartAsync(marker, "Write a file, then run a long command.");
        await using var streamScope = stream;
        var events = await stream.ReadTaskAsync(e => e.Kind() == "tool_call" && e.Payload.GetProperty("text").GetString()!.StartsWith("run_command"));
        // A person writes while the command runs; then the worker dies before the call's result is recorded.
        using var said = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/messages", new { text = $"Also say hello. {marker}" }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, said.StatusCode);
        await stream.ReadTaskAsync(e => e.Type == "new_message" && e.Payload.GetProperty("role").GetString() == "user", events);

        // A hard crash: no graceful shutdown, no lease given back. The lease (4 s here) has to run out.
        foreach (var pid in AgentProcesses())
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
        }
        var app = fixture.Osiris.App;
        await app.ResourceNotifications.WaitForResourceAsync("agent",
            e => e.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart", Ct);
        await app.ResourceCommands.ExecuteCommandAsync("agent", Aspire.Hosting.ApplicationModel.KnownResourceCommands.StartCommand, Ct);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("agent", Ct);

        await stream.ReadTaskAsync(e => e.Ends(), events);
        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("Resumed after my worker died, and finished.", events[^1].Payload.GetProperty("result").GetString());
        Assert.Single(events, e => e.Type == "artifact_stream" && e.Payload.GetProperty("version").GetInt32() > 0);
        Assert.DoesNotContain(fixture.OpenAI.Refused, r => r.Marker == marker);
        var resumed = fixture.OpenAI.RequestsFor(marker).Last();
        // The person's words come once, after the result of the interrupted call — never between the call and its result.
        var messages = resumed.GetProperty("messages").EnumerateArray().ToList();
        var saidAt = Assert.Single(Enumerable.Range(0, messages.Count), i => messages[i].GetProperty("role").GetString() == "user"
            && messages[i].GetProperty("content").ToString().Contains("Also say hello."));
        Assert.Equal("tool", messages[saidAt - 1].GetProperty("role").GetString());
        Assert.Contains("The worker stopped before this call finished", resumed.GetRawText());
        Assert.Single(resumed.GetProperty("messages").EnumerateArray(), m => m.GetProperty("role").GetString() == "tool" &&
            m.GetProperty("content").ToString().Contains("once.txt"));
    }

    [Fact]
    public async Task AMessageAPersonWritesDuringTheTaskReachesTheModelAtItsNextTurn()
    {
        var marker = NewMarker("inbox");
        fixture.OpenAI.Script(marker, results => results == 0
            ? new Turn(null, [("run_command", new { command = "sleep 2; echo measured" })])
            : new Turn("Noted your request about bananas."));
        var (task, stream) = await StartAsync(marker, "Measure something.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Kind() == "tool_call");
        using var posted = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/messages", new { text = "Please also count the bananas." }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        await stream.ReadTaskAsync(e => e.Ends(), events);

        Assert.Equal("completed", events[^1].Status());
        var next = fixture.OpenAI.RequestsFor(marker).Last();
        Assert.Contains("Please also count the bananas.", next.GetRawText());
        Assert.Equal(3, fixture.OpenAI.RequestsFor(marker).Count); // plan, the command turn, the turn that saw the message
    }

    [Fact]
    public async Task ModelTextReachesSseClientsSoonAfterTheProviderSendsIt()
    {
        var marker = NewMarker("latency");
        var pieces = Enumerable.Range(1, 60).Select(i => $"{marker}w{i:000} ").ToArray();
        fixture.OpenAI.Script(marker, _ => new Turn(TextPieces: pieces, PieceGapMs: 20));
        var (_, stream) = await StartAsync(marker, "Say sixty words slowly.");
        await using var streamScope = stream;

        var latencies = new List<double>();
        var deltas = 0;
        while (true)
        {
            var e = await stream.NextEventAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("the stream ended");
            var received = Stopwatch.GetTimestamp();
            if (e.Ends())
            {
                break;
            }
            if (e.Kind() == "text" && e.Payload.TryGetProperty("delta", out var delta))
            {
                deltas++;
                foreach (var word in delta.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (fixture.OpenAI.PieceSentAt.TryGetValue(word, out var sent))
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sent, received).TotalMilliseconds);
                    }
                }
            }
        }

        latencies.Sort();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"provider chunk → SSE client: {latencies.Count} pieces in {deltas} deltas, p50 {latencies[latencies.Count / 2]:F1} ms, " +
            $"p99 {latencies[(int)(latencies.Count * 0.99)]:F1} ms, max {latencies[^1]:F1} ms (30 ms coalescing included)");
        Assert.Equal(pieces.Length, latencies.Count);
        Assert.True(deltas < pieces.Length, "pieces are coalesced, not one event per token");
        Assert.All(latencies, l => Assert.True(l < 5000, $"{l} ms"));
    }

    private static IEnumerable<int> AgentProcesses() =>
        Directory.GetDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : -1)
            .Where(pid => pid > 0)
            .Where(pid =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{pid}/cmdline").Contains("Osiris.Agent");
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .ToList();

    private static bool SleepRuns(string marker)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(marker))
                {
                    return true;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return false;
    }
}
