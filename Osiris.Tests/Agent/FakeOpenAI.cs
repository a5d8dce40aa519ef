using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Osiris.Tests.Agent;

/// <summary>
/// One scripted model turn: text, tool calls, usage; or an HTTP error status. <paramref name="FailTimes"/> makes the
/// first attempts at this turn fail (with <paramref name="FailStatus"/> and <paramref name="RetryAfterSeconds"/>, or
/// by cutting the stream half-way when <paramref name="CutStream"/>) before it succeeds. <paramref name="Before"/> runs
/// before the answer is sent (a test holds the model there while it does something to the system).
/// </summary>
public sealed record Turn(string? Text = null, (string Name, object Arguments)[]? Calls = null, int Status = 200, int PromptTokens = 120,
    int CompletionTokens = 40, int DelayMs = 0, string[]? TextPieces = null, int PieceGapMs = 0, string? Finish = null,
    int FailTimes = 0, int FailStatus = 429, double? RetryAfterSeconds = null, bool CutStream = false, int CachedTokens = 0,
    int ReasoningTokens = 0, int ArgumentChunk = 12, int ArgumentGapMs = 0, Func<Task>? Before = null);

/// <summary>
/// A local server speaking OpenAI's Chat Completions wire format, streaming included (content deltas, tool_calls
/// deltas with ids and argument fragments, a usage chunk, [DONE]). Each task's conversation is scripted by a marker
/// in its title; the turn is chosen by how many tool results the request already carries.
/// </summary>
public sealed class FakeOpenAI : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, Turn>> _scripts = new();
    private readonly ConcurrentDictionary<(string, int), int> _attempts = new();

    private FakeOpenAI(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Marker, JsonElement Body, string? Authorization)> Requests { get; } = new();

    /// <summary>Requests refused with a 400 because they broke a rule the real API enforces (<see cref="OpenAIRules"/>).</summary>
    public ConcurrentQueue<(string Marker, string Error)> Refused { get; } = new();

    /// <summary>When each request arrived (Stopwatch timestamps), by marker, to check retry delays.</summary>
    public ConcurrentQueue<(string Marker, long At)> Arrivals { get; } = new();

    /// <summary>When each tool-call argument fragment left this server, by marker.</summary>
    public ConcurrentQueue<(string Marker, long At)> ArgumentSentAt { get; } = new();

    /// <summary>When each scripted text piece left this server (Stopwatch timestamps), by piece.</summary>
    public ConcurrentDictionary<string, long> PieceSentAt { get; } = new();

    public string BaseUrl => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";

    /// <summary>Scripts the conversation of tasks whose title contains <paramref name="marker"/>.</summary>
    public void Script(string marker, Func<int, Turn> turns) => _scripts[marker] = turns;

    public IReadOnlyList<JsonElement> RequestsFor(string marker) => Requests.Where(r => r.Marker == marker).Select(r => r.Body).ToList();

    public static async Task<FakeOpenAI> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeOpenAI(app);
        app.MapPost("/v1/chat/completions", fake.CompleteAsync);
        await app.StartAsync();
        return fake;
    }

    private async Task CompleteAsync(HttpContext http)
    {
        using var document = await JsonDocument.ParseAsync(http.Request.Body);
        var body = document.RootElement.Clone();
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        var userText = string.Join('\n', messages.Where(m => m.GetProperty("role").GetString() == "user").Select(Content));
        var marker = _scripts.Keys.FirstOrDefault(userText.Contains) ?? "";
        Requests.Enqueue((marker, body, http.Request.Headers.Authorization.ToString()));
        Arrivals.Enqueue((marker, System.Diagnostics.Stopwatch.GetTimestamp()));
        if (OpenAIRules.Check(body) is { } violation)
        {
            Refused.Enqueue((marker, violation.Message));
            http.Response.StatusCode = 400;
            await http.Response.WriteAsJsonAsync(OpenAIRules.ErrorBody(violation));
            return;
        }

        var hasTools = body.TryGetProperty("tools", out var tools) && tools.GetArrayLength() > 0;
        var toolResults = messages.Count(m => m.GetProperty("role").GetString() == "tool");
        var turn = !hasTools ? new Turn("1. Inspect.\n2. Do the work.\n3. Report.")
            : _scripts.TryGetValue(marker, out var script) ? script(toolResults) : new Turn("Nothing scripted for this task.");
        var attempt = hasTools ? _attempts.AddOrUpdate((marker, toolResults), 1, (_, n) => n + 1) : 0;
        var failing = hasTools && attempt <= turn.FailTimes;
        if (failing && !turn.CutStream)
        {
            http.Response.StatusCode = turn.FailStatus;
            if (turn.RetryAfterSeconds is { } after)
            {
                http.Response.Headers["retry-after"] = after.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Rate limit reached for gpt-4o in organization org-test on tokens per min (TPM): Limit 30000. Please try again in 1s.", type = "tokens", param = (string?)null, code = "rate_limit_exceeded" } });
            return;
        }
        if (turn.Before is { } before)
        {
            await before();
        }
        if (turn.DelayMs > 0)
        {
            await Task.Delay(turn.DelayMs, http.RequestAborted);
        }
        if (turn.Status != 200)
        {
            http.Response.StatusCode = turn.Status;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "scripted failure", type = "server_error", code = (string?)null } });
            return;
        }

        var model = body.GetProperty("model").GetString();
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..12];
        string Chunk(object delta, string? finish = null) => JsonSerializer.Serialize(new
        {
            id, @object = "chat.completion.chunk", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model,
            choices = new[] { new { index = 0, delta, finish_reason = finish } },
        });

        http.Response.ContentType = "text/event-stream";
        var frames = new List<string> { Chunk(new { role = "assistant", content = "" }) };
        if (turn.Text is { } text)
        {
            frames.AddRange(Pieces(text).Select(piece => Chunk(new { content = piece })));
        }
        if (turn.TextPieces is { } pieces)
        {
            // Written one by one with a gap, like a model producing tokens (before any tool call, as models do), each
            // with its send time recorded.
            foreach (var frame in frames)
            {
                await http.Response.WriteAsync($"data: {frame}\n\n", Encoding.UTF8);
            }
            frames.Clear();
            foreach (var piece in pieces)
            {
                await Task.Delay(turn.PieceGapMs);
                await http.Response.WriteAsync($"data: {Chunk(new { content = piece })}\n\n", Encoding.UTF8);
                await http.Response.Body.FlushAsync();
                PieceSentAt[piece.Trim()] = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }
        var calls = turn.Calls ?? [];
        for (var i = 0; i < calls.Length; i++)
        {
            var arguments = JsonSerializer.Serialize(calls[i].Arguments);
            var callId = $"call_{toolResults}_{i}";
            frames.Add(Chunk(new { tool_calls = new[] { new { index = i, id = callId, type = "function", function = new { name = calls[i].Name, arguments = "" } } } }));
            foreach (var fragment in Pieces(arguments, turn.ArgumentChunk))
            {
                frames.Add(Chunk(new { tool_calls = new[] { new { index = i, function = new { arguments = fragment } } } }));
            }
        }
        frames.Add(Chunk(new { }, turn.Finish ?? (calls.Length > 0 ? "tool_calls" : "stop")));
        frames.Add(JsonSerializer.Serialize(new
        {
            id, @object = "chat.completion.chunk", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, choices = Array.Empty<object>(),
            usage = new
            {
                prompt_tokens = turn.PromptTokens, completion_tokens = turn.CompletionTokens, total_tokens = turn.PromptTokens + turn.CompletionTokens,
                prompt_tokens_details = new { cached_tokens = turn.CachedTokens },
                completion_tokens_details = new { reasoning_tokens = turn.ReasoningTokens },
            },
        }));
        frames.Add("[DONE]");
        var sent = 0;
        foreach (var frame in frames)
        {
            if (failing && turn.CutStream && sent >= frames.Count / 2)
            {
                // The connection drops half-way, as a proxy or the provider's edge sometimes does — after the client has
                // read what was sent (a reset discards data still unread in the client's socket buffer).
                await Task.Delay(300);
                http.Abort();
                return;
            }
            await http.Response.WriteAsync($"data: {frame}\n\n", Encoding.UTF8);
            await http.Response.Body.FlushAsync();
            sent++;
            if (turn.ArgumentGapMs > 0 && frame.Contains("\"arguments\"", StringComparison.Ordinal) && !frame.Contains("\"id\":\"call_", StringComparison.Ordinal))
            {
                ArgumentSentAt.Enqueue((marker, System.Diagnostics.Stopwatch.GetTimestamp()));
                await Task.Delay(turn.ArgumentGapMs);
            }
        }
    }

    private static string Content(JsonElement message) =>
        message.TryGetProperty("content", out var content) ? content.ValueKind switch
        {
            JsonValueKind.String => content.GetString() ?? "",
            JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")),
            _ => "",
        } : "";

    private static IEnumerable<string> Pieces(string text, int size = 8)
    {
        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
