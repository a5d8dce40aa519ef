using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Osiris.McpServer.Sandbox;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.McpServer;

/// <summary>
/// Hostile commands of issue 5 through run_command. Each gets a clear result; the host (a file outside every
/// workspace, /usr) and another task's workspace stay untouched, and the machine stays responsive.
/// </summary>
public sealed class SandboxTests : IClassFixture<SandboxTests.Server>, IAsyncLifetime
{
    public sealed class Server() : McpServerHost(
        ("Sandbox:MaxFileSizeBytes", (8 * 1024 * 1024).ToString()),
        ("Sandbox:MaxOutputBytes", (32 * 1024).ToString()),
        ("Sandbox:MaxProcesses", "64"));

    private readonly Server _server;
    private readonly Guid _task = Guid.NewGuid();
    private readonly Guid _neighbour = Guid.NewGuid();
    private ModelContextProtocol.Client.McpClient _client = null!;
    private string _hostSentinel = "";

    public SandboxTests(Server server) => _server = server;

    public async ValueTask InitializeAsync()
    {
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap") || OptionalSoftware.OnPath("bwrap") is not null, "bubblewrap", CommandRunner.InstallHint);
        _client = await _server.ConnectAsync(_task, TestContext.Current.CancellationToken);
        await using var neighbour = await _server.ConnectAsync(_neighbour, TestContext.Current.CancellationToken);
        (await neighbour.CallAsync("write_file", new { path = "keep.txt", content = "neighbour data" })).AssertSucceeded();
        (await _client.CallAsync("write_file", new { path = "work/file.txt", content = "my data" })).AssertSucceeded();
        _hostSentinel = Path.Combine(_server.Temp, "host-sentinel.txt");
        File.WriteAllText(_hostSentinel, "host data");
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
    }

    private Task<ModelContextProtocol.Protocol.CallToolResult> Run(string command, int timeoutSeconds = 20) =>
        _client.CallAsync("run_command", new { command, timeoutSeconds });

    private async Task AssertHostAndNeighbourUntouchedAndResponsive()
    {
        Assert.Equal("host data", File.ReadAllText(_hostSentinel));
        Assert.Equal("neighbour data", File.ReadAllText(Path.Combine(_server.WorkspaceOf(_neighbour), "keep.txt")));
        Assert.True(File.Exists("/usr/bin/env"));
        var clock = Stopwatch.StartNew();
        var echo = await Run("echo still-alive", 10);
        Assert.Contains("still-alive", echo.Text());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a trivial command took {clock.Elapsed}");
    }

    [Fact]
    public async Task ASimpleCommandRunsInTheWorkspaceAsAnUnprivilegedUser()
    {
        var result = await Run("pwd; id -u; cat work/file.txt; echo oops >&2; exit 3");
        var json = result.Structured();
        Assert.Equal(3, json.GetProperty("exitCode").GetInt32());
        Assert.True(json.GetProperty("sandboxed").GetBoolean());
        var output = json.GetProperty("output").GetString()!;
        Assert.StartsWith("/workspace\n65534\n", output);
        Assert.Contains("my data", output);
        Assert.Contains("oops", output);
        Assert.True(json.GetProperty("durationMs").GetInt64() >= 0);
    }

