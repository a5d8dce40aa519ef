using System.Net.Http.Headers;
using System.Net.Http.Json;
using Aspire.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Api.Streaming;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Tests.Fixtures;

/// <summary>One started OSIRIS app per infrastructure mode, shared by the backbone tests of that mode.</summary>
public abstract class BackboneFixture(string mode) : IAsyncLifetime
{
    public string Mode => mode;

    /// <summary>A derived fixture's own settings of the services, before the app is built.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder)
    {
    }

    /// <summary>Extra AppHost arguments of a derived fixture (model providers, for instance).</summary>
    protected virtual Task<IEnumerable<string>> ExtraArgumentsAsync() => Task.FromResult(Enumerable.Empty<string>());

    /// <summary>
    /// The API, webhook and stream tests watch exact event sequences, so the agent worker must not take their tasks:
    /// it runs with Agent:Enabled=false here. The agent's own fixture turns it on.
    /// </summary>
    protected virtual bool AgentEnabled => false;
    public string ApiKey { get; } = "test-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();

    /// <summary>The first admin's password (the AppHost's <c>admin-password</c>); the web signs its local user in with it.</summary>
    public string AdminPassword { get; } = "admin-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();

    /// <summary>The web's viewer key for its shared live view (<c>web-service-key</c>).</summary>
    public string WebServiceKey { get; } = "web-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
    /// <summary>The MCP server's bearer token (<c>mcp-token</c>), so a test can call its tools as the agent does.</summary>
    public string McpToken { get; } = "mcp-" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
    public OsirisApp Osiris { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;
    public string RedisConnection { get; private set; } = "";
    public string DatabaseConnection { get; private set; } = "";
    public IConnectionMultiplexer Redis { get; private set; } = null!;
    public FakeGraphApi Graph { get; private set; } = null!;
    public FakeSmtpServer Smtp { get; private set; } = null!;

    public const string WhatsAppSecret = "test-app-secret-0123456789";
    public const string WhatsAppVerifyToken = "test-verify-token";
    public const string WhatsAppAccessToken = "test-access-token";
    public const string WhatsAppPhoneNumberId = "106540352242922";
    public const string EmailSigningKey = "test-mailgun-signing-key";
    public const string EmailIngestToken = "test-email-ingest-token-0123456789";
    public const string EmailAuthServId = "mx.osiris.test";
    public const string SmtpFrom = "osiris@example.test";

    protected bool Available => mode != "local" || OptionalSoftware.HasRedisAndPostgres;

    public void RequireAvailable()
    {
        if (mode == "local")
        {
            OptionalSoftware.RequireRedisAndPostgres();
        }
    }

    public virtual async ValueTask InitializeAsync()
    {
        if (!Available)
        {
            return;
        }
        Graph = await FakeGraphApi.StartAsync();
        Smtp = FakeSmtpServer.Start();
        Osiris = await OsirisApp.StartAsync(mode,
        [
            $"--Parameters:api-key={ApiKey}",
            $"--Parameters:mcp-token={McpToken}",
            $"--Parameters:admin-password={AdminPassword}",
            $"--Parameters:web-service-key={WebServiceKey}",
            $"--Parameters:whatsapp-app-secret={WhatsAppSecret}",
            $"--Parameters:whatsapp-verify-token={WhatsAppVerifyToken}",
            $"--Parameters:whatsapp-access-token={WhatsAppAccessToken}",
            $"--Parameters:whatsapp-phone-number-id={WhatsAppPhoneNumberId}",
            $"--Parameters:whatsapp-graph-url={Graph.Url}",
            $"--Parameters:email-signing-key={EmailSigningKey}",
            $"--Parameters:email-ingest-token={EmailIngestToken}",
            $"--Parameters:email-authserv-id={EmailAuthServId}",
            "--Parameters:smtp-host=127.0.0.1",
            $"--Parameters:smtp-port={Smtp.Port}",
            $"--Parameters:smtp-from={SmtpFrom}",
            .. await ExtraArgumentsAsync(),
        ], builder =>
        {
            // Fast retries, so delivery tests see several attempts in well under a second.
            var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
            builder.CreateResourceBuilder(api).WithEnvironment("Osiris__Replies__BaseDelaySeconds", "0.05")
                // Every browser test signs a new local session in; the sign-in limit has its own test on a replica.
                .WithEnvironment("Osiris__Auth__SignInPerMinute", "10000");
            var agent = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "agent");
            builder.CreateResourceBuilder(agent)
                .WithEnvironment("Agent__Enabled", AgentEnabled ? "true" : "false")
                .WithEnvironment("Agent__LeaseSeconds", "4")
                .WithEnvironment("Agent__FallbackAfterFailures", "2");
            Configure(builder);
        });
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

    public OsirisDbContext CreateDbContext() => StorageExtensions.CreateDbContext(DatabaseConnection);

    public EventPublisher CreatePublisher() =>
        new(Redis, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<EventPublisher>.Instance);

    /// <summary>Marks a channel sender trusted (their tasks run by themselves and are answered without review).</summary>
    public async Task TrustSenderAsync(string channel, string id)
    {
        using var response = await Api.PutAsJsonAsync($"/api/v1/senders/{channel}/{Uri.EscapeDataString(id)}", new { level = "trusted" });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Completes a task as the agent will: status, result, and a task_update event.</summary>
    public async Task CompleteTaskAsync(Guid taskId, string result)
    {
        await using var db = CreateDbContext();
        var task = await db.Tasks.SingleAsync(t => t.Id == taskId);
        task.Status = TaskStatuses.Completed;
        task.Result = result;
        task.UpdatedAt = DateTimeOffset.UtcNow;
        await CreatePublisher().PublishAsync(db, EventTypes.TaskUpdate, taskId,
            new TaskUpdatePayload(task.Status, 1, task.Tokens, task.CostUsd, task.Brain, task.Model));
    }

    public async Task<TaskDto> CreateTaskAsync(string title, HttpClient? http = null)
    {
        using var response = await (http ?? Api).PostAsJsonAsync("/api/v1/tasks", new { title, description = "from a test" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options))!;
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (Osiris is null)
        {
            return;
        }
        await Redis.DisposeAsync();
        Api.Dispose();
        await Osiris.DisposeAsync();
        await Graph.DisposeAsync();
        Smtp.Dispose();
    }
}

public sealed class LocalBackboneFixture() : BackboneFixture("local");

/// <summary>
/// Garnet and SQLite. An OpenAI-compatible brain is configured (it is never called: the agent is off here), so the web
/// has a real model to switch to besides the scripted offline brain.
/// </summary>
public sealed class EmbeddedBackboneFixture() : BackboneFixture("embedded")
{
    public const string OidcClientId = "osiris-web";
    public const string OidcClientSecret = "test-oidc-client-secret-0123456789";

    /// <summary>The single sign-on provider the web and the API are configured with (groups map to roles).</summary>
    public Security.LocalOidcIssuer Oidc { get; private set; } = null!;

    protected override async Task<IEnumerable<string>> ExtraArgumentsAsync()
    {
        Oidc = await Security.LocalOidcIssuer.StartAsync(OidcClientId, OidcClientSecret);
        return
        [
            "--Parameters:compatible-endpoint=http://127.0.0.1:9/v1", "--Parameters:compatible-model=local-model",
            $"--Parameters:oidc-authority={Oidc.Authority}", $"--Parameters:oidc-client-id={OidcClientId}",
            $"--Parameters:oidc-client-secret={OidcClientSecret}",
            "--Parameters:oidc-role-map=osiris-admins=admin;osiris-operators=operator;osiris-viewers=viewer",
        ];
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Oidc is not null)
        {
            await Oidc.DisposeAsync();
        }
    }
}

/// <summary>The API as a second replica; <see cref="EventHub"/> only names the API's assembly for the factory.</summary>
public sealed class ApiReplica(BackboneFixture fixture, (string Key, string Value)[] settings) : WebApplicationFactory<EventHub>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:redis", fixture.RedisConnection);
        builder.UseSetting("ConnectionStrings:osiris", fixture.DatabaseConnection);
        builder.UseSetting("Osiris:ApiKey", fixture.ApiKey);
        builder.UseSetting("Osiris:Auth:WebServiceKey", fixture.WebServiceKey);
        // A replica takes webhooks like the AppHost's API does.
        builder.UseSetting("Osiris:Channels:WhatsApp:AppSecret", BackboneFixture.WhatsAppSecret);
        builder.UseSetting("Osiris:Channels:Email:SigningKey", BackboneFixture.EmailSigningKey);
        builder.UseSetting("Osiris:Channels:WhatsApp:AccessToken", BackboneFixture.WhatsAppAccessToken);
        builder.UseSetting("Osiris:Channels:WhatsApp:PhoneNumberId", BackboneFixture.WhatsAppPhoneNumberId);
        builder.UseSetting("Osiris:Channels:WhatsApp:GraphUrl", fixture.Graph.Url);
        builder.UseSetting("Osiris:Channels:Smtp:Host", "127.0.0.1");
        builder.UseSetting("Osiris:Channels:Smtp:Port", fixture.Smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Osiris:Channels:Smtp:From", BackboneFixture.SmtpFrom);
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
