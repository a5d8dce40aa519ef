using System.Diagnostics;
using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Osiris.Tests.Tracing;

namespace Osiris.Tests.Fixtures;

/// <summary>The whole OSIRIS app, started through its AppHost on random ports with a temporary data folder.</summary>
public sealed class OsirisApp : IAsyncDisposable
{
    public static readonly string[] Services = ["api", "agent", "mcpserver", "web"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private OsirisApp(DistributedApplication app, string dataDir, TimeSpan startup, OtlpReceiver traces)
    {
        App = app;
        DataDir = dataDir;
        Startup = startup;
        Traces = traces;
    }

    public DistributedApplication App { get; }

    /// <summary>Every span the services exported (they export here as they would to the Aspire dashboard).</summary>
    public OtlpReceiver Traces { get; }
    public string DataDir { get; }
    public TimeSpan Startup { get; }

    public static Task<OsirisApp> StartAsync(string mode, params string[] extraArgs) => StartAsync(mode, extraArgs, null);

    public static async Task<OsirisApp> StartAsync(string mode, string[] extraArgs, Action<IDistributedApplicationTestingBuilder>? configure)
    {
        var dataDir = Directory.CreateTempSubdirectory("osiris-test-").FullName;
        var stopwatch = Stopwatch.StartNew();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={mode}", $"--Osiris:DataDir={dataDir}", .. extraArgs]);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Osiris.AppHost.Resources.agent", Environment.GetEnvironmentVariable("OSIRIS_TEST_AGENT_LOGS") == "1" ? LogLevel.Information : LogLevel.Warning));
        var traces = await OtlpReceiver.StartAsync();
        traces.ExportFrom(builder);
        configure?.Invoke(builder);

        var app = await builder.BuildAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        await app.StartAsync(cts.Token);
        foreach (var service in Services)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cts.Token);
        }
        return new OsirisApp(app, dataDir, stopwatch.Elapsed, traces);
    }

    /// <summary>
    /// Starts a service that a test stopped, once it has stopped for good (a Start while it is still stopping can fail
    /// to start it), and waits until it is healthy. A service that runs already is left as it is.
    /// </summary>
    public async Task StartAgainAsync(string resource, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var state = await App.ResourceNotifications.WaitForResourceAsync(resource, e => e.Snapshot.State?.Text is { } text
            && (text == Aspire.Hosting.ApplicationModel.KnownResourceStates.Running || Aspire.Hosting.ApplicationModel.KnownResourceStates.TerminalStates.Contains(text)),
            timeout.Token);
        if (state.Snapshot.State?.Text != Aspire.Hosting.ApplicationModel.KnownResourceStates.Running)
        {
            await App.ResourceCommands.ExecuteCommandAsync(resource, Aspire.Hosting.ApplicationModel.KnownResourceCommands.StartCommand, ct);
        }
        await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Traces.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A server may still be flushing; the OS cleans the temp folder.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
