using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using Osiris.McpServer;

namespace Osiris.Tests.McpServer;

/// <summary>
/// The real MCP server in-process on real Kestrel (random loopback port), with a temporary workspaces folder,
/// its own knowledge index and a test token. Clients are the SDK's own <see cref="McpClient"/> over Streamable HTTP.
/// </summary>
public class McpServerHost : WebApplicationFactory<McpServerAssembly>
{
    private readonly (string Key, string Value)[] _settings;

    public McpServerHost(params (string Key, string Value)[] settings)
    {
        _settings = settings;
        Directory.CreateDirectory(WorkspacesRoot);
        UseKestrel(0);
        StartServer();
        BaseUrl = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    // One parent per user: a folder left by another user (say root) must not block this run.
    public string Temp { get; } = Path.Combine(Path.GetTempPath(), $"osiris-mcp-tests-{Environment.UserName}", Guid.NewGuid().ToString("N"));
    public string WorkspacesRoot => Path.Combine(Temp, "workspaces");
    public string Token { get; } = "token-" + Guid.NewGuid().ToString("N");
    public string BaseUrl { get; }
    public Uri Endpoint => new($"{BaseUrl}/mcp");

    public string WorkspaceOf(Guid task) => Path.Combine(WorkspacesRoot, task.ToString("D"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Workspaces:Root", WorkspacesRoot);
        builder.UseSetting("Osiris:McpToken", Token);
        builder.UseSetting("Logging:LogLevel:ModelContextProtocol", "Warning");
        builder.UseSetting("ConnectionStrings:osiris", $"Data Source={Path.Combine(Temp, "osiris.db")}");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public Task<McpClient> ConnectAsync(Guid task, CancellationToken cancellationToken = default) =>
        ConnectAsync(new Dictionary<string, string> { ["Authorization"] = $"Bearer {Token}", ["X-Osiris-Task"] = task.ToString() }, cancellationToken);

    public async Task<McpClient> ConnectAsync(Dictionary<string, string> headers, CancellationToken cancellationToken = default)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
        });
        return await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cancellationToken);
    }

    public HttpClient RawClient(string? token = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(Temp, recursive: true);
        }
        catch (IOException)
        {
            // a sandboxed command may still be releasing a file; the folder is under /tmp
        }
    }
}
