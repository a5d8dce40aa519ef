using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Sandbox;

/// <summary>Runs one shell command in the sandbox, streaming its lines as they come and enforcing every cap.</summary>
public sealed class CommandRunner(IOptions<SandboxOptions> options, ILogger<CommandRunner> logger)
{
    public const string InstallHint = "apt-get install -y bubblewrap";

    /// <summary>Whether commands can run at all: bubblewrap is there, or running without it was explicitly allowed.</summary>
    public bool CanRun => Bubblewrap is not null || options.Value.AllowUnsandboxed;

    public string? Bubblewrap => options.Value.BwrapPath is { Length: > 0 } configured
        ? (File.Exists(configured) ? configured : null)
        : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "bwrap")).FirstOrDefault(File.Exists);

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
        using var cgroups = CgroupLimits.TryCreate(settings, logger);
        var start = SandboxLaunch.Create(settings, bwrap, workspace, command, cgroups);

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
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !truncated && !cancellationToken.IsCancellationRequested;
            Kill(process, cgroups);
            await process.WaitForExitAsync(CancellationToken.None);
        }
        cgroups?.KillAll();
        // A backgrounded child that kept the pipes open outside the sandbox (unsandboxed mode) must not hold us.
        await Task.WhenAny(readers, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        clock.Stop();

        string? note = null;
        if (timedOut)
        {
            note = $"Stopped: the command ran longer than the {timeout.TotalSeconds:0}-second timeout; every process it started was killed.";
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
            return new CommandResult(timedOut || truncated ? null : process.ExitCode, clock.ElapsedMilliseconds, output.ToString(),
                timedOut, truncated, bwrap is not null, note);
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
