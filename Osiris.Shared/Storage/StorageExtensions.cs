using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Osiris.Shared.Storage;

public static class StorageExtensions
{
    public const string ConnectionName = "osiris";

    /// <summary>
    /// Registers <see cref="OsirisDbContext"/> on the provider the connection string names: a SQLite string
    /// (<c>Data Source=…</c>) selects SQLite, anything else PostgreSQL. Services never learn the infrastructure mode.
    /// </summary>
    public static IHostApplicationBuilder AddOsirisStorage(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException(
                $"Connection string '{ConnectionName}' is missing. Run OSIRIS through Osiris.AppHost, or set ConnectionStrings__{ConnectionName}.");

        if (IsSqlite(connectionString))
        {
            builder.Services.AddDbContextPool<SqliteOsirisDbContext>(o => o.UseSqlite(connectionString));
            builder.Services.AddScoped<OsirisDbContext>(sp => sp.GetRequiredService<SqliteOsirisDbContext>());
            builder.Services.AddHealthChecks().AddDbContextCheck<SqliteOsirisDbContext>("database");
        }
        else
        {
            // Retries stay off: the event publisher runs its own short transactions and must not be replayed blindly.
            builder.AddNpgsqlDbContext<PostgresOsirisDbContext>(ConnectionName, settings => settings.DisableRetry = true);
            builder.Services.AddScoped<OsirisDbContext>(sp => sp.GetRequiredService<PostgresOsirisDbContext>());
        }

        return builder;
    }

    public static bool IsSqlite(string connectionString) =>
        connectionString.TrimStart().StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase);

    /// <summary>A context outside dependency injection (tests, benchmarks), for whichever provider the connection names.</summary>
    public static OsirisDbContext CreateDbContext(string connectionString) =>
        IsSqlite(connectionString)
            ? new SqliteOsirisDbContext(new DbContextOptionsBuilder<SqliteOsirisDbContext>().UseSqlite(connectionString).Options)
            : new PostgresOsirisDbContext(new DbContextOptionsBuilder<PostgresOsirisDbContext>().UseNpgsql(connectionString).Options);

    /// <summary>Applies the provider's migrations (creating the database if needed) before the service takes traffic.</summary>
    public static async Task MigrateOsirisDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var logger = scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Osiris.Storage");
        if (db is SqliteOsirisDbContext)
        {
            var dataSource = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
            var folder = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }
        }

        // A first start has no database yet. Asking first keeps that expected condition out of the error log: Migrate
        // alone would log "An error occurred using the connection to database 'osiris'" before creating it.
        var creator = db.GetService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            logger.LogInformation("Creating the OSIRIS database (first start)");
            try
            {
                await creator.CreateAsync(cancellationToken);
            }
            catch (System.Data.Common.DbException) when (creator.Exists())
            {
                // Another replica created it a moment ago.
            }
        }
        if (db is PostgresOsirisDbContext)
        {
            // The API and the MCP server migrate at start, possibly at the same moment: one at a time, by a session lock
            // (EF's own lock did not keep two first starts on an empty database apart).
            await db.Database.OpenConnectionAsync(cancellationToken);
            try
            {
                await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_lock(74100017)", cancellationToken);
                await db.Database.MigrateAsync(cancellationToken);
            }
            finally
            {
                await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_unlock(74100017)", CancellationToken.None);
                await db.Database.CloseConnectionAsync();
            }
        }
        else
        {
            await db.Database.MigrateAsync(cancellationToken);
        }
        if (db is SqliteOsirisDbContext)
        {
            // WAL lets readers (SSE replay) run beside the one writer; the setting is stored in the file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        logger.LogInformation("Database ready ({Provider})", db.Database.ProviderName);
    }
}

/// <summary>Design-time factories for `dotnet ef migrations add … --context …`.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresOsirisDbContext>
{
    public PostgresOsirisDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresOsirisDbContext>().UseNpgsql("Host=localhost;Database=osiris").Options);
}

public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteOsirisDbContext>
{
    public SqliteOsirisDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteOsirisDbContext>().UseSqlite("Data Source=osiris.db").Options);
}
