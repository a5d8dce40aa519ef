using Microsoft.Extensions.Configuration;

namespace Osiris.AppHost;

/// <summary>
/// <c>Osiris:Replicas:Api</c>, <c>:Agent</c> and <c>:McpServer</c>: how many processes of each service run (default 1),
/// settable like every AppHost setting (<c>--Osiris:Replicas:Agent=2</c> or <c>Osiris__Replicas__Agent=2</c>). The
/// replicas of a service share its endpoint (Aspire's proxy spreads connections over them), the database, Redis and
/// the workspace folder. The web stays one process: a Blazor Server circuit lives in one process's memory.
/// </summary>
public static class Replicas
{
    public const string Section = "Osiris:Replicas";
    public const int Max = 16;

    public static int Read(IConfiguration configuration, string service)
    {
        var key = $"{Section}:{service}";
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return 1;
        }
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count is < 1 or > Max)
        {
            throw new InvalidOperationException($"Invalid value '{value}' for setting '{key}': a whole number from 1 to {Max}.");
        }
        return count;
    }

    /// <summary>Sets the service's replica count from <c>Osiris:Replicas:&lt;service&gt;</c> when it is more than one.</summary>
    public static IResourceBuilder<ProjectResource> WithConfiguredReplicas(this IResourceBuilder<ProjectResource> project, string service)
    {
        var count = Read(project.ApplicationBuilder.Configuration, service);
        return count > 1 ? project.WithReplicas(count) : project;
    }
}
