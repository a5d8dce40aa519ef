using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using Osiris.McpServer.Sandbox;
using Osiris.Tests.Fixtures;
using Osiris.Tests.McpServer;

namespace Osiris.Tests.Security;

/// <summary>
/// A hostile workload against the real sandbox (bubblewrap, seccomp, cgroups, quotas), through run_command as the
/// agent calls it: no nested user namespaces, no tracing, a capped /tmp, and a workspace that cannot fill the disk.
/// </summary>
public sealed class SandboxHardeningTests : IClassFixture<SandboxHardeningTests.Server>, IAsyncLifetime
{
    private const long Quota = 32L * 1024 * 1024;
    private const long PerFileCap = 64L * 1024 * 1024;

    /// <summary>Tests use a 32 MiB quota (CI disks can be small) and a 16 MiB /tmp; the per-file cap stays the default.</summary>
    public sealed class Server() : McpServerHost(
        ("Workspaces:QuotaBytes", Quota.ToString()),
        ("Sandbox:TmpSizeBytes", (16 * 1024 * 1024).ToString()));

    private readonly Server _server;
    private readonly Guid _task = Guid.NewGuid();
    private ModelContextProtocol.Client.McpClient _client = null!;

    public SandboxHardeningTests(Server server) => _server = server;

    public async ValueTask InitializeAsync()
    {
        OptionalSoftware.Require(OptionalSoftware.OnPath("bwrap") is not null, "bubblewrap", CommandRunner.InstallHint);
        _client = await _server.ConnectAsync(_task, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
    }

    private async Task<(int? ExitCode, string Text)> Run(string command, int timeoutSeconds = 60)
    {
        var result = await _client.CallAsync("run_command", new { command, timeoutSeconds });
        var structured = result.Structured();
        return (structured.GetProperty("exitCode").ValueKind == JsonValueKind.Number ? structured.GetProperty("exitCode").GetInt32() : null, result.Text());
    }

    [Fact]
    public async Task TheSandboxReportsItselfWhole()
    {
        using var http = _server.RawClient();
        var health = await http.GetFromJsonAsync<JsonElement>("/health/sandbox", TestContext.Current.CancellationToken);
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ANestedUserNamespaceCannotBeCreated()
    {
        var (exit, text) = await Run("unshare -Ur id -u; echo \"rc=$?\"");
        Assert.Equal(0, exit); // the shell itself finishes; unshare fails inside it
        Assert.DoesNotContain("rc=0", text);
        Assert.DoesNotMatch(@"(?m)^0$", text); // never root inside a namespace of its own
    }

    [Fact]
    public async Task TracingMemoryPeekingAndMountingAreRefusedBySeccomp()
    {
        var ptrace = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 117 : 101;
        var vmRead = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 270 : 310;
        // PTRACE_ATTACH (16) on its own child, which Linux otherwise allows; process_vm_readv on the same child.
        var probe = $$"""
            perl -e 'my $pid = fork(); if ($pid == 0) { sleep 10; exit 0 }
              my $r = syscall({{ptrace}}, 16, $pid, 0, 0); print "ptrace=$r errno=", ($!+0), "\n";
              $r = syscall({{vmRead}}, $pid, 0, 0, 0, 0, 0); print "vm_readv=$r errno=", ($!+0), "\n";
              kill 9, $pid; waitpid($pid, 0);'
            """;
        var (_, text) = await Run(probe);
        Assert.Contains("ptrace=-1 errno=1", text);    // EPERM from the filter
        Assert.Contains("vm_readv=-1 errno=1", text);

        var (_, mount) = await Run("mount -t tmpfs none /workspace 2>&1; echo \"rc=$?\"");
        Assert.DoesNotContain("rc=0", mount);
    }

    [Fact]
    public async Task FillingTmpStopsAtItsCap()
    {
        var (_, text) = await Run("head -c 64M /dev/zero 2>&1 > /tmp/fill; echo \"rc=$?\"; stat -c %s /tmp/fill");
        Assert.Contains("No space left on device", text);
        var size = long.Parse(text.Trim().Split('\n')[^1].Trim());
        Assert.True(size <= 16L * 1024 * 1024, $"/tmp held {size} bytes");
    }

    [Fact]
    public async Task FillingTheWorkspaceStopsAtTheQuotaAndWriteFileRefusesUntilThereIsRoom()
    {
        var workspace = _server.WorkspaceOf(_task);
        var result = await _client.CallAsync("run_command",
            new { command = "i=0; while true; do head -c 50M /dev/zero > f$i; i=$((i+1)); done", timeoutSeconds = 120 });
        Assert.True(result.IsError);
        Assert.Contains("disk quota", result.Text());

        var used = Directory.EnumerateFiles(workspace, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var overshoot = used - Quota;
        TestContext.Current.TestOutputHelper?.WriteLine($"workspace quota {Quota >> 20} MiB: {used / 1048576.0:0.0} MiB on disk after the stop, overshoot {overshoot / 1048576.0:0.0} MiB");
        Assert.True(overshoot <= PerFileCap, $"overshoot {overshoot} bytes is over the per-file cap");

        (await _client.CallAsync("write_file", new { path = "more.txt", content = "x" })).AssertRefused("disk quota");
        var (exit, _) = await Run("rm -f f*");
        Assert.Equal(0, exit);
        (await _client.CallAsync("write_file", new { path = "more.txt", content = "room again" })).AssertSucceeded();
    }

    [Fact]
    public async Task TheHostsFreeSpaceAndOtherWorkspacesAreUntouched()
    {
        await using var neighbour = await _server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        (await neighbour.CallAsync("write_file", new { path = "keep.txt", content = "neighbour data" })).AssertSucceeded();
        var before = new DriveInfo(_server.Temp).AvailableFreeSpace;
        await _client.CallAsync("run_command", new { command = "while true; do head -c 20M /dev/zero > g$RANDOM; done", timeoutSeconds = 60 });
        var after = new DriveInfo(_server.Temp).AvailableFreeSpace;
        Assert.True(before - after < Quota + PerFileCap, $"the host lost {(before - after) >> 20} MiB");
        (await neighbour.CallAsync("read_file", new { path = "keep.txt" })).AssertSucceeded();
        await Run("rm -f g*");
    }
}

/// <summary>Without bubblewrap the server says so in its health, with the install command.</summary>
public sealed class MissingSandboxTests : IClassFixture<MissingSandboxTests.Server>
{
    public sealed class Server() : McpServerHost(("Sandbox:BwrapPath", "/nonexistent/bwrap"));

    private readonly Server _server;

    public MissingSandboxTests(Server server) => _server = server;

    [Fact]
    public async Task HealthIsDegradedWithTheInstallCommand()
    {
        using var http = _server.RawClient();
        var health = await http.GetFromJsonAsync<JsonElement>("/health/sandbox", TestContext.Current.CancellationToken);
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains("sandbox unavailable (apt-get install -y bubblewrap)", health.GetProperty("description").GetString());
        // Degraded is still healthy. (Right after a first start the server is not healthy until it has created its
        // knowledge database, which it does in the background: that is waited for here.)
        var overall = System.Net.HttpStatusCode.ServiceUnavailable;
        for (var attempt = 0; attempt < 100 && overall != System.Net.HttpStatusCode.OK; attempt++)
        {
            overall = (await http.GetAsync("/health", TestContext.Current.CancellationToken)).StatusCode;
            await Task.Delay(overall == System.Net.HttpStatusCode.OK ? 0 : 100, TestContext.Current.CancellationToken);
        }
        Assert.Equal(System.Net.HttpStatusCode.OK, overall);
    }
}

/// <summary>
/// A folder given with <c>--root</c> that root owns: commands never run as root, so the folder is handed to the sandbox
/// user and commands can write into it (run by root, as here and on CI; otherwise commands run as the server's user).
/// </summary>
public sealed class RootOwnedFixedRootTests : IClassFixture<RootOwnedFixedRootTests.Server>
{
    public sealed class Server() : McpServerHost(("Workspaces:FixedRoot", Folder))
    {
        public static readonly string Folder = Directory.CreateTempSubdirectory("osiris-fixed-root-").FullName;
    }

    private readonly Server _server;

    public RootOwnedFixedRootTests(Server server) => _server = server;

    [Fact]
    public async Task CommandsCanWriteIntoTheFolderAndNeverRunAsRoot()
    {
        OptionalSoftware.Require(OptionalSoftware.OnPath("bwrap") is not null, "bubblewrap", CommandRunner.InstallHint);
        File.WriteAllText(Path.Combine(Server.Folder, "existing.txt"), "made by the owner\n");
        await using var client = await _server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        var result = await client.CallAsync("run_command", new { command = "echo more >> existing.txt && touch new.txt && id -u" });
        result.AssertSucceeded();
        Assert.Equal("made by the owner\nmore\n", File.ReadAllText(Path.Combine(Server.Folder, "existing.txt")));
        Assert.True(File.Exists(Path.Combine(Server.Folder, "new.txt")));
        Assert.DoesNotMatch(@"(?m)^0$", result.Text());
        Directory.Delete(Server.Folder, recursive: true);
    }
}
