using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>
/// The built Osiris.Web run as its own process, for settings the AppHost does not give it (listening beyond loopback).
/// It talks to the fixture's API like the AppHost's web resource does.
/// </summary>
public sealed class WebProcess : IAsyncDisposable
{
    private readonly Process _process;

    private WebProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public Uri Loopback => new($"http://127.0.0.1:{Port}/");

    /// <param name="settings">More environment for the web (e.g. <c>Osiris__SignInPerMinute</c>).</param>
    public static async Task<WebProcess> StartAsync(Uri api, string serviceKey, params (string Key, string Value)[] settings)
    {
        var port = FreePort();
        var dll = Path.Combine(Repository.Root, "Osiris.Web", "bin", Repository.Configuration, "net10.0", "Osiris.Web.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built; the AppHost build builds it.");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_URLS"] = $"http://0.0.0.0:{port}",
                // Development serves the static web assets from the project folder, as `dotnet run` does.
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["Osiris__ServiceKey"] = serviceKey,
                ["Osiris__ApiBaseAddress"] = api.ToString().TrimEnd('/'),
            },
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var web = new WebProcess(process, port);

        using var http = new HttpClient { BaseAddress = web.Loopback };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var alive = await http.GetAsync("/alive");
                if (alive.StatusCode == HttpStatusCode.OK)
                {
                    return web;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }
            Assert.False(process.HasExited, "Osiris.Web exited at start");
            Assert.True(DateTime.UtcNow < deadline, "Osiris.Web did not answer /alive within 60 s");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
