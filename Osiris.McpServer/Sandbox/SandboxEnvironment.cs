using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// What this machine gives the sandbox, found out once at start: bubblewrap and which of its hardening options it
/// has, the seccomp filter (compiled to a file the launcher hands to bubblewrap), and whether cgroup limits can be
/// set. Every missing piece is a reason the server's health reports <c>Degraded</c>.
/// </summary>
public sealed class SandboxEnvironment : IDisposable
{
    private readonly Lazy<Probe> _probe;

    public SandboxEnvironment(IOptions<SandboxOptions> options, ILogger<SandboxEnvironment> logger)
    {
        _probe = new Lazy<Probe>(() =>
        {
            var probe = Run(options.Value);
            foreach (var problem in probe.Problems)
            {
                logger.LogWarning("Sandbox degraded: {Problem}", problem);
            }
            return probe;
        });
    }

    public string? Bubblewrap => _probe.Value.Bubblewrap;

    /// <summary>bubblewrap ≥ 0.8: <c>--disable-userns</c>, <c>--seccomp</c> and <c>--size</c> for tmpfs.</summary>
    public bool Hardened => _probe.Value.Hardened;

    /// <summary>The compiled seccomp filter, or null when it could not be built.</summary>
    public string? SeccompFile => _probe.Value.SeccompFile;

    /// <summary>Why the sandbox is weaker than it should be; empty when it is whole.</summary>
    public IReadOnlyList<string> Problems => _probe.Value.Problems;

    public void Dispose()
    {
        if (_probe.IsValueCreated && _probe.Value.SeccompFile is { } file)
        {
            File.Delete(file);
        }
    }

    private sealed record Probe(string? Bubblewrap, bool Hardened, string? SeccompFile, IReadOnlyList<string> Problems);

    private static Probe Run(SandboxOptions options)
    {
        var problems = new List<string>();
        var bwrap = options.BwrapPath is { Length: > 0 } configured
            ? (File.Exists(configured) ? configured : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "bwrap")).FirstOrDefault(File.Exists);
        var hardened = false;
        if (bwrap is null)
        {
            problems.Add(options.AllowUnsandboxed
                ? $"sandbox unavailable: commands run WITHOUT isolation (Sandbox:AllowUnsandboxed) ({CommandRunner.InstallHint})"
                : $"sandbox unavailable ({CommandRunner.InstallHint})");
        }
        else
        {
            var help = HelpOf(bwrap);
            hardened = help.Contains("--disable-userns", StringComparison.Ordinal) && help.Contains("--seccomp", StringComparison.Ordinal)
                && help.Contains("--size", StringComparison.Ordinal);
            if (!hardened)
            {
                problems.Add("bubblewrap is older than 0.8: no --disable-userns, --seccomp or tmpfs --size (upgrade bubblewrap)");
            }
        }

        string? seccomp = null;
        if (bwrap is not null && hardened)
        {
            var path = Path.Combine(Path.GetTempPath(), $"osiris-seccomp-{Environment.ProcessId}-{Guid.NewGuid():N}.bpf");
            if (SeccompFilter.TryWrite(path) is { } problem)
            {
                problems.Add($"no seccomp filter: {problem}");
            }
            else
            {
                seccomp = path;
            }
        }

        using (var test = CgroupLimits.TryCreate(options, out var cgroupProblem))
        {
            if (cgroupProblem is not null)
            {
                problems.Add(cgroupProblem);
            }
        }
        return new Probe(bwrap, hardened, seccomp, problems);
    }

    private static string HelpOf(string bwrap)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(bwrap, "--help") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit(5000);
            return output;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "";
        }
    }
}

/// <summary><c>Degraded</c> with every reason when the sandbox is missing or weaker than it should be.</summary>
public sealed class SandboxHealthCheck(SandboxEnvironment sandbox) : IHealthCheck
{
    public const string Name = "sandbox";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(sandbox.Problems.Count == 0
            ? HealthCheckResult.Healthy("bubblewrap with seccomp, no nested user namespaces, cgroup limits")
            : HealthCheckResult.Degraded(string.Join("; ", sandbox.Problems)));
}
