using Microsoft.Extensions.DependencyInjection;

namespace Osiris.AppHost.Infrastructure;

/// <summary>An installed server program run by the AppHost, with the connection string services receive.</summary>
public sealed class LocalServerResource(string name, string command, string workingDirectory, ReferenceExpression connectionString)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public ReferenceExpression ConnectionStringExpression => connectionString;
}

/// <summary>
/// <c>local</c> mode: Debian's <c>redis-server</c> and PostgreSQL, started as executable resources on loopback
/// with ports chosen at start (never 6379/5432, which a system service may hold) and data under <c>Osiris:DataDir</c>.
/// PostgreSQL refuses to run as root, so as root both <c>initdb</c> and <c>postgres</c> run as the <c>postgres</c> user
/// through <c>setpriv</c>, which execs in place so that stop signals reach the server. A server that crashes is
/// started again by the AppHost (<see cref="CrashRestarter"/>).
/// </summary>
public static class LocalInfrastructure
{
    public static OsirisInfrastructure AddLocalInfrastructure(this IDistributedApplicationBuilder builder, LocalBinaries binaries, string dataDir)
    {
        if (!binaries.IsComplete)
        {
            throw new InvalidOperationException(
                $"Infrastructure mode 'local' needs redis-server and PostgreSQL, but {binaries.Missing}. " +
                "Install them with 'apt-get install -y redis-server postgresql', or choose another mode with Osiris:Infrastructure.");
        }

        var redis = builder.AddLocalRedis(binaries.RedisServer!, dataDir);
        var postgres = builder.AddLocalPostgres(binaries, dataDir);
        builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<CrashRestarter>(sp,
            (IReadOnlyCollection<string>)[redis.Resource.Name, postgres.Resource.Name]));
        return new OsirisInfrastructure(
            InfrastructureMode.Local,
            OsirisInfrastructureExtensions.Cast(redis),
            OsirisInfrastructureExtensions.Cast(postgres),
            [OsirisInfrastructureExtensions.Cast(redis), OsirisInfrastructureExtensions.Cast(postgres)]);
    }

    private static IResourceBuilder<LocalServerResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string redisServer, string dataDir)
    {
        var port = OsirisInfrastructureExtensions.FreePort();
        var password = DataDirectory.Secret(dataDir, "redis-password");
        var redisDir = Directory.CreateDirectory(Path.Combine(dataDir, "redis")).FullName;

        // The password goes into a private config file, not onto the command line where `ps` shows it.
        // OSIRIS uses Redis for pub/sub only (the event log lives in the database), so nothing is persisted.
        var config = Path.Combine(redisDir, "redis.conf");
        File.WriteAllText(config, $"""
            port {port}
            bind 127.0.0.1
            protected-mode yes
            requirepass {password}
            dir {redisDir}
            save ""
            appendonly no
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var passwordParameter = builder.AddParameter("redis-password", password, secret: true);
        var connectionString = ReferenceExpression.Create($"127.0.0.1:{port.ToString()},password={passwordParameter.Resource}");

        var healthCheck = "redis-local-check";
        builder.Services.AddHealthChecks().AddRedis($"127.0.0.1:{port},password={password},abortConnect=false", name: healthCheck);

        return builder.AddResource(new LocalServerResource(OsirisInfrastructureExtensions.RedisName, redisServer, redisDir, connectionString))
            .WithArgs(config)
            .WithEndpoint(port: port, targetPort: port, name: "tcp", scheme: "tcp", isProxied: false)
            .WithHealthCheck(healthCheck);
    }

    private static IResourceBuilder<LocalServerResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, LocalBinaries binaries, string dataDir)
    {
        var port = OsirisInfrastructureExtensions.FreePort();
        var password = DataDirectory.Secret(dataDir, "postgres-password");
        var pgData = Path.Combine(dataDir, "postgres");
        var passwordParameter = builder.AddParameter("postgres-password", password, secret: true);

        string[] asPostgresUser = DataDirectory.IsRoot
            ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
            : [];

        // One-shot: initialise the cluster the first time, with password authentication on TCP; exit 0 when it exists.
        const string initScript = """
            set -eu
            data="$1"; initdb="$2"; shift 2
            if [ -f "$data/PG_VERSION" ]; then echo "PostgreSQL data folder $data is already initialised"; exit 0; fi
            mkdir -p "$data"
            if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"; fi
            chmod 700 "$data"
            pwfile="$data.pwfile"
            trap 'rm -f "$pwfile"' EXIT
            (umask 077; printf '%s\n' "$OSIRIS_PG_PASSWORD" > "$pwfile")
            if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pwfile"; fi
            "$@" "$initdb" -D "$data" -U postgres --pwfile="$pwfile" \
                --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C
            """;
        var init = builder.AddExecutable("postgres-init", "/bin/sh", dataDir,
                ["-c", initScript, "postgres-init", pgData, binaries.InitDb!, .. asPostgresUser])
            .WithEnvironment("OSIRIS_PG_PASSWORD", passwordParameter);

        var connectionString = ReferenceExpression.Create(
            $"Host=127.0.0.1;Port={port.ToString()};Username=postgres;Password={passwordParameter.Resource};Database={OsirisInfrastructureExtensions.DatabaseName}");

        var healthCheck = "postgres-local-check";
        builder.Services.AddHealthChecks().AddNpgSql(
            $"Host=127.0.0.1;Port={port};Username=postgres;Password={password};Database=postgres;Timeout=5",
            name: healthCheck);

        string command = asPostgresUser.Length > 0 ? asPostgresUser[0] : binaries.Postgres!;
        string[] args =
        [
            .. asPostgresUser.Skip(1),
            .. asPostgresUser.Length > 0 ? [binaries.Postgres!] : Array.Empty<string>(),
            "-D", pgData,
            "-p", port.ToString(),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
            "-c", "max_connections=200",
        ];

        // The database `osiris` itself is created by the API's migrations (EF Core creates a missing database).
        return builder.AddResource(new LocalServerResource("postgres", command, dataDir, connectionString))
            .WithArgs(args)
            .WithEndpoint(port: port, targetPort: port, name: "tcp", scheme: "tcp", isProxied: false)
            .WithHealthCheck(healthCheck)
            .WaitForCompletion(init);
    }
}
