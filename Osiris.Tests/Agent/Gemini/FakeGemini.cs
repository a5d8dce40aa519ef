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

    public sealed record Request(string Path, string Query, string? ApiKey, JsonElement Body);

    private sealed record Reply(int Status, string ContentType, string Body);

    public ConcurrentQueue<Request> Requests { get; } = new();

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
            fake.Requests.Enqueue(new Request(context.Request.Path, context.Request.QueryString.Value ?? "",
                context.Request.Headers["x-goog-api-key"].FirstOrDefault(), body.RootElement.Clone()));
            if (!fake._replies.TryDequeue(out var reply))
            {
                reply = new Reply(500, "application/json", """{"error":{"code":500,"message":"no canned reply left","status":"INTERNAL"}}""");
            }
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = reply.ContentType;
            await context.Response.WriteAsync(reply.Body);
        });
        await app.StartAsync();
        return fake;
    }

    public void ReplyJson(string json, int status = 200) => _replies.Enqueue(new Reply(status, "application/json; charset=UTF-8", json));

    /// <summary>One <c>data:</c> event per chunk, separated the way Gemini separates them (CRLF CRLF).</summary>
    public void ReplyStream(params string[] chunks)
    {
        var body = new StringBuilder();
        foreach (var chunk in chunks)
        {
            body.Append("data: ").Append(JsonSerializer.Serialize(JsonDocument.Parse(chunk).RootElement)).Append("\r\n\r\n");
        }
        _replies.Enqueue(new Reply(200, "text/event-stream", body.ToString()));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
