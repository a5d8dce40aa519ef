using System.Diagnostics;

namespace Osiris.AppHost.Infrastructure;

/// <summary>Where Redis and the database come from. Only the AppHost knows; services see connection strings.</summary>
public enum InfrastructureMode
{
    Auto,
    Containers,
    Local,
    Embedded,
}

public static class InfrastructureModes
{
    public const string SettingName = "Osiris:Infrastructure";

    public static readonly string[] AllowedValues = ["auto", "containers", "local", "embedded"];

    public static InfrastructureMode Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return InfrastructureMode.Auto;
        }

        return value.Trim().ToLowerInvariant() switch
        {
            "auto" => InfrastructureMode.Auto,
            "containers" => InfrastructureMode.Containers,
            "local" => InfrastructureMode.Local,
            "embedded" => InfrastructureMode.Embedded,
            _ => throw new InvalidOperationException(
                $"Invalid value '{value}' for setting '{SettingName}'. Allowed values: {string.Join(", ", AllowedValues)}."),
        };
    }

    /// <summary><c>auto</c>: containers if a runtime answers, else local if both servers are installed, else embedded.</summary>
    public static (InfrastructureMode Mode, string Reason) Resolve(InfrastructureMode requested, LocalBinaries binaries)
    {
        if (requested != InfrastructureMode.Auto)
        {
            return (requested, $"set by {SettingName}");
        }

        var runtime = FindContainerRuntime();
        if (runtime is not null)
        {
            return (InfrastructureMode.Containers, $"auto: container runtime '{runtime}' answers");
        }

        if (binaries.IsComplete)
        {
            return (InfrastructureMode.Local, "auto: no container runtime; redis-server and PostgreSQL are installed");
        }

        return (InfrastructureMode.Embedded, $"auto: no container runtime; {binaries.Missing}");
    }

    private static string? FindContainerRuntime()
    {
        // Honour Aspire's own choice of runtime first, then try the usual two.
        var configured = Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME");
        string[] candidates = string.IsNullOrWhiteSpace(configured) ? ["docker", "podman"] : [configured];
        return candidates.FirstOrDefault(Answers);
    }

    private static bool Answers(string runtime)
    {
        if (LocalBinaries.FindOnPath(runtime) is null)
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
