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

namespace Osiris.Tests.Agent.Gemini;

/// <summary>
/// A local stand-in for the Gemini API (generativelanguage.googleapis.com/v1beta) that records each request and answers
/// with the next canned reply in Gemini's own wire format: a JSON body, or server-sent events as <c>alt=sse</c> sends them.
/// </summary>
public sealed class FakeGemini : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Reply> _replies = new();

    private FakeGemini(WebApplication app) => _app = app;

    /// <param name="At">When it arrived (a Stopwatch timestamp), to check retry delays.</param>
    public sealed record Request(string Path, string Query, string? ApiKey, JsonElement Body, long At = 0);

    private sealed record Reply(int Status, string ContentType, string Body, int DelayMs = 0, double? RetryAfterSeconds = null);

    private readonly ConcurrentDictionary<string, Func<int, string[]>> _scripts = new();

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>Requests refused with a 400 because they broke a rule the real API enforces (<see cref="GeminiRules"/>).</summary>
    public ConcurrentQueue<string> Refused { get; } = new();

    /// <summary>
    /// Scripts the conversations whose user text contains <paramref name="marker"/>: the streamed chunks of the turn,
    /// chosen by how many function responses the request already carries. Requests of other conversations take the
    /// queued replies.
    /// </summary>
    public void Script(string marker, Func<int, string[]> turns) => _scripts[marker] = turns;

    public IReadOnlyList<JsonElement> RequestsFor(string marker) =>
        Requests.Where(r => r.Body.GetRawText().Contains(marker, StringComparison.Ordinal)).Select(r => r.Body).ToList();

    public Uri Endpoint => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1beta");

    public static async Task<FakeGemini> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeGemini(app);
        app.Run(async context =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var request = body.RootElement.Clone();
            fake.Requests.Enqueue(new Request(context.Request.Path, context.Request.QueryString.Value ?? "",
                context.Request.Headers["x-goog-api-key"].FirstOrDefault(), request, System.Diagnostics.Stopwatch.GetTimestamp()));
            if (GeminiRules.Check(request) is { } violation)
            {
                fake.Refused.Enqueue(violation);
                context.Response.StatusCode = 400;
                context.Response.ContentType = "application/json; charset=UTF-8";
                await context.Response.WriteAsync(GeminiRules.ErrorBody(violation));
                return;
            }
            var scripted = fake.Scripted(request);
            if (scripted is null && !fake._replies.TryDequeue(out scripted))
            {
                scripted = new Reply(500, "application/json", """{"error":{"code":500,"message":"no canned reply left","status":"INTERNAL"}}""");
            }
            var reply = scripted;
            if (reply.DelayMs > 0)
            {
                await Task.Delay(reply.DelayMs, context.RequestAborted);
            }
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = reply.ContentType;
            await context.Response.WriteAsync(reply.Body);
        });
        await app.StartAsync();
        return fake;
    }

    public void ReplyJson(string json, int status = 200) => _replies.Enqueue(new Reply(status, "application/json; charset=UTF-8", json));

    /// <summary>A 429 as Gemini sends it when a quota is exhausted, with the delay in a <c>RetryInfo</c> detail.</summary>
    public void ReplyRateLimited(double retryDelaySeconds) => _replies.Enqueue(new Reply(429, "application/json; charset=UTF-8", RateLimited(retryDelaySeconds)));

    public static string RateLimited(double retryDelaySeconds) => JsonSerializer.Serialize(new
    {
        error = new
        {
            code = 429,
            message = "You exceeded your current quota, please check your plan and billing details.",
            status = "RESOURCE_EXHAUSTED",
            details = new object[]
            {
                new Dictionary<string, object> { ["@type"] = "type.googleapis.com/google.rpc.QuotaFailure", ["violations"] = Array.Empty<object>() },
                new Dictionary<string, object> { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = $"{retryDelaySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}s" },
            },
        },
    });

    /// <summary>A stream whose first chunk comes only after <paramref name="delayMs"/> (a model thinking before it answers).</summary>
    public void ReplyStreamAfter(int delayMs, params string[] chunks) => _replies.Enqueue(new Reply(200, "text/event-stream", StreamBody(chunks), delayMs));

    private Reply? Scripted(JsonElement request)
    {
        var text = string.Concat(request.GetProperty("contents").EnumerateArray()
            .Where(c => !c.TryGetProperty("role", out var r) || r.GetString() == "user")
            .SelectMany(c => c.GetProperty("parts").EnumerateArray())
            .Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : ""));
        var marker = _scripts.Keys.FirstOrDefault(text.Contains);
        if (marker is null)
        {
            return null;
        }
        var responses = request.GetProperty("contents").EnumerateArray()
            .SelectMany(c => c.GetProperty("parts").EnumerateArray()).Count(p => p.TryGetProperty("functionResponse", out _));
        var hasTools = request.TryGetProperty("tools", out _);
        var chunks = hasTools ? _scripts[marker](responses) : [GeminiReplies.Text("1. Look.\n2. Work.\n3. Report.", "STOP")];
        if (chunks.Length == 1 && chunks[0].StartsWith("429:", StringComparison.Ordinal))
        {
            return new Reply(429, "application/json; charset=UTF-8", RateLimited(double.Parse(chunks[0][4..], System.Globalization.CultureInfo.InvariantCulture)));
        }
        var delay = chunks.Length > 0 && chunks[0].StartsWith("delay:", StringComparison.Ordinal) ? int.Parse(chunks[0][6..], System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new Reply(200, "text/event-stream", StreamBody(delay > 0 ? chunks[1..] : chunks), delay);
    }

    /// <summary>One <c>data:</c> event per chunk, separated the way Gemini separates them (CRLF CRLF).</summary>
    public void ReplyStream(params string[] chunks) => _replies.Enqueue(new Reply(200, "text/event-stream", StreamBody(chunks)));

    private static string StreamBody(string[] chunks)
    {
        var body = new StringBuilder();
        foreach (var chunk in chunks)
        {
            body.Append("data: ").Append(JsonSerializer.Serialize(JsonDocument.Parse(chunk).RootElement)).Append("\r\n\r\n");
        }
        return body.ToString();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
