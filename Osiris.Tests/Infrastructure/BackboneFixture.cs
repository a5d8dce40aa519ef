using System.Net.Http.Headers;
using System.Net.Http.Json;
using Aspire.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Api.Stream;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Tests.Infrastructure;

/// <summary>One started OSIRIS app per infrastructure mode, shared by the backbone tests of that mode.</summary>
public abstract class BackboneFixture(string mode) : IAsyncLifetime
{
    public string Mode => mode;
    public string ApiKey { get; } = "test-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
    public OsirisApp Osiris { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;
    public string RedisConnection { get; private set; } = "";
    public string DatabaseConnection { get; private set; } = "";
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    private bool Available => mode != "local" || OptionalSoftware.HasRedisAndPostgres;

    public void RequireAvailable()
    {
        if (mode == "local")
        {
            OptionalSoftware.RequireRedisAndPostgres();
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (!Available)
        {
            return;
        }
        Osiris = await OsirisApp.StartAsync(mode, $"--Parameters:api-key={ApiKey}");
        Api = CreateApiClient(Osiris.App.CreateHttpClient("api"));
        RedisConnection = (await Osiris.App.GetConnectionStringAsync("redis"))!;
        DatabaseConnection = (await Osiris.App.GetConnectionStringAsync(mode == "local" ? "postgres" : "osiris"))!;
        Redis = await ConnectionMultiplexer.ConnectAsync(RedisConnection);
    }

    public HttpClient CreateApiClient(HttpClient http)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        http.Timeout = Timeout.InfiniteTimeSpan;
        return http;
    }

    /// <summary>A second, in-process API replica (real Kestrel) on the same Redis and database.</summary>
    public ApiReplica StartReplica(params (string Key, string Value)[] settings)
    {
        var replica = new ApiReplica(this, settings);
        replica.UseKestrel(0);
        replica.StartServer();
        return replica;
    }

    public OsirisDbContext CreateDbContext() =>
        StorageExtensions.IsSqlite(DatabaseConnection)
            ? new SqliteOsirisDbContext(new DbContextOptionsBuilder<SqliteOsirisDbContext>().UseSqlite(DatabaseConnection).Options)
            : new PostgresOsirisDbContext(new DbContextOptionsBuilder<PostgresOsirisDbContext>().UseNpgsql(DatabaseConnection).Options);

    public EventPublisher CreatePublisher() =>
        new(Redis, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<EventPublisher>.Instance);

    public async Task<TaskDto> CreateTaskAsync(string title, HttpClient? http = null)
    {
        using var response = await (http ?? Api).PostAsJsonAsync("/api/v1/tasks", new { title, description = "from a test" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options))!;
    }

    public async ValueTask DisposeAsync()
    {
        if (Osiris is null)
        {
            return;
        }
        await Redis.DisposeAsync();
        Api.Dispose();
        await Osiris.DisposeAsync();
    }
}

public sealed class LocalBackboneFixture() : BackboneFixture("local");

public sealed class EmbeddedBackboneFixture() : BackboneFixture("embedded");

/// <summary>The API as a second replica; <see cref="EventHub"/> only names the API's assembly for the factory.</summary>
public sealed class ApiReplica(BackboneFixture fixture, (string Key, string Value)[] settings) : WebApplicationFactory<EventHub>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:redis", fixture.RedisConnection);
        builder.UseSetting("ConnectionStrings:osiris", fixture.DatabaseConnection);
        builder.UseSetting("Osiris:ApiKey", fixture.ApiKey);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public HttpClient CreateApiClient() => fixture.CreateApiClient(CreateClient());

    public EventHub Hub => Services.GetRequiredService<EventHub>();
}

[CollectionDefinition(Name)]
public sealed class LocalBackbone : ICollectionFixture<LocalBackboneFixture>
{
    public const string Name = "Backbone on Redis and PostgreSQL";
}

[CollectionDefinition(Name)]
public sealed class EmbeddedBackbone : ICollectionFixture<EmbeddedBackboneFixture>
{
    public const string Name = "Backbone on Garnet and SQLite";
}
