using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmtpServer;
using SmtpServer.Storage;

namespace Osiris.Tests.Fixtures;

/// <summary>A local stand-in for Meta's Graph API messages endpoint that records what OSIRIS sends.</summary>
public sealed class FakeGraphApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeGraphApi(WebApplication app) => _app = app;

    public ConcurrentQueue<(string PhoneNumberId, string? Authorization, JsonElement Body)> Requests { get; } = new();

    /// <summary>How many next requests to each recipient answer 500 before the endpoint recovers for them.</summary>
    public ConcurrentDictionary<string, int> Failures { get; } = new();

    public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<FakeGraphApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeGraphApi(app);
        app.MapPost("/{phoneNumberId}/messages", async (string phoneNumberId, HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            fake.Requests.Enqueue((phoneNumberId, request.Headers.Authorization.ToString(), body.RootElement.Clone()));
            var to = body.RootElement.GetProperty("to").GetString() ?? "";
            if (fake.Failures.AddOrUpdate(to, -1, (_, left) => left - 1) >= 0)
            {
                return Results.Json(new { error = new { message = "temporarily unavailable", code = 2 } }, statusCode: 500);
            }
            return Results.Json(new { messaging_product = "whatsapp", messages = new[] { new { id = "wamid.out." + Guid.NewGuid().ToString("N") } } });
        });
        await app.StartAsync();
        return fake;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>A real SMTP server on loopback (the SmtpServer package) that keeps every message it receives.</summary>
public sealed class FakeSmtpServer : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private FakeSmtpServer(int port) => Port = port;

    public int Port { get; }
    public ConcurrentQueue<MimeMessage> Messages { get; } = new();

    public static FakeSmtpServer Start()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var fake = new FakeSmtpServer(port);
        var options = new SmtpServerOptionsBuilder().ServerName("localhost").Port(port).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(fake));
        _ = new SmtpServer.SmtpServer(options, services).StartAsync(fake._stop.Token);
        return fake;
    }

    public void Dispose() => _stop.Cancel();

    private sealed class Store(FakeSmtpServer owner) : MessageStore
    {
        public override async Task<SmtpServer.Protocol.SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            await using var stream = new MemoryStream(buffer.ToArray());
            owner.Messages.Enqueue(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpServer.Protocol.SmtpResponse.Ok;
        }
    }
}
