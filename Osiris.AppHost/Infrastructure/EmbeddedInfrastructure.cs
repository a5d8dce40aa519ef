using Garnet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Osiris.AppHost.Infrastructure;

/// <summary>Garnet, a Redis-protocol server from Microsoft Research, hosted inside the AppHost process.</summary>
public sealed class GarnetResource(string name, ReferenceExpression connectionString) : Resource(name), IResourceWithConnectionString
{
    public ReferenceExpression ConnectionStringExpression => connectionString;
}

/// <summary>
/// <c>embedded</c> mode: nothing to install. Garnet serves Redis pub/sub (it has no streams, and OSIRIS uses none);
/// SQLite under <c>Osiris:DataDir</c> stores everything.
/// </summary>
public static class EmbeddedInfrastructure
{
    public static OsirisInfrastructure AddEmbeddedInfrastructure(this IDistributedApplicationBuilder builder, string dataDir)
    {
        var port = OsirisInfrastructureExtensions.FreePort();
        // Garnet keeps nothing on disk here, so a fresh password per run is enough.
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        var passwordParameter = builder.AddParameter("garnet-password", password, secret: true);

        var healthCheck = "garnet-check";
        builder.Services.AddHealthChecks().AddRedis($"127.0.0.1:{port},password={password},abortConnect=false", name: healthCheck);

        var garnet = builder.AddResource(new GarnetResource(OsirisInfrastructureExtensions.RedisName,
                ReferenceExpression.Create($"127.0.0.1:{port.ToString()},password={passwordParameter.Resource}")))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Garnet",
                State = KnownResourceStates.NotStarted,
                Properties = [new("garnet.port", port)],
            })
            .WithHealthCheck(healthCheck)
            .OnInitializeResource(async (resource, e, ct) =>
            {
                await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Starting });
                var logger = e.Logger;
                var loggerFactory = e.Services.GetRequiredService<ILoggerFactory>();
                var server = new GarnetServer(
                [
                    "--bind", "127.0.0.1", "--port", port.ToString(),
                    "--auth", "Password", "--password", password,
                    // Pub/sub only: a small store keeps the AppHost's memory low.
                    "--index", "1m", "--memory", "64m",
                ], loggerFactory);
                server.Start();
                e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(server.Dispose);
                logger.LogInformation("Garnet listens on 127.0.0.1:{Port}", port);
                await e.Notifications.PublishUpdateAsync(resource, s => s with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                });
            });

        var databasePath = Path.Combine(dataDir, "osiris.db");
        var database = builder.AddConnectionString(OsirisInfrastructureExtensions.DatabaseName,
            ReferenceExpression.Create($"Data Source={databasePath}"));

        return new OsirisInfrastructure(
            InfrastructureMode.Embedded,
            OsirisInfrastructureExtensions.Cast(garnet),
            OsirisInfrastructureExtensions.Cast(database),
            [OsirisInfrastructureExtensions.Cast(garnet)]);
    }
}
