using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Tests.Agent;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Faults;

/// <summary>
/// OSIRIS as a small cluster on one machine: PostgreSQL and Redis (local mode), two API replicas, two agents and two
/// MCP servers behind the AppHost's endpoints, short leases (4 s), and OpenAI played by a local server that answers
/// at once, so that faults, not the model, set the pace. The tests stop, start and kill its pieces.
/// </summary>
public sealed class FaultFixture() : BackboneFixture("local")
{
    public FakeOpenAI OpenAI { get; private set; } = null!;

    protected override bool AgentEnabled => true;

    protected override async Task<IEnumerable<string>> ExtraArgumentsAsync()
    {
        OpenAI = await FakeOpenAI.StartAsync();
        return
        [
            "--Osiris:Replicas:Api=2", "--Osiris:Replicas:Agent=2", "--Osiris:Replicas:McpServer=2",
            "--Parameters:openai-api-key=test-openai-key", $"--Parameters:openai-endpoint={OpenAI.BaseUrl}",
        ];
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ResourceEvent> _states = new();
    private readonly CancellationTokenSource _watching = new();

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        if (Available)
        {
            // Every replica's latest state, as the dashboard sees it (resource id, e.g. api-x7d2k, and its process id).
            _ = Task.Run(async () =>
            {
                await foreach (var e in Osiris.App.ResourceNotifications.WatchAsync(_watching.Token))
                {
                    _states[e.ResourceId] = e;
                }
            });
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (Processes("api").Count < 2 || Processes("agent").Count < 2 || Processes("mcpserver").Count < 2)
            {
                await Task.Delay(100, timeout.Token);
            }
        }
    }

    /// <summary>A knowledge indexer's claim on a document lasts 4 s here (5 minutes by default), so a dead indexer's work moves on quickly.</summary>
    protected override void Configure(IDistributedApplicationTestingBuilder builder)
    {
        var mcp = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "mcpserver");
        builder.CreateResourceBuilder(mcp).WithEnvironment("Knowledge__ClaimDuration", "00:00:04");
    }

    /// <summary>The running processes of a service's replicas (resource id and process id), from the AppHost's own view.</summary>
    public IReadOnlyList<(string Name, int Pid)> Processes(string service) =>
        [.. _states.Values
            .Where(e => e.Resource.Name == service && e.Snapshot.State?.Text == KnownResourceStates.Running)
            .Select(e => (e.ResourceId, Pid: e.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value))
            .Where(x => x.Pid is not null && int.TryParse(x.Pid.ToString(), out _))
            .Select(x => (x.ResourceId, ServiceProcess(int.Parse(x.Pid!.ToString()!, System.Globalization.CultureInfo.InvariantCulture))))
            .OrderBy(x => x.ResourceId, StringComparer.Ordinal)];

    /// <summary>
    /// The service itself: the AppHost starts a project through <c>dotnet run</c>, whose child is the service's own
    /// process. Killing only the launcher would leave the service running, orphaned.
    /// </summary>
    private static int ServiceProcess(int launcher)
    {
        var children = $"/proc/{launcher}/task/{launcher}/children";
        if (!File.Exists(children))
        {
            return launcher;
        }
        foreach (var child in File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.ReadAllText($"/proc/{child}/comm").StartsWith("Osiris", StringComparison.Ordinal))
            {
                return int.Parse(child, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return launcher;
    }

    /// <summary>Each running replica's own address (not the AppHost's shared endpoint), to talk to one replica on purpose.</summary>
    public IReadOnlyList<HttpClient> ReplicaClients(string service) =>
        [.. _states.Values
            .Where(e => e.Resource.Name == service && e.Snapshot.State?.Text == KnownResourceStates.Running)
            .OrderBy(e => e.ResourceId, StringComparer.Ordinal)
            .Select(e => e.Snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value?.Split(';')[0])
            .Where(url => !string.IsNullOrEmpty(url))
            .Select(url => new HttpClient { BaseAddress = new Uri(url!), Timeout = TimeSpan.FromSeconds(60) })];

    /// <summary>kill -9: no shutdown, no goodbye, as when a machine or a container dies.</summary>
    public static void Kill(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
        process.WaitForExit(10_000);
    }

    /// <summary>The dashboard's Stop, Start or Restart command (what a person would press), for one resource or replica.</summary>
    public async Task CommandAsync(string resource, string command)
    {
        var commands = Osiris.App.Services.GetRequiredService<ResourceCommandService>();
        var result = await commands.ExecuteCommandAsync(resource, command, TestContext.Current.CancellationToken);
        Assert.True(result.Success, $"{command} {resource}: {result.Message}");
    }

    /// <summary>
    /// The dashboard's Start for a replica that was killed, once the AppHost has seen it exit: a Start pressed while
    /// the AppHost still counts the dead process as running starts nothing, and the replica stays away.
    /// </summary>
    public async Task StartAgainAsync(string replica)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (_states.TryGetValue(replica, out var e) && e.Snapshot.State?.Text == KnownResourceStates.Running)
        {
            await Task.Delay(100, timeout.Token);
        }
        await CommandAsync(replica, KnownResourceCommands.StartCommand);
    }

    /// <summary>
    /// Waits until every replica of the service runs, each answers <c>/alive</c> at its own address, and the service
    /// is healthy again (after a kill or a restart). Until then a replica's address may be the dead process's.
    /// </summary>
    public async Task WaitForAllAsync(string service, int replicas = 2)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (Processes(service) is var running && (running.Count < replicas || !running.All(p => Directory.Exists($"/proc/{p.Pid}"))
               || !await AllAnswerAsync(ReplicaClients(service), replicas, timeout.Token)))
        {
            await Task.Delay(200, timeout.Token);
        }
        await Osiris.App.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
    }

    private static async Task<bool> AllAnswerAsync(IReadOnlyList<HttpClient> clients, int replicas, CancellationToken ct)
    {
        try
        {
            if (clients.Count < replicas)
            {
                return false;
            }
            foreach (var client in clients)
            {
                try
                {
                    using var alive = await client.GetAsync("/alive", ct);
                    if (!alive.IsSuccessStatusCode)
                    {
                        return false;
                    }
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }
            return true;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary><see cref="ReplicaClients"/> once every replica answers at its address.</summary>
    public async Task<IReadOnlyList<HttpClient>> ReplicaClientsAsync(string service)
    {
        await WaitForAllAsync(service);
        return ReplicaClients(service);
    }

    public override async ValueTask DisposeAsync()
    {
        await _watching.CancelAsync();
        await base.DisposeAsync();
        if (OpenAI is not null)
        {
            await OpenAI.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCluster : ICollectionFixture<FaultFixture>
{
    public const string Name = "Two of everything, with faults";
}
