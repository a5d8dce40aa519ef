using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Options;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// Runs one shell command in the sandbox, streaming its lines as they come and enforcing every cap: time, output,
/// processes, memory, CPU, file size, and the workspace's disk quota. The quota is watched from outside (rootless):
/// the workspace is measured every few milliseconds while the command runs, and a command that takes it past the quota
/// is killed; each file is capped at the room left when the command started (at most
/// <see cref="SandboxOptions.MaxFileSizeBytes"/>), which bounds how far past the quota one write can go.
/// </summary>
public sealed class CommandRunner(IOptions<SandboxOptions> options, IOptions<WorkspaceOptions> workspaces, SandboxEnvironment sandbox,
    ILogger<CommandRunner> logger)
{
    public const string InstallHint = "apt-get install -y bubblewrap";

    /// <summary>Whether commands can run at all: bubblewrap is there, or running without it was explicitly allowed.</summary>
    public bool CanRun => Bubblewrap is not null || options.Value.AllowUnsandboxed;

    public string? Bubblewrap => sandbox.Bubblewrap;

    /// <summary>Why the command may not run at all, or null.</summary>
    public string? Refusal(string command)
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            return "The command is empty.";
        }
        if (command.Contains('\0'))
        {
            return "Refused: the command contains a NUL byte.";
        }
        if (CommandPolicy.Refusal(command) is { } policy)
        {
            return policy;
        }
        if (Bubblewrap is null && !options.Value.AllowUnsandboxed)
        {
            return $"run_command needs bubblewrap (bwrap) to isolate commands, and it is not installed. Install it with '{InstallHint}' " +
                   "(or set Sandbox:AllowUnsandboxed=true to run commands without isolation, which is unsafe).";
        }
        return null;
    }

    public async Task<CommandResult> RunAsync(string workspace, string command, int? timeoutSeconds, Action<OutputLine> onLine, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var timeout = TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds ?? settings.DefaultTimeoutSeconds, 1, settings.MaxTimeoutSeconds));
        var bwrap = Bubblewrap;
        using var cgroups = CgroupLimits.TryCreate(settings, out _); // the health check reports why there are none
        // No single file may be larger than the room left in the workspace (nor than the per-file cap).
        var quotaBytes = workspaces.Value.QuotaBytes;
        var usedAtStart = WorkspaceUsage.Measure(workspace);
        var maxFileSize = Math.Min(settings.MaxFileSizeBytes, Math.Max(1024 * 1024, quotaBytes - usedAtStart));
        var start = SandboxLaunch.Create(settings, sandbox, CommandUser(workspace), maxFileSize, workspace, command, cgroups);

        var output = new StringBuilder();
        var truncated = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The sandbox could not be started.");
        process.StandardInput.Close();

        void Append(string stream, string line)
        {
            lock (output)
            {
                if (truncated)
                {
                    return;
                }
                if (output.Length + line.Length + 1 > settings.MaxOutputBytes)
                {
                    truncated = true;
                    stop.Cancel(); // output that never ends must not run until the timeout
                    return;
                }
                output.Append(line).Append('\n');
            }
            onLine(new OutputLine(stream, line));
        }

        var readers = Task.WhenAll(Pump(process.StandardOutput, "stdout", Append), Pump(process.StandardError, "stderr", Append));
        stop.CancelAfter(timeout);
        var quota = new QuotaWatch(workspace, quotaBytes, usedAtStart, () =>
        {
            Kill(process, cgroups);
            stop.Cancel();
        });
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !truncated && !quota.Exceeded && !cancellationToken.IsCancellationRequested;
            Kill(process, cgroups);
            await process.WaitForExitAsync(CancellationToken.None);
        }
        cgroups?.KillAll();
        quota.Stop();
        // A backgrounded child that kept the pipes open outside the sandbox (unsandboxed mode) must not hold us.
        await Task.WhenAny(readers, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        clock.Stop();

        string? note = null;
        if (timedOut)
        {
            note = $"Stopped: the command ran longer than the {timeout.TotalSeconds:0}-second timeout; every process it started was killed.";
        }
        else if (quota.Exceeded)
        {
            note = $"Stopped: the workspace passed its {WorkspaceUsage.Mib(quota.Limit)} disk quota ({WorkspaceUsage.Mib(quota.Peak)} used); " +
                   "the command was killed. Delete files to make room; write_file refuses while the workspace is over its quota.";
        }
        else if (truncated)
        {
            note = $"Stopped: the output passed the {settings.MaxOutputBytes}-byte cap; the command was killed and the output cut there.";
        }
        else if (cancellationToken.IsCancellationRequested)
        {
            note = "Stopped: the request was cancelled.";
        }
        lock (output)
        {
            return new CommandResult(timedOut || truncated || quota.Exceeded ? null : process.ExitCode, clock.ElapsedMilliseconds, output.ToString(),
                timedOut, truncated, bwrap is not null, note);
        }
    }

    /// <summary>
    /// Running as root, a command runs as the workspace folder's owner (a developer's own folder given with
    /// <c>--root</c>: the files stay theirs), or as the sandbox user when root owns it or it is a task workspace.
    /// </summary>
    private uint CommandUser(string workspace) =>
        Native.GetEuid() == 0 && Native.LStat(workspace) is { Uid: not 0 } owner ? owner.Uid : (uint)options.Value.SandboxUid;

    /// <summary>
    /// Measures the workspace while the command runs and stops it once usage passes the quota — or, when the workspace
    /// was already over it, once usage grows (so <c>rm</c> can still make room). It runs on a thread of its own and
    /// kills the command itself, so a busy thread pool cannot delay the stop; measuring more often than it takes to
    /// walk the folder would only burn CPU, so the pause adapts to the walk (5 ms at least).
    /// </summary>
    private sealed class QuotaWatch
    {
        private readonly string _workspace;
        private readonly Action _stop;
        private readonly long _ceiling;
        private readonly Thread _thread;
        private volatile bool _done;

        public QuotaWatch(string workspace, long limit, long usedAtStart, Action stop)
        {
            _workspace = workspace;
            _stop = stop;
            Limit = limit;
            Peak = usedAtStart;
            _ceiling = Math.Max(limit, usedAtStart);
            _thread = new Thread(Watch) { IsBackground = true, Name = "osiris-quota-watch" };
            _thread.Start();
        }

        public long Limit { get; }
        public long Peak { get; private set; }
        public bool Exceeded { get; private set; }

        private void Watch()
        {
            while (!_done)
            {
                var clock = Stopwatch.StartNew();
                var used = WorkspaceUsage.Measure(_workspace);
                Peak = Math.Max(Peak, used);
                if (used > _ceiling)
                {
                    Exceeded = true;
                    _stop();
                    return;
                }
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(clock.Elapsed.TotalMilliseconds * 4, 5, 1000)));
            }
        }

        public void Stop()
        {
            _done = true;
            _thread.Join();
            Peak = Math.Max(Peak, WorkspaceUsage.Measure(_workspace));
        }
    }

    /// <summary>Reads lines without trusting the command to ever send a newline: a line is cut at 4,096 characters.</summary>
    private static async Task Pump(StreamReader reader, string stream, Action<string, string> append)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (c == '\n' || line.Length >= buffer.Length)
                {
                    append(stream, line.ToString().TrimEnd('\r'));
                    line.Clear();
                    if (c == '\n')
                    {
                        continue;
                    }
                }
                line.Append(c);
            }
        }
        if (line.Length > 0)
        {
            append(stream, line.ToString());
        }
    }

    private void Kill(Process process, CgroupLimits? cgroups)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        cgroups?.KillAll();
        logger.LogInformation("Killed sandboxed command {Pid}", process.Id);
    }
}
