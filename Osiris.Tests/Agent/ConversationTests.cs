using System.Text.Json;
using Microsoft.Extensions.AI;
using Osiris.Agent.Brains;
using Osiris.Agent.Brains.Gemini;
using Osiris.Agent.Loop;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Tests.Agent;

/// <summary>The conversation the agent sends, rebuilt and compacted, checked against the providers' pairing rules.</summary>
[Trait("Category", "Unit")]
public sealed class ConversationTests
{
    private static readonly Guid Task = Guid.NewGuid();
    private static int _clock;

    private static MessageRecord Record(string role, string kind, string text, object? data = null) => new()
    {
        Id = Guid.CreateVersion7(), TaskId = Task, Role = role, Kind = kind, Text = text,
        CreatedAt = DateTimeOffset.UnixEpoch.AddSeconds(Interlocked.Increment(ref _clock)),
        Data = data is null ? null : JsonSerializer.Serialize(data, OsirisJson.Options),
    };

    private static MessageRecord Call(string id, string name, int step, object arguments) =>
        Record("assistant", "tool_call", name, new { callId = id, name, arguments, step });

    private static MessageRecord Result(string id, string name, string result) => Record("tool", "tool_result", result, new { callId = id, name, result });

    /// <summary>Every assistant message with calls is followed directly by one tool message answering exactly those calls.</summary>
    private static void AssertPaired(List<ChatMessage> history)
    {
        for (var i = 0; i < history.Count; i++)
        {
            var calls = history[i].Contents.OfType<FunctionCallContent>().Select(c => c.CallId).ToList();
            if (calls.Count > 0)
            {
                Assert.True(i + 1 < history.Count && history[i + 1].Role == ChatRole.Tool, $"message {i} has calls but no tool message after it");
                Assert.Equal(calls, history[i + 1].Contents.OfType<FunctionResultContent>().Select(r => r.CallId));
            }
            if (history[i].Role == ChatRole.Tool)
            {
                Assert.True(i > 0 && history[i - 1].Contents.OfType<FunctionCallContent>().Any(), $"tool message {i} does not follow a call");
            }
            Assert.All(history[i].Contents.OfType<FunctionCallContent>(), c => Assert.True(c.CallId.Length <= 40, c.CallId));
        }
    }

    [Fact]
    public void APersonsMessageWrittenDuringAToolCallGoesAfterTheResultOnceAndAnUnfinishedCallGetsAResult()
    {
        var legacyGeminiId = "gemini-call-" + Guid.NewGuid().ToString("N"); // 44 characters, from an earlier release
        var stored = new List<MessageRecord>
        {
            Record("assistant", "plan", "1. Look.\n2. Run."),
            Record("assistant", "text", "Looking first."),
            Call(legacyGeminiId, "list_dir", 2, new { path = "." }),
            Record("user", "text", "Please hurry."),
            Result(legacyGeminiId, "list_dir", "a.txt"),
            Call("call_b", "run_command", 3, new { command = "make" }),
            Call("call_c", "read_file", 3, new { path = "a.txt" }),
            Result("call_b", "run_command", "exit code 0"),
            Record("user", "text", "And count the bananas."),
            // call_c never finished: the worker died.
        };
        var seen = new HashSet<Guid>();

        var history = Conversation.Rebuild("system", "Task: x", stored, seen);

        AssertPaired(history);
        Assert.Equal(2, seen.Count);
        Assert.Single(history, m => m.Role == ChatRole.User && m.Text == "Please hurry.");
        var hurry = history.FindIndex(m => m.Text == "Please hurry.");
        Assert.Equal(ChatRole.Tool, history[hurry - 1].Role);
        Assert.Equal(Conversation.AfterPlan, history[3].Text);
        var twoCalls = history.Single(m => m.Contents.OfType<FunctionCallContent>().Count() == 2);
        var results = history[history.IndexOf(twoCalls) + 1].Contents.OfType<FunctionResultContent>().ToList();
        Assert.Contains("worker stopped", results[1].Result!.ToString());
        Assert.Equal("And count the bananas.", history[^1].Text);
        Assert.StartsWith("gc-", history.SelectMany(m => m.Contents).OfType<FunctionCallContent>().First().CallId);
    }