    [Fact]
    public async Task RmRfOfTheRootIsRefusedByPolicy()
    {
        var result = await Run("rm -rf --no-preserve-root /");
        result.AssertRefused("Refused by policy");
        Assert.Equal("my data", File.ReadAllText(Path.Combine(_server.WorkspaceOf(_task), "work/file.txt")));
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task ADisguisedRmRfOfTheRootWipesOnlyItsOwnWorkspace()
    {
        var result = await Run("R=rm; $R -rf --no-preserve-root / 2>/dev/null; echo wiped-what-it-could", 60);
        Assert.Contains("wiped-what-it-could", result.Text());
        Assert.False(File.Exists(Path.Combine(_server.WorkspaceOf(_task), "work/file.txt")));
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task TheClassicForkBombIsRefusedByPolicy()
    {
        (await Run(":(){ :|:& };:")).AssertRefused("fork bomb");
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task ADisguisedForkBombHitsTheProcessCapAndTheTimeout()
    {
        var clock = Stopwatch.StartNew();
        var result = await Run("bomb() { bomb & bomb; }; bomb", 5);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var json = result.Structured();
        Assert.True(json.GetProperty("timedOut").GetBoolean() || json.GetProperty("exitCode").ValueKind == System.Text.Json.JsonValueKind.Number,
            result.Text());
        Assert.Equal(0, ProcessesOfSandboxUser());
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task YesIntoAFileStopsAtTheFileSizeCap()
    {
        var result = await Run("yes > big; echo \"exit=$?\"", 60);
        Assert.Contains("exit=153", result.Text()); // 128 + SIGXFSZ
        Assert.True(new FileInfo(Path.Combine(_server.WorkspaceOf(_task), "big")).Length <= 8 * 1024 * 1024);
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task ATenGigabyteAllocationFailsAtTheMemoryCap()
    {
        var clock = Stopwatch.StartNew();
        var result = await Run("head -c 10G /dev/zero | tail > /dev/null; echo \"exit=${PIPESTATUS[1]}\"", 60);
        Assert.DoesNotContain("exit=0", result.Text());
        Assert.Matches("exit=[1-9]", result.Text());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"took {clock.Elapsed}");
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task ADetachedSleepDoesNotOutliveItsCommand()
    {
        var result = await Run("setsid sleep 987 & echo started");
        Assert.Contains("started", result.Text());
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.False(HostRuns("sleep 987"), "the detached sleep survived its command");
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task TheTimeoutKillsTheWholeTreeIncludingDetachedChildren()
    {
        var clock = Stopwatch.StartNew();
        var result = await Run("setsid sleep 986 & sleep 985", 2);
        Assert.True(result.Structured().GetProperty("timedOut").GetBoolean(), result.Text());
        Assert.Contains("timeout", result.Text());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.False(HostRuns("sleep 986") || HostRuns("sleep 985"), "a process survived the timeout");
    }

    [Fact]
    public async Task TheNetworkIsUnreachableThroughDevTcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var result = await Run($"(echo hi > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected || echo blocked; " +
                               "(echo hi > /dev/tcp/1.1.1.1/80) 2>/dev/null && echo connected || echo blocked", 20);
        Assert.DoesNotContain("connected", result.Text());
        Assert.Equal(2, result.Text().Split("blocked").Length - 1);
        Assert.False(listener.Pending(), "a connection reached the host");
    }

    [Fact]
    public async Task ProcOneEnvironShowsNoServerSecrets()
    {
        Environment.SetEnvironmentVariable("OSIRIS_CANARY_SECRET", "canary-7f3a");
        var result = await Run("tr '\\0' '\\n' < /proc/1/environ; echo ---; env");
        Assert.Contains("---", result.Text());
        Assert.DoesNotContain("canary-7f3a", result.Text());
        Assert.DoesNotContain(_server.Token, result.Text());
    }

    [Fact]
    public async Task EndlessOutputIsCutAtTheCapAndStopped()
    {
        var clock = Stopwatch.StartNew();
        var result = await Run("yes this-never-ends", 60);
        var json = result.Structured();
        Assert.True(json.GetProperty("outputTruncated").GetBoolean(), result.Text());
        Assert.True(json.GetProperty("output").GetString()!.Length <= 32 * 1024);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Contains("cap", result.Text());
        await AssertHostAndNeighbourUntouchedAndResponsive();
    }

    [Fact]
    public async Task SystemFoldersAreReadOnlyInside()
    {
        var result = await Run("touch /usr/evil 2>&1; echo x > /etc/evil 2>&1; echo done");
        Assert.Contains("Read-only file system", result.Text());
        Assert.False(File.Exists("/usr/evil") || File.Exists("/etc/evil"));
    }

    private static bool HostRuns(string commandLine) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)).Any(pid =>
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim() == commandLine;
            }
            catch (IOException)
            {
                return false;
            }
        });

    private static int ProcessesOfSandboxUser() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)).Count(pid =>
        {
            try
            {
                return File.ReadLines($"/proc/{pid}/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[1] == "65534")
                       && File.ReadAllText($"/proc/{pid}/cmdline").Contains("bash", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
}
