using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Agent.Gemini;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

/// <summary>
/// The agent against fakes that refuse what the real OpenAI and Gemini APIs refuse: multi-step work on each brain,
/// switches both ways, the providers' failure modes, and what people see while it happens.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class ProviderRulesTests(AgentFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(TaskDto Task, SseClient Stream)> StartAsync(string marker, string description, string brain = "openai")
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
        using var response = await fixture.Api.PostAsJsonAsync("/api/v1/tasks", new { title = $"{marker} task", description, brain }, Ct);
        response.EnsureSuccessStatusCode();
        var task = (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, Ct))!;
        return (task, await SseClient.ConnectAsync(fixture.Api, $"?taskId={task.Id}&lastEventId=0"));
    }

    private static string NewMarker(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    private static string Call(string name, string argsJson, string? id = null) =>
        GeminiReplies.Chunk($$"""[{ "functionCall": { "name": "{{name}}", "args": {{argsJson}}{{(id is null ? "" : $", \"id\": \"{id}\"")}} } }]""", "STOP",
            """{ "promptTokenCount": 200, "candidatesTokenCount": 20, "totalTokenCount": 220 }""");

    private void AssertNothingRefused(string marker)
    {
        Assert.DoesNotContain(fixture.OpenAI.Refused, r => r.Marker == marker);
        Assert.DoesNotContain(fixture.Gemini.RequestsFor(marker), r => GeminiRules.Check(r) is not null);
    }

    [Fact]
    public async Task GeminiWorksThroughAMultiStepTaskWithThoughtsStreamedAndEveryRequestAccepted()
    {
        var marker = NewMarker("gem-steps");
        fixture.Gemini.Script(marker, responses => responses switch
        {
            0 => [GeminiReplies.Chunk("""[{ "text": "The user wants a file; I should look first.", "thought": true }]"""),
                  GeminiReplies.Chunk("""[{ "text": "Looking first." }]"""), Call("list_dir", """{ "path": "." }""")],
            1 => [Call("write_file", """{ "path": "hello.txt", "content": "hello\n" }""")],
            2 => [Call("read_file", """{ "path": "hello.txt" }""")],
            _ => [GeminiReplies.Text("hello.txt holds hello.", "STOP")],
        });
        var (_, stream) = await StartAsync(marker, "Create hello.txt and check it.", "gemini");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("hello.txt holds hello.", events[^1].Payload.GetProperty("result").GetString());
        AssertNothingRefused(marker);
        var thought = events.Last(e => e.Kind() == "thought" && e.Payload.GetProperty("final").GetBoolean());
        Assert.Equal("The user wants a file; I should look first.", thought.Payload.GetProperty("text").GetString());
        var last = fixture.Gemini.RequestsFor(marker)[^1];
        Assert.Null(GeminiRules.Check(last));
        Assert.Equal(3, last.GetProperty("contents").EnumerateArray().SelectMany(c => c.GetProperty("parts").EnumerateArray()).Count(p => p.TryGetProperty("functionResponse", out _)));
        Assert.True(last.GetProperty("generationConfig").GetProperty("thinkingConfig").GetProperty("includeThoughts").GetBoolean());
    }

    [Fact]
    public async Task ATaskSwitchedFromGeminiToOpenAIKeepsGeminiMintedCallsValidForOpenAI()
    {
        var marker = NewMarker("gem2oai");
        fixture.Gemini.Script(marker, responses => responses == 0
            ? [Call("run_command", """{ "command": "sleep 2; echo from-gemini" }""")] // no id: the agent mints one
            : [GeminiReplies.Text("Gemini should not be asked again.", "STOP")]);
        fixture.OpenAI.Script(marker, _ => new Turn("OpenAI finished what Gemini started."));
        var (task, stream) = await StartAsync(marker, "Run a command, then report.", "gemini");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Kind() == "tool_call");
        (await fixture.Api.PutAsJsonAsync($"/api/v1/tasks/{task.Id}/brain", new { brain = "openai" }, Ct)).EnsureSuccessStatusCode();
        await stream.ReadTaskAsync(e => e.Ends(), events);

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("OpenAI finished what Gemini started.", events[^1].Payload.GetProperty("result").GetString());
        Assert.DoesNotContain(fixture.OpenAI.Refused, r => r.Marker == marker);
        var request = fixture.OpenAI.RequestsFor(marker).Last();
        var call = request.GetProperty("messages").EnumerateArray().Single(m => m.TryGetProperty("tool_calls", out _)).GetProperty("tool_calls")[0];
        Assert.True(call.GetProperty("id").GetString()!.Length <= 40);
        Assert.Contains("from-gemini", request.GetRawText());
    }

    [Fact]
    public async Task AContentFilterEndingFailsTheTaskWithTheReasonInsteadOfCompletingIt()
    {
        var marker = NewMarker("filter");
        fixture.OpenAI.Script(marker, _ => new Turn("I can", Finish: "content_filter"));
        var (_, stream) = await StartAsync(marker, "Say something the filter blocks.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("failed", events[^1].Status());
        Assert.Contains("safety filter", events[^1].Payload.GetProperty("result").GetString());
    }

    [Fact]
    public async Task AMalformedFunctionCallFromGeminiIsAskedAgainAndTheTaskCompletes()
    {
        var marker = NewMarker("malformed");
        var asked = 0;
        fixture.Gemini.Script(marker, responses => responses == 0 && Interlocked.Increment(ref asked) == 1
            ? [GeminiReplies.Chunk("[]", "MALFORMED_FUNCTION_CALL", """{ "promptTokenCount": 100, "totalTokenCount": 100 }""")]
            : responses == 0 ? [Call("list_dir", """{ "path": "." }""")] : [GeminiReplies.Text("Listed it.", "STOP")]);
        var (_, stream) = await StartAsync(marker, "List the workspace.", "gemini");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("Listed it.", events[^1].Payload.GetProperty("result").GetString());
        Assert.Equal(2, asked);
    }

    [Fact]
    public async Task A429WithRetryAfterIsWaitedOutAndAStreamCutHalfWayIsWithdrawnFromTheScreen()
    {
        var marker = NewMarker("retry");
        fixture.OpenAI.Script(marker, results => results == 0
            ? new Turn(null, [("list_dir", new { path = "." })], FailTimes: 1, FailStatus: 429, RetryAfterSeconds: 1.5)
            : new Turn("Broken words that never finish and then the real answer.", FailTimes: 1, CutStream: true));
        var (_, stream) = await StartAsync(marker, "List, then answer.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        var arrivals = fixture.OpenAI.Arrivals.Where(a => a.Marker == marker).Select(a => a.At).ToList();
        var gap = Stopwatch.GetElapsedTime(arrivals[1], arrivals[2]);
        Assert.True(gap >= TimeSpan.FromSeconds(1.4), $"the retry came {gap.TotalMilliseconds:0} ms after the 429 that asked for 1.5 s");
        var retracted = events.Where(e => e.Kind() == "text" && e.Payload.TryGetProperty("retracted", out var r) && r.GetBoolean()).ToList();
        Assert.Single(retracted);
        var withdrawn = retracted[0].Payload.GetProperty("messageId").GetString();
        Assert.DoesNotContain(events, e => e.Kind() == "text" && e.Payload.GetProperty("messageId").GetString() == withdrawn
            && e.Payload.GetProperty("final").GetBoolean() && !e.Payload.TryGetProperty("retracted", out _));
    }

    [Fact]
    public async Task AGeminiFirstChunkAfterTwelveSecondsAndA429WithRetryInfoBothEndInACompletedTask()
    {
        var marker = NewMarker("slow");
        var calls = 0;
        fixture.Gemini.Script(marker, _ => Interlocked.Increment(ref calls) switch
        {
            1 => ["429:1"],
            2 => ["delay:12000", GeminiReplies.Text("Thought long, answered.", "STOP")],
            _ => [GeminiReplies.Text("Asked a third time.", "STOP")],
        });
        var (_, stream) = await StartAsync(marker, "Think long.", "gemini");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("Thought long, answered.", events[^1].Payload.GetProperty("result").GetString());
        Assert.Equal(2, calls);
        var turns = fixture.Gemini.Requests.Where(r => r.Body.GetRawText().Contains(marker, StringComparison.Ordinal) && r.Body.TryGetProperty("tools", out _)).ToList();
        var gap = System.Diagnostics.Stopwatch.GetElapsedTime(turns[0].At, turns[1].At);
        Assert.True(gap >= TimeSpan.FromSeconds(0.9), $"the retry came {gap.TotalMilliseconds:0} ms after a 429 whose RetryInfo asked for 1 s");
    }

    [Fact]
    public async Task StreamedWriteFileArgumentsShowAGrowingDraftBeforeTheWriteCompletes()
    {
        var marker = NewMarker("draft");
        var content = string.Concat(Enumerable.Range(1, 30).Select(i => $"echo line {i}\n"));
        fixture.OpenAI.Script(marker, results => results == 0
            ? new Turn(null, [("write_file", new { path = "lines.sh", content })], ArgumentChunk: 16, ArgumentGapMs: 40)
            : new Turn("Wrote lines.sh."));
        var (_, stream) = await StartAsync(marker, "Write a script of 30 lines.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        Assert.True(fixture.OpenAI.ArgumentSentAt.Count(a => a.Marker == marker) >= 10, "the fake streamed the arguments in at least 10 chunks");
        var written = events.FindIndex(e => e.Type == "artifact_stream" && e.Payload.GetProperty("version").GetInt32() == 1);
        var call = events.FindIndex(e => e.Kind() == "tool_call");
        var drafts = events.Take(call).Where(e => e.Type == "artifact_stream" && e.Payload.TryGetProperty("partial", out var p) && p.GetBoolean()).ToList();
        Assert.True(drafts.Count >= 3, $"{drafts.Count} draft updates arrived before the call");
        Assert.True(written > call);
        var sizes = drafts.Select(d => d.Payload.GetProperty("size").GetInt64()).ToList();
        Assert.Equal(sizes.Order(), sizes);
        Assert.Equal(content, string.Concat(drafts.Select(d => d.Payload.GetProperty("delta").GetString())));
        Assert.All(drafts, d => Assert.Equal("lines.sh", d.Payload.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task CachedTokensArePricedAtTheirDiscountAndEachCallIsRecorded()
    {
        var marker = NewMarker("cached");
        fixture.OpenAI.Script(marker, _ => new Turn("Done cheaply.", PromptTokens: 10_000, CachedTokens: 8_000, CompletionTokens: 100, ReasoningTokens: 30));
        var (_, stream) = await StartAsync(marker, "Answer from cache.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        // The plan: 120 in, 40 out, nothing cached. The answer: 2,000 fresh and 8,000 cached in, 100 out — gpt-4o list prices.
        var expected = (120 * 2.50m + 40 * 10.00m) / 1_000_000m + (2_000 * 2.50m + 8_000 * 1.25m + 100 * 10.00m) / 1_000_000m;
        Assert.Equal(expected, events[^1].Payload.GetProperty("costUsd").GetDecimal());
        var spend = await fixture.Api.GetFromJsonAsync<SpendReport>("/api/v1/spend?days=1", OsirisJson.Options, Ct);
        Assert.Contains(spend!.TopTasks, t => t.Title.Contains(marker) && t.CostUsd == expected);
    }

    [Fact]
    public async Task ATaskThatRunsOutOfBudgetPausesAndAPersonRaisingTheBudgetLetsItFinish()
    {
        var marker = NewMarker("budget");
        fixture.OpenAI.Script(marker, results => results < 2
            ? new Turn(null, [("list_dir", new { path = "." })], PromptTokens: 300_000)
            : new Turn("Finished after the budget was raised."));
        var (task, stream) = await StartAsync(marker, "Look around, expensively.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Status() == "paused" || e.Ends());
        Assert.Equal("paused", events[^1].Status());
        Assert.Equal("budget", events[^1].Payload.GetProperty("pausedFor").GetString());
        Assert.Contains("token budget", events[^1].Payload.GetProperty("result").GetString());

        using var nothing = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/resume", new { }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, nothing.StatusCode);
        using var resume = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/resume", new { raiseTokens = 1_000_000, raiseBudgetUsd = 5 }, Ct);
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        await stream.ReadTaskAsync(e => e.Ends(), events);

        Assert.Equal("completed", events[^1].Status());
        Assert.Equal("Finished after the budget was raised.", events[^1].Payload.GetProperty("result").GetString());
        using var again = await fixture.Api.PostAsJsonAsync($"/api/v1/tasks/{task.Id}/resume", new { raiseBudgetUsd = 1 }, Ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task TheSameFailingCallThreeTimesStopsTheTaskWithTheReason()
    {
        var marker = NewMarker("circles");
        fixture.OpenAI.Script(marker, _ => new Turn(null, [("read_file", new { path = "missing.txt" })]));
        var (_, stream) = await StartAsync(marker, "Read a file that is not there.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("failed", events[^1].Status());
        Assert.Contains("failed 3 times in a row", events[^1].Payload.GetProperty("result").GetString());
        Assert.Equal(3, events.Count(e => e.Kind() == "tool_call"));
    }

    [Fact]
    public async Task AnMcpServerRestartMidTaskOpensANewSessionAndTheWorkspaceIsStillThere()
    {
        var marker = NewMarker("mcp-restart");
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.OpenAI.Script(marker, results => results switch
        {
            0 => new Turn(null, [("write_file", new { path = "kept.txt", content = "kept across the restart\n" })]),
            1 => new Turn(null, [("read_file", new { path = "kept.txt" })], Before: () => { holding.TrySetResult(); return restarted.Task; }),
            _ => new Turn("The file survived the restart."),
        });
        var (_, stream) = await StartAsync(marker, "Write a file, then read it back.");
        await using var streamScope = stream;

        // The model "thinks" while the MCP server restarts; its next call then meets a server that never saw the session.
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        var app = fixture.Osiris.App;
        await app.ResourceCommands.ExecuteCommandAsync("mcpserver", Aspire.Hosting.ApplicationModel.KnownResourceCommands.RestartCommand, Ct);
        // A restart passes through states that read as "failed to start" for a moment; wait through them (60 s at most).
        await app.ResourceNotifications.WaitForResourceHealthyAsync("mcpserver", WaitBehavior.WaitOnResourceUnavailable, Ct)
            .WaitAsync(TimeSpan.FromSeconds(60), Ct);
        restarted.SetResult();
        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("completed", events[^1].Status());
        var read = events.Where(e => e.Kind() == "tool_result").Select(e => e.Payload.GetProperty("text").GetString()!).Last();
        Assert.Contains("kept across the restart", read);
    }

    [Fact]
    public async Task AnAnswerThatKeepsHittingTheOutputLimitIsAskedToGoOnThenFailsInsteadOfCompletingCutOff()
    {
        var marker = NewMarker("length");
        fixture.OpenAI.Script(marker, _ => new Turn("A very long answer that stops in the mid", Finish: "length"));
        var (_, stream) = await StartAsync(marker, "Write far too much.");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("failed", events[^1].Status());
        Assert.Contains("output limit", events[^1].Payload.GetProperty("result").GetString());
        var asks = fixture.OpenAI.RequestsFor(marker).Count(r => r.GetRawText().Contains("cut off at the output limit", StringComparison.Ordinal));
        Assert.Equal(2, asks);
    }

    [Fact]
    public async Task APromptGeminiBlocksFailsTheTaskWithTheReason()
    {
        var marker = NewMarker("blocked");
        fixture.Gemini.Script(marker, _ => ["""{ "promptFeedback": { "blockReason": "SAFETY" }, "usageMetadata": { "promptTokenCount": 50, "totalTokenCount": 50 }, "modelVersion": "gemini-2.5-pro-001", "responseId": "r-blocked" }"""]);
        var (_, stream) = await StartAsync(marker, "Something Gemini will not touch.", "gemini");
        await using var streamScope = stream;

        var events = await stream.ReadTaskAsync(e => e.Ends());

        Assert.Equal("failed", events[^1].Status());
        Assert.Contains("safety filter", events[^1].Payload.GetProperty("result").GetString());
    }

    [Fact]
    public async Task EveryModelTheBrainsApiOffersHasAPrice()
    {
        fixture.RequireAvailable();
        var catalog = await fixture.Api.GetFromJsonAsync<BrainCatalog>("/api/v1/brains", OsirisJson.Options, Ct);
        var prices = ModelPrices.Defaults();

        var offered = catalog!.Brains.Where(b => b.Configured && b.Brain != "openai-compatible").SelectMany(b => b.Models).ToList();

        Assert.NotEmpty(offered);
        Assert.All(offered, model => Assert.True(prices.ContainsKey(model), $"{model} is offered but has no price"));
    }
}