    [Fact]
    public void AHistoryBeyondTheLimitIsCompactedKeepingEveryCallNextToItsResult()
    {
        var history = new List<ChatMessage> { new(ChatRole.System, "system"), new(ChatRole.User, "Task: build it"), Conversation.Plan("1. Build."), new(ChatRole.User, Conversation.AfterPlan) };
        var noise = string.Join('\n', Enumerable.Range(0, 400).Select(i => $"line {i}: compiling module {i} of the project with some output"));
        for (var i = 0; i < 12; i++)
        {
            history.Add(new ChatMessage(ChatRole.Assistant, [new TextContent($"Step {i}."), new FunctionCallContent($"call_{i}", "run_command", new Dictionary<string, object?> { ["command"] = $"make part{i}" })]));
            history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent($"call_{i}", noise)]));
        }
        var limit = 8_000; // one whole tool result (the latest, never dropped) is ~6,000 tokens

        var (before, after) = Conversation.Compact(history, limit);

        Assert.True(before > limit * 5, $"the test history is large ({before} tokens)");
        Assert.True(after <= limit, $"compacted to {after} tokens");
        Assert.Equal(after, Conversation.CountTokens(history));
        AssertPaired(history);
        Assert.Equal("Task: build it", history[1].Text);
        Assert.True(Conversation.HasPlan(history));
        Assert.Equal("call_11", history.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Last().CallId);
        Assert.Contains(history, m => m.Role == ChatRole.User && m.Text.Contains("Earlier steps were removed", StringComparison.Ordinal) && m.Text.Contains("make part0"));
    }

    [Theory]
    [InlineData("""{"path":"a.sh","content":"echo hi\nec""", "echo hi\nec", false)]
    [InlineData("""{"path":"a.sh","content":"say \"hi\" \u00e9\""", "say \"hi\" é", false)]
    [InlineData("""{"path":"a.sh","content":"x\u00""", "x", false)]
    [InlineData("""{"path":"a.sh","content":"done"}""", "done", true)]
    [InlineData("""{"path":"a.sh","con""", null, false)]
    public void PartialArgumentsYieldTheFileTextSoFar(string json, string? expected, bool complete)
    {
        Assert.Equal(expected, PartialJson.ReadString(json, "content", out var done));
        Assert.Equal(complete, done);
    }

    [Fact]
    public void LongToolOutputIsCutInTheMiddleWithANoteOnHowToReadIt()
    {
        var output = string.Concat(Enumerable.Range(0, 5000).Select(i => $"{i:0000}\n"));

        var capped = ToolInvoker.Cap(output, 2000);

        Assert.True(capped.Length < 2400);
        Assert.StartsWith("0000\n", capped);
        Assert.EndsWith("4999\n", capped);
        Assert.Contains("characters cut from the middle", capped);
        Assert.Contains("read_file", capped);
    }

    [Fact]
    public void CachedInputIsPricedAtItsDiscountAndAnUnknownModelHasNoPrice()
    {
        var options = new Osiris.Agent.AgentOptions();

        Assert.Equal((2_000 * 2.50m + 8_000 * 1.25m + 100 * 10.00m) / 1_000_000m, options.Cost("gpt-4o", 10_000, 8_000, 100));
        Assert.Equal((300_000 * 2.50m + 1_000 * 15.00m) / 1_000_000m, options.Cost("gemini-2.5-pro", 300_000, 0, 1_000));
        Assert.Null(options.Cost("llama3.1:8b", 10_000, 0, 100));
        Assert.Equal(0m, options.Cost(BrainSettings.OfflineModel, 10_000, 0, 100));
    }

    [Fact]
    public void ARetryDelayIsReadFromRetryAfterAndTimeoutsAreTransientButRefusalsAreNot()
    {
        var limited = new HttpRequestException("429", null, System.Net.HttpStatusCode.TooManyRequests);
        limited.Data[ModelErrors.RetryAfterKey] = TimeSpan.FromSeconds(23);

        Assert.True(ModelErrors.IsTransient(limited));
        Assert.Equal(TimeSpan.FromSeconds(23), ModelErrors.RetryAfter(limited));
        Assert.True(ModelErrors.IsTransient(new ModelTimeoutException("idle")));
        Assert.False(ModelErrors.IsTransient(new HttpRequestException("400", null, System.Net.HttpStatusCode.BadRequest)));
    }

    [Fact]
    public async Task TheOfflineBrainReportsAFailedToolAsFailedInsteadOfNarratingSuccess()
    {
        using var offline = new OfflineChatClient();
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => "", "list_dir"), AIFunctionFactory.Create(() => "", "write_file"), AIFunctionFactory.Create(() => "", "run_command")] };
        List<ChatMessage> history =
        [
            new(ChatRole.User, "Task: greet"),
            new(ChatRole.Assistant, [new FunctionCallContent("offline-1", "list_dir")]), new(ChatRole.Tool, [new FunctionResultContent("offline-1", "(empty)")]),
            new(ChatRole.Assistant, [new FunctionCallContent("offline-2", "write_file")]), new(ChatRole.Tool, [new FunctionResultContent("offline-2", "Created greet.sh")]),
            new(ChatRole.Assistant, [new FunctionCallContent("offline-3", "run_command")]),
            new(ChatRole.Tool, [Conversation.Result("offline-3", "run_command needs bubblewrap (bwrap) to isolate commands, and it is not installed.\n\nCommands cannot run on this OSIRIS server.", failed: true)]),
        ];

        var response = await offline.GetResponseAsync(history, tools, TestContext.Current.CancellationToken);

        Assert.Equal(OfflineChatClient.Failed, response.FinishReason);
        Assert.Contains("stopped at step 3", response.Text);
        Assert.DoesNotContain("fixed it", response.Text);
        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
    }
}
