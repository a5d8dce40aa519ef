using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Osiris.AppHost.Infrastructure;

/// <summary>
/// Redis (connection name <c>redis</c>) and the database (connection name <c>osiris</c>), whatever the mode.
/// <paramref name="WaitTargets"/> are the resources a service must wait for before it starts.
/// </summary>
public sealed record OsirisInfrastructure(
    InfrastructureMode Mode,
    IResourceBuilder<IResourceWithConnectionString> Redis,
    IResourceBuilder<IResourceWithConnectionString> Database,
    IReadOnlyList<IResourceBuilder<IResource>> WaitTargets)
{
    /// <summary><c>Osiris:DataDir</c>, resolved once: workspaces and the knowledge index live there too.</summary>
    public string DataDir { get; init; } = "";
}

public static class OsirisInfrastructureExtensions
{
    public const string RedisName = "redis";
    public const string DatabaseName = "osiris";

    public static OsirisInfrastructure AddOsirisInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var requested = InfrastructureModes.Parse(builder.Configuration[InfrastructureModes.SettingName]);
        var binaries = LocalBinaries.Find();
        // A published app runs where the servers of this machine are not: its manifest declares them as containers.
        var (mode, reason) = builder.ExecutionContext.IsPublishMode
            ? (InfrastructureMode.Containers, "publish mode: Redis and PostgreSQL are containers in the manifest")
            : InfrastructureModes.Resolve(requested, binaries);

        using (var loggerFactory = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true)))
        {
            loggerFactory.CreateLogger("Osiris.AppHost").LogInformation(
                "OSIRIS infrastructure mode: {Mode} ({Reason})", mode.ToString().ToLowerInvariant(), reason);
        }

        var dataDir = DataDirectory.Resolve(builder.Configuration);
        var infrastructure = mode switch
        {
            InfrastructureMode.Containers => builder.AddContainerInfrastructure(),
            InfrastructureMode.Local => builder.AddLocalInfrastructure(binaries, dataDir),
            _ => builder.AddEmbeddedInfrastructure(dataDir),
        };

        return infrastructure with { DataDir = dataDir };
    }

    public static IResourceBuilder<T> WithInfrastructure<T>(this IResourceBuilder<T> service, OsirisInfrastructure infrastructure)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        service.WithReference(infrastructure.Redis, RedisName)
            .WithReference(infrastructure.Database, DatabaseName);
        foreach (var target in infrastructure.WaitTargets)
        {
            service.WaitFor(target);
        }
        return service;
    }

    private static OsirisInfrastructure AddContainerInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var redis = builder.AddRedis(RedisName).WithDataVolume();
        var postgres = builder.AddPostgres("postgres").WithDataVolume();
        var database = postgres.AddDatabase(DatabaseName);
        return new OsirisInfrastructure(
            InfrastructureMode.Containers,
            Cast(redis),
            Cast(database),
            [Cast(redis), Cast(database)]);
    }

    internal static IResourceBuilder<IResourceWithConnectionString> Cast<T>(IResourceBuilder<T> builder)
        where T : IResourceWithConnectionString =>
        builder.ApplicationBuilder.CreateResourceBuilder<IResourceWithConnectionString>(builder.Resource);

    /// <summary>A free TCP port on loopback, chosen now so that the connection string is known when the model is built.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
